"""Next token: generate from the text with a real decoder, step through what it generated, and
see at each step the candidates it weighed, before and after sampling temperature and the cut."""

from __future__ import annotations

import html
import threading
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.flow import pair_grid
from attnviz.gui.widgets.labels import token_label, token_label_html
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.gui.widgets.token_axis import TokenAxis
from attnviz.gui.worker import Outcome, start_worker
from attnviz.models.generation import MAX_NEW_TOKENS, GenerationStep
from attnviz.state.request import Result
from attnviz.state.source import generate
from attnviz.state.views import ViewError
from attnviz.state.views.next_token import TWO_TEMPERATURES, NextTokenData, NextTokenParams


class _Progress(QtCore.QObject):
    """Steps reported from the worker thread, delivered on the main thread (queued)."""

    step = QtCore.Signal(object)  # GenerationStep


@register_panel
class NextTokenPanel(Panel):
    panel_id = "next_token"
    order = 105
    title = "Next token (generate)"
    default_area = Area.BottomDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.params: NextTokenParams = self.session.view_params[self.panel_id]
        self._stop = threading.Event()
        self._running = False
        self._progress = _Progress(self)
        self._progress.step.connect(self._on_step)

        # -- how to generate ------------------------------------------------------------------
        tip = f"How many tokens to generate (at most {MAX_NEW_TOKENS})"
        self.n_spin = self.bound_spin(self.params, "n_new", 0, MAX_NEW_TOKENS, tip)
        self.mode_box = QtWidgets.QComboBox()
        self.mode_box.setObjectName("sampling_mode")
        self.mode_box.addItem("greedy", False)
        self.mode_box.addItem("sample", True)
        self.bind_choice(self.params, "sample", self.mode_box)
        self.t_spin = self._double("temperature", 0.05, 10.0, 0.1,
                                   "Sampling temperature: divides the output logits before the "
                                   "draw (not attention temperature)")  # fmt: skip
        self.k_spin = self.bound_spin(self.params, "top_k", 0, 100_000,
                                      "Keep only the k most likely tokens (0: no cut)")  # fmt: skip
        tip = "Keep the fewest tokens whose probability reaches p (1: no cut)"
        self.p_spin = self._double("top_p", 0.01, 1.0, 0.05, tip)
        tip = "The same seed draws the same tokens"
        self.seed_spin = self.bound_spin(self.params, "seed", 0, 2**31 - 1, tip, separators=False)
        self.cache_box = QtWidgets.QCheckBox("use the KV cache")
        self.cache_box.setObjectName("use_cache")
        self.cache_box.setToolTip("Off: every step runs the whole sequence again (slower, "
                                  "same numbers); the KV-cache panel times both")  # fmt: skip
        self.bind(self.params, "cached", self.cache_box.toggled, self.cache_box.setChecked,
                  self.cache_box)  # fmt: skip
        pairs = [("New tokens", self.n_spin), ("Choose", self.mode_box),
                 ("Sampling T", self.t_spin), ("Top-k", self.k_spin),
                 ("Top-p", self.p_spin), ("Seed", self.seed_spin)]  # fmt: skip
        grid = pair_grid(pairs)
        buttons = QtWidgets.QHBoxLayout()
        self.generate_button = QtWidgets.QPushButton("Generate ▶")
        self.generate_button.setObjectName("generate")
        self.generate_button.clicked.connect(self.start)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setObjectName("stop_generating")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        buttons.addWidget(self.cache_box)
        buttons.addStretch(1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.generate_button)
        self.status = QtWidgets.QLabel()
        self.status.setObjectName("generation_status")
        self.status.setWordWrap(True)
        controls = QtWidgets.QWidget()
        box = QtWidgets.QVBoxLayout(controls)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(grid)
        box.addLayout(buttons)
        box.addWidget(self.status)

        # -- the timeline ---------------------------------------------------------------------
        line = QtWidgets.QHBoxLayout()
        self.back_button = QtWidgets.QPushButton("◀ Back")
        self.back_button.setObjectName("step_back")
        self.back_button.clicked.connect(lambda: self.move(-1))
        self.next_button = QtWidgets.QPushButton("Next ▶")
        self.next_button.setObjectName("step_next")
        self.next_button.clicked.connect(lambda: self.move(+1))
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setObjectName("generation_timeline")
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.setToolTip("0: the text as typed; 1 …: each generated token's step")
        self.step_label = QtWidgets.QLabel()
        self.step_label.setObjectName("step_label")
        self.bind(self.session, "gen_step", self.slider.valueChanged, self._show_step,
                  self.slider)  # fmt: skip
        line.addWidget(self.back_button)
        line.addWidget(self.slider, 1)
        line.addWidget(self.next_button)
        line.addWidget(self.step_label)
        self.body.addLayout(line)

        # -- what the model weighed -----------------------------------------------------------
        self.summary = QtWidgets.QLabel()
        self.summary.setObjectName("next_token_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("candidates")
        self.graphics.min_plot_size = (300, 260)
        self.axis = TokenAxis("left")
        self.plot = self.graphics.addPlot(row=0, col=0, axisItems={"left": self.axis})
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "probability (%)")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.invertY(True)  # the most likely on top
        self.bars_raw = pg.BarGraphItem(x0=[], y=[], height=0.38, width=[])
        self.bars_kept = pg.BarGraphItem(x0=[], y=[], height=0.38, width=[])
        self.plot.addItem(self.bars_raw)
        self.plot.addItem(self.bars_kept)
        self.values: list[pg.TextItem] = []
        self.note = QtWidgets.QLabel(f"<i>{TWO_TEMPERATURES}</i>")
        self.note.setObjectName("two_temperatures")
        self.note.setWordWrap(True)
        left = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.summary)
        lay.addWidget(controls)
        lay.addWidget(self.note)
        lay.addStretch(1)
        grid_ = ReflowGrid([[[left, self.graphics]], [[left], [self.graphics]]])
        self.body.addLayout(grid_, 1)
        self.reflow(grid_)
        self.listen(self.params.events.sample, self._enable_sampling)
        self._enable_sampling()
        self._show_step(self.session.gen_step)

    def _double(self, field: str, lo: float, hi: float, step: float, tip: str
                ) -> QtWidgets.QDoubleSpinBox:  # fmt: skip
        spin = QtWidgets.QDoubleSpinBox()
        spin.setObjectName(f"{field}_input")
        spin.setRange(lo, hi)
        spin.setSingleStep(step)
        spin.setDecimals(2)
        spin.setKeyboardTracking(False)
        spin.setToolTip(tip)
        self.bind(self.params, field, spin.valueChanged, spin.setValue, spin)
        return spin

    # -- input -----------------------------------------------------------------------------
    def _enable_sampling(self, *_: object) -> None:
        for w in (self.t_spin, self.k_spin, self.p_spin, self.seed_spin):
            w.setEnabled(self.params.sample)

    def start(self) -> None:
        """Generate on a worker thread; the window stays live and Stop ends it after a step."""
        s = self.session
        if self._running or s.model_path is None:
            return
        try:
            sampling = self.params.sampling()
        except ValueError as exc:
            self.show_message(str(exc))
            return
        self.show_message("")
        self._stop.clear()
        self._running = True
        self._wanted = self.params.n_new
        self._update_buttons()
        self.status.setText(f"Generating {self._wanted} tokens …")
        start_worker(
            generate, s.model_path, s.text, sampling, n=self._wanted, cached=self.params.cached,
            stop=self._stop.is_set, on_step=self._progress.step.emit, on_done=self._done,
        )  # fmt: skip

    def stop(self) -> None:
        self._stop.set()
        self.status.setText("Stopping after this step …")

    @QtCore.Slot(object)
    def _on_step(self, step: GenerationStep) -> None:
        if not self._running:
            return
        self.status.setText(
            f"Generated {step.index} of {self._wanted}: “{html.escape(token_label(step.label))}” "
            f"({step.seconds * 1e3:.1f} ms)"
        )

    @QtCore.Slot(object)
    def _done(self, outcome: Outcome) -> None:
        self._running = False
        self._update_buttons()
        if outcome.error is not None:
            self.status.setText("")
            self.show_message(str(outcome.error) if isinstance(outcome.error, ValueError)
                              else f"Generation failed: {outcome.detail}")  # fmt: skip
            return
        gen = outcome.value
        n = len(gen.steps)
        why = " (the model ended the text)" if gen.finished and n < self._wanted else ""
        stopped = " (stopped)" if self._stop.is_set() and n < self._wanted else ""
        self.status.setText(f"Generated {n} token{'s' * (n != 1)}{why}{stopped}.")
        if n:
            self.try_set(lambda: self.session.show_generation(gen))

    def move(self, delta: int) -> None:
        s = self.session
        target = s.gen_step + delta
        if s.generation is not None and 0 <= target <= len(s.generation.steps):
            self.try_set(lambda: setattr(s, "gen_step", target))

    def _show_step(self, step: int) -> None:
        gen = self.session.generation
        steps = 0 if gen is None else len(gen.steps)
        self.slider.setRange(0, steps)
        self.slider.setValue(step)
        self.step_label.setText(f"step {step} of {steps}" if steps else "no generation yet")
        self._update_buttons()

    def _update_buttons(self) -> None:
        gen = self.session.generation
        steps = 0 if gen is None else len(gen.steps)
        step = self.session.gen_step
        self.back_button.setEnabled(step > 0)
        self.next_button.setEnabled(step < steps)
        self.slider.setEnabled(steps > 0)
        data = self._data()
        able = data is not None and data.can_generate
        self.generate_button.setEnabled(able and not self._running)
        self.stop_button.setEnabled(self._running)

    def _data(self) -> NextTokenData | None:
        return self.view_data()

    # -- drawing ---------------------------------------------------------------------------
    def draw(self, result: Result) -> None:
        data = result.views.get(self.panel_id)
        if isinstance(data, ViewError) or data is None:
            self.show_message(data.message if data is not None else "no next-token data")
            return
        self._update_buttons()
        self.summary.setText(self.summary_html(data))
        self._draw_bars(data)

    @staticmethod
    def summary_html(data: NextTokenData) -> str:
        if not data.can_generate:
            return html.escape(data.why)
        if data.candidates is None:
            return (f"<b>{html.escape(data.model)}</b> continues the text one token at a time. "
                    "Press <b>Generate</b>: then step through what it wrote, and every panel "
                    "shows the attention that chose each token.")  # fmt: skip
        c = data.candidates
        before = html.escape(data.text_before)
        chosen = token_label_html(data.chosen)
        end = " The model ended the text here." if data.ended else ""
        key = (" Grey bars: the model's probabilities; blue: after the sampling temperature "
               "and the cut." if data.sampled else "")  # fmt: skip
        timing = (f" {data.ms_per_token:.1f} ms a token "
                  f"({'with' if data.cached else 'without'} the KV cache)."
                  if data.ms_per_token is not None else "")  # fmt: skip
        return (
            f"<b>Step {data.step} of {data.steps}</b>: reading up to "
            f"“{token_label_html(data.query)}”, the model chose <b>“{chosen}”</b> "
            f"(p = {c.chosen_raw:.3f}), {html.escape(data.sampling)}.{key}{end}{timing}<br>"
            f"<i>{html.escape(data.prompt)}</i>{before}<b>{html.escape(data.chosen)}</b>"
        )

    def _draw_bars(self, data: NextTokenData) -> None:
        tm = theme_manager().theme
        self.graphics.setBackground(tm.plot_background)
        for item in self.values:
            self.plot.removeItem(item)
        self.values = []
        c = data.candidates
        if c is None:
            self.bars_raw.setOpts(x0=[], y=[], width=[], height=0.38)
            self.bars_kept.setOpts(x0=[], y=[], width=[], height=0.38)
            self.axis.set_labels([])
            self.plot.setTitle("")
            return
        y = np.arange(len(c))
        raw, kept = 100 * c.raw, 100 * c.kept
        two = data.sampled
        off = 0.2 if two else 0.0
        zero, none = np.zeros(len(c)), pg.mkPen(None)
        first = pg.mkBrush(tm.mid if two else tm.highlight)
        self.bars_raw.setOpts(x0=zero, y=y - off, width=raw, height=0.38 if two else 0.7,
                              brush=first, pen=none)  # fmt: skip
        if two:
            self.bars_kept.setOpts(x0=zero, y=y + off, width=kept, height=0.38,
                                   brush=pg.mkBrush(tm.highlight), pen=none)  # fmt: skip
        else:
            self.bars_kept.setOpts(x0=[], y=[], width=[], height=0.38)
        labels = []
        for i, tid in enumerate(c.ids):
            mark = " ◀" if int(tid) == c.chosen else ""
            labels.append((float(i), token_label(c.labels[i]) + mark))
        self.axis.set_labels(labels)
        top = float(max(raw.max(), kept.max() if two else 0.0))
        for i in range(len(c)):
            after = f"{kept[i]:.1f}%" if kept[i] > 0 else "cut"
            text = f"{raw[i]:.1f}%" + (f" → {after}" if two else "")
            item = pg.TextItem(text, color=tm.plot_foreground, anchor=(0, 0.5))
            item.setPos(max(raw[i], kept[i] if two else 0.0) + top * 0.02, float(i))
            self.plot.addItem(item)
            self.values.append(item)
        # room right of the longest bar for its numbers ("21.6% → 27.2%" when sampled)
        self.plot.setXRange(0, top * (2.0 if two else 1.45) + 1e-9, padding=0)
        self.plot.setYRange(-0.6, len(c) - 0.4, padding=0)
        self.plot.setTitle(f"Step {data.step}: the {len(c)} most likely next tokens",
                           color=tm.plot_foreground)  # fmt: skip

    # -- slides and data -------------------------------------------------------------------
    def figure_parts(self) -> list[list]:
        data = self._data()
        if data is None or data.candidates is None:
            return [[self.summary.text()]]
        return [[self.summary.text()], [self.graphics]]

    def figure_caption(self) -> str:
        data = self._data()
        if data is None or data.candidates is None:
            return super().figure_caption()
        return f"{data.model} · step {data.step} of {data.steps} · {data.sampling}"

    def export_data(self) -> dict[str, Any]:
        data = self._data()
        if data is None or data.candidates is None:
            return {}
        c = data.candidates
        return {
            "candidates": list(c.labels),
            "token_ids": np.asarray(c.ids),
            "p_model": c.raw,
            "p_tempered": c.tempered,
            "p_after_cut": c.kept,
            "chosen": [c.chosen_label],
            "step": np.array([data.step]),
        }


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(NextTokenPanel))
