"""Softmax temperature: the seed's logits before and after softmax, a log-scale temperature."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from attnviz.export.captions import settings_caption
from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.heatmap import Heatmap
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.gui.widgets.token_axis import TokenAxis
from attnviz.state.request import Result
from attnviz.state.session import FILE_TEMPERATURE

T_MIN, T_MAX = 0.1, 5.0
STEPS = 1000


def slider_to_t(pos: int) -> float:
    """Slider position 0..STEPS -> temperature on a log scale from T_MIN to T_MAX."""
    return T_MIN * (T_MAX / T_MIN) ** (pos / STEPS)


def t_to_slider(t: float) -> int:
    t = min(max(t, T_MIN), T_MAX)
    return round(STEPS * math.log(t / T_MIN) / math.log(T_MAX / T_MIN))


@register_panel
class SoftmaxTemperaturePanel(Panel):
    panel_id = "softmax_temperature"
    needs = ("head_weights",)
    order = 40
    title = "Softmax temperature"
    default_area = Area.BottomDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        form = QtWidgets.QFormLayout()
        self.logits_edit = QtWidgets.QLineEdit()
        self.logits_edit.setObjectName("logits_input")
        self.logits_edit.setToolTip("Comma-separated numbers; press Enter")
        self.logits_edit.returnPressed.connect(self._apply_logits)
        form.addRow("Logits", self.logits_edit)
        row = QtWidgets.QHBoxLayout()
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setObjectName("temperature_slider")
        self.slider.setRange(0, STEPS)
        slider = self.slider
        self.bind(self.session, "temperature", slider.valueChanged,
                  lambda t: slider.setValue(t_to_slider(t)), slider,
                  lambda pos: round(slider_to_t(pos), 4))  # fmt: skip
        self.t_box = QtWidgets.QLineEdit()
        self.t_box.setObjectName("temperature_input")
        self.t_box.setMaximumWidth(80)
        self.t_box.setToolTip("Type a temperature and press Enter (it must be > 0)")
        self.t_box.returnPressed.connect(self._apply_typed_t)
        row.addWidget(QtWidgets.QLabel(f"{T_MIN:g}"))
        row.addWidget(self.slider, 1)
        row.addWidget(QtWidgets.QLabel(f"{T_MAX:g}"))
        row.addWidget(self.t_box)
        form.addRow("Temperature T", row)
        self.body.addLayout(form)
        self.readout = QtWidgets.QLabel()
        self.readout.setObjectName("entropy_readout")
        self.readout.setWordWrap(True)
        self.body.addWidget(self.readout)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(120)
        # (at 10 pt; the panel scales it) the bars with their logits under them: at the
        # least plot height the axis of logits fell below the fold in a lesson step
        self.graphics.min_plot_size = (300, 190)
        self.bars_plot = self.graphics.addPlot(
            row=0, col=0, title="softmax(logits / T)", axisItems={"bottom": TokenAxis("bottom")}
        )  # every logit under its bars, turned when they do not fit side by side
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.setMouseEnabled(False, False)
        self.bars_plot.hideButtons()
        self.bars_plot.setYRange(0, 1, padding=0.02)
        self.bars_plot.setLabel("left", "probability")
        self.legend = self.bars_plot.addLegend(offset=(-10, 10))
        self.bars_t1 = pg.BarGraphItem(x=[], height=[], width=0.38, name="T = 1")
        self.bars_t = pg.BarGraphItem(x=[], height=[], width=0.38, name="T = …")
        self.bars_plot.addItem(self.bars_t1)
        self.bars_plot.addItem(self.bars_t)
        self.attention = Heatmap(title="the selected head's attention at this T")
        # Side by side, or the head's attention below the bars when both do not fit.
        plots = ReflowGrid([[[self.graphics, self.attention]], [[self.graphics], [self.attention]]])
        self.body.addLayout(plots, 1)
        self.reflow(plots)
        self.note = QtWidgets.QLabel(
            "<i>Attention temperature rescales the scores inside every attention softmax; "
            "sampling temperature rescales the model's output logits when it picks a word.</i>"
        )
        self.note.setWordWrap(True)
        self.body.addWidget(self.note)
        self.listen(self.session.events.temperature, self._show_t)
        self.listen(self.session.events.attention_path, self._show_locked)
        self._show_locked()
        self.listen(self.session.events.logits, self._show_logits)
        self._show_t()
        self._show_logits()

    # -- input -----------------------------------------------------------------------------
    def _apply_typed_t(self) -> None:
        text = self.t_box.text().strip()
        try:
            value = float(text)
        except ValueError:
            self.show_message(f"“{text}” is not a number; type a temperature such as 0.5")
            self._show_t()
            return
        if not self.try_set(lambda: setattr(self.session, "temperature", value)):
            self._show_t()

    def _apply_logits(self) -> None:
        parts = [p for p in self.logits_edit.text().replace(";", ",").split(",") if p.strip()]
        try:
            values = tuple(float(p) for p in parts)
        except ValueError:
            self.show_message("Logits must be numbers separated by commas, e.g. 2.0, 1.0, 0.1")
            self._show_logits()
            return
        if not self.try_set(lambda: setattr(self.session, "logits", values)):
            self._show_logits()

    def _show_locked(self, *_: object) -> None:
        """Saved probabilities have no scores to rescale: the temperature stays where it is."""
        saved = not self.session.source.caps.adjustable
        for w in (self.slider, self.t_box):
            w.setEnabled(not saved)
            w.setToolTip(
                FILE_TEMPERATURE[0].upper() + FILE_TEMPERATURE[1:]
                if saved
                else "Type a temperature and press Enter (it must be > 0)"
                if w is self.t_box
                else ""
            )
        self.show_message(
            "Temperature is off for a saved-attention file: it rescales scores before the "
            "softmax, and the file holds only the probabilities after it."
            if saved
            else ""
        )

    def _show_t(self, *_: object) -> None:
        self.t_box.setText(f"{self.session.temperature:g}")  # the slider is bound

    def _show_logits(self, *_: object) -> None:
        self.logits_edit.setText(", ".join(f"{v:g}" for v in self.session.logits))

    def figure_parts(self) -> list[list]:
        return [[self.readout.text()], [(self.graphics, 2), (self.attention, 3)]]

    def figure_caption(self) -> str:
        if self.result is None:
            return ""
        r = self.result.request
        logits = ", ".join(f"{x:g}" for x in r.logits)
        return settings_caption(r, [f"logits {logits}", f"T = {r.temperature:g}"])

    def export_data(self) -> dict:
        if self.result is None:
            return {}
        res = self.result
        table = np.stack([np.asarray(res.request.logits), res.logit_probs_t1, res.logit_probs], 1)
        return {
            "softmax": table,
            "softmax_cols": ["logit", "p at T=1", f"p at T={res.request.temperature:g}"],
            "softmax_rows": [f"{v:g}" for v in res.request.logits],
            "temperature": res.request.temperature,
            "entropy_nats": res.logit_entropy,
            "entropy_t1_nats": res.logit_entropy_t1,
        }

    # -- drawing ---------------------------------------------------------------------------
    def draw(self, result: Result) -> None:
        r = result.request
        tm = theme_manager().theme
        self.graphics.setBackground(tm.plot_background)
        n = len(r.logits)
        x = np.arange(n)
        self.bars_t1.setOpts(x=x - 0.2, height=result.logit_probs_t1, width=0.38,
                             brush=pg.mkBrush(tm.mid), pen=pg.mkPen(None))  # fmt: skip
        self.bars_t.setOpts(x=x + 0.2, height=result.logit_probs, width=0.38,
                            brush=pg.mkBrush(tm.highlight), pen=pg.mkPen(None))  # fmt: skip
        self.legend.clear()
        self.legend.addItem(self.bars_t1, "T = 1 (reference)")
        self.legend.addItem(self.bars_t, f"T = {r.temperature:g} (chosen)")
        self.bars_plot.getAxis("bottom").set_labels([(i, f"{v:g}") for i, v in enumerate(r.logits)])
        self.bars_plot.setLabel("bottom", "logit")
        top = int(np.argmax(result.logit_argmax))
        ties = int((result.logit_argmax > 0).sum())
        limit = (
            f"all weight on the largest logit, {r.logits[top]:g}"
            if ties == 1
            else f"weight shared equally by the {ties} largest logits"
        )
        self.readout.setText(
            f"Entropy at T = {r.temperature:g}: <b>{result.logit_entropy:.3f} nats</b> "
            f"(T = 1: {result.logit_entropy_t1:.3f}; uniform over {n}: {math.log(n):.3f}). "
            f"As T → 0: {limit}. Probabilities at T = {r.temperature:g}: "
            + ", ".join(f"{p:.3f}" for p in result.logit_probs)
        )
        self.attention.set_data(result.head_weights, r.tokens)
        self.attention.set_highlight_row(r.selected_token)


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(SoftmaxTemperaturePanel))
