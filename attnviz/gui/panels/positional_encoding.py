"""Positional encoding: the sinusoid matrix, RoPE's rotations, score against offset, and the
permutation check that shows attention alone ignores order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.flow import FlowRow
from attnviz.gui.widgets.heatmap import Heatmap, format_value
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.state.request import Result
from attnviz.state.views import ViewError
from attnviz.state.views.positional_encoding import SHIFT_CHECK, PositionalData, PositionalParams

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
PAIR_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00")
ROTATION_TITLE = "q's pairs at positions 0 … n−1"


class MatrixHeatmap(Heatmap):
    """A heatmap whose hover names rows and columns by the axis labels, not query/key."""

    def __init__(self, row_name: str, col_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._row_name, self._col_name = row_name, col_name
        for name in ("left", "bottom"):  # positions and dimensions, not tokens
            self.plot.getAxis(name).every_label = False

    def value_text(self, i: int, j: int) -> str:
        return (
            f"{self._row_name} {self.row_labels[i]}, {self._col_name} {self.col_labels[j]}: "
            f"{format_value(float(self.matrix[i, j]))}"
        )


def _plot(title: str) -> pg.PlotWidget:
    w = pg.PlotWidget(title=title)
    w.setMenuEnabled(False)
    w.getPlotItem().hideButtons()
    w.setMinimumSize(160, 90)
    return w


@register_panel
class PositionalEncodingPanel(Panel):
    panel_id = "positional_encoding"
    order = 90
    title = "Positional encoding"
    default_area = Area.RightDockWidgetArea
    min_useful = (360, 360)  # the shuffle test's three plots reflow into rows when narrow

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.params: PositionalParams = self.session.view_params[self.panel_id]
        controls = FlowRow()  # wraps at projector sizes instead of widening the panel
        self.inputs: dict[str, QtWidgets.QAbstractSpinBox] = {}
        for field, label, lo, hi, step, tip in (
            ("n_positions", "Positions", 0, 512, 1, "Positions shown (rows of the matrix)"),
            ("d_model", "d_model", 0, 512, 2, "Model width; even, RoPE turns pairs"),
            ("pair", "Pair", 0, 255, 1, "Which RoPE pair (i, i + d/2) to follow"),
            ("seed", "Seed", 0, 99_999, 1, "Seed of the vectors and the permutation"),
        ):
            spin = self.bound_spin(self.params, field, lo, hi, tip, step=step, separators=False)
            self.inputs[field] = spin
            controls.add(label, spin)
        self.base_box = QtWidgets.QDoubleSpinBox()
        self.base_box.setObjectName("base_input")
        self.base_box.setRange(0.0, 1e7)
        self.base_box.setDecimals(0)
        self.base_box.setKeyboardTracking(False)
        self.base_box.setGroupSeparatorShown(True)
        self.base_box.setToolTip("Base of the frequencies: theta_i = base^(-2i/d)")
        self.bind(self.params, "base", self.base_box.valueChanged, self.base_box.setValue,
                  self.base_box)  # fmt: skip
        self.inputs["base"] = self.base_box
        controls.add("Base", self.base_box)
        self.body.addWidget(controls)

        # Three pages: the right dock is narrow and short, six plots at once would be slivers.
        self.pages = QtWidgets.QTabWidget()
        self.pages.setObjectName("positional_pages")
        self.pages.setDocumentMode(True)
        self.sinusoid = MatrixHeatmap(
            "position", "dim", x_label="dimension (even: sin, odd: cos)", y_label="position",
            levels=(-1.0, 1.0), diverging=True, title="sinusoidal encoding PE[position, dim]",
        )  # fmt: skip
        self.sinusoid.setMinimumSize(200, 120)
        self.pages.addTab(self.sinusoid, "Sinusoidal")

        rope = QtWidgets.QWidget()
        page = QtWidgets.QVBoxLayout(rope)
        page.setContentsMargins(0, 4, 0, 0)
        self.rotation = _plot(ROTATION_TITLE)
        self.rotation.setAspectLocked(True)
        self.rotation.setLabel("bottom", "feature i")
        self.rotation.setLabel("left", "feature i + d/2")
        self.rotation_items: list[pg.PlotDataItem] = []
        self.scores = _plot("score against offset m − n")
        self.scores.setLabel("bottom", "offset m − n")
        self.scores.setLabel("left", "q·k / √d")
        self.curve_rope = self.scores.plot()
        self.curve_shift = self.scores.plot()
        self.curve_plain = self.scores.plot()
        self.curve_pair = self.scores.plot()
        # Side by side, or the scores below the circle when both do not fit.
        plots = ReflowGrid([[[self.rotation, self.scores]], [[self.rotation], [self.scores]]])
        page.addLayout(plots, 1)
        # The keys of both plots and the check, as text under them: legends inside plots this
        # small would cover the curves.
        self.rotation_key = QtWidgets.QLabel()
        self.rotation_key.setObjectName("rotation_key")
        self.rotation_key.setWordWrap(True)
        self.rotation_key.setTextFormat(QtCore.Qt.TextFormat.RichText)
        page.addWidget(self.rotation_key)
        self.rope_check = QtWidgets.QLabel()
        self.rope_check.setObjectName("rope_check")
        self.rope_check.setWordWrap(True)
        self.rope_check.setTextFormat(QtCore.Qt.TextFormat.RichText)
        page.addWidget(self.rope_check)
        self.pages.addTab(rope, "RoPE")
        self.reflow(plots)

        order = QtWidgets.QWidget()
        perm = QtWidgets.QVBoxLayout(order)
        perm.setContentsMargins(0, 4, 0, 0)
        self.perm_original = Heatmap(title="W, no positions")
        self.perm_shuffled = Heatmap(title="W, shuffled")
        self.perm_positions = Heatmap(title="positions: Wₛ − PWPᵀ", levels=None, diverging=True)
        o, sh, ps = self.perm_original, self.perm_shuffled, self.perm_positions
        for h in (o, sh, ps):
            h.setMinimumSize(150, 120)
        maps = ReflowGrid([[[o, sh, ps]], [[o, sh], [ps]], [[o], [sh], [ps]]])
        perm.addLayout(maps, 1)
        self.summary = QtWidgets.QLabel()
        self.summary.setObjectName("positional_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(QtCore.Qt.TextFormat.RichText)
        perm.addWidget(self.summary)
        self.pages.addTab(order, "Shuffle test")
        self.reflow(maps)
        self.body.addWidget(self.pages, 1)

    # -- drawing -------------------------------------------------------------------------------
    def draw(self, result: Result) -> None:
        data = result.views.get(self.panel_id)
        if not isinstance(data, PositionalData):
            self.show_message(data.message if isinstance(data, ViewError) else "no data")
            return
        tm = theme_manager().theme
        n, d = data.sinusoidal.shape
        self.sinusoid.set_data(
            data.sinusoidal, [str(p) for p in range(n)], [str(i) for i in range(d)]
        )
        self._draw_rotation(data)
        for plot in (self.rotation, self.scores):
            plot.setBackground(tm.plot_background)
        fg = tm.plot_foreground
        self.curve_rope.setData(data.offsets, data.score_rope, pen=pg.mkPen(tm.highlight, width=2))
        self.curve_shift.setData(
            data.offsets, data.score_rope_shifted, pen=None, symbol="o", symbolSize=4,
            symbolBrush=pg.mkBrush(tm.accent), symbolPen=None,
        )  # fmt: skip
        self.curve_plain.setData(
            data.offsets, data.score_plain,
            pen=pg.mkPen(fg, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
        )  # fmt: skip
        colour = PAIR_COLOURS[data.pairs.index(data.params.pair) % len(PAIR_COLOURS)]
        self.curve_pair.setData(data.offsets, data.score_pair, pen=pg.mkPen(colour, width=1))
        self.scores.enableAutoRange()
        key = (
            f"<span style='color:{tm.highlight}'>━</span> with RoPE &nbsp; "
            f"<span style='color:{tm.accent}'>●</span> both positions + {SHIFT_CHECK} &nbsp; "
            f"<span style='color:{fg}'>╌</span> no positions &nbsp; "
            f"<span style='color:{colour}'>─</span> pair {data.params.pair}'s term"
        )
        self.rope_check.setText(
            f"Score: {key}. It depends on the offset only: moving both tokens {SHIFT_CHECK} "
            f"places on changes it by at most {data.shift_max_diff:.1e}; without positions it "
            f"is {data.score_plain[0]:.3f} at every distance."
        )
        self._draw_permutation(data)

    def _draw_rotation(self, data: PositionalData) -> None:
        tm = theme_manager().theme
        for item in self.rotation_items:
            self.rotation.removeItem(item)
        self.rotation_items = []
        key = []
        for idx, (i, pts) in enumerate(zip(data.pairs, data.rotated, strict=True)):
            colour = PAIR_COLOURS[idx % len(PAIR_COLOURS)]
            chosen = i == data.params.pair
            item = pg.PlotDataItem(
                pts[:, 0], pts[:, 1],
                pen=pg.mkPen(colour, width=2 if chosen else 1),
                symbol="o", symbolSize=6 if chosen else 4,
                symbolBrush=pg.mkBrush(colour), symbolPen=None,
            )  # fmt: skip
            self.rotation.addItem(item)
            self.rotation_items.append(item)
            turns = data.frequencies[i] * (len(pts) - 1) / (2 * np.pi)
            label = f"pair {i}: θ = {data.frequencies[i]:.3g}/position, {turns:.3g} turns"
            key.append(f"<span style='color:{colour}'>●</span> " + (
                f"<b>{label}</b>" if chosen else label))  # fmt: skip
        self.rotation_key.setText("Pairs: " + " &nbsp; ".join(key))
        self.rotation.getPlotItem().setTitle(ROTATION_TITLE, color=tm.plot_foreground)

    def _draw_permutation(self, data: PositionalData) -> None:
        toks = data.tokens
        shuffled = [toks[i] for i in data.permutation]
        self.perm_original.set_data(data.weights, toks)
        self.perm_shuffled.set_data(data.weights_shuffled, shuffled)
        pw = data.weights_pos[np.ix_(data.permutation, data.permutation)]
        self.perm_positions.set_data(data.weights_pos_shuffled - pw, shuffled)
        more = f"Only the first {len(toks)} tokens take part. " if data.truncated else ""
        self.summary.setText(
            f"Left: weights without positions; middle: the same tokens shuffled (seed "
            f"{data.params.seed}), slot i now holding token P(i); right: with sinusoidal "
            f"positions, what the shuffle changes beyond moving rows and columns. "
            f"{more}<b>Without positions, max |W<sub>shuffled</sub> − P W Pᵀ| = "
            f"{data.perm_max_diff:.1e}</b> (rounding only): the weights move with the tokens. "
            f"With sinusoidal positions added by slot the same check gives "
            f"<b>{data.perm_max_diff_pos:.3f}</b>: order now changes what attention sees."
        )

    def figure_parts(self) -> list[list]:
        page = self.pages.currentIndex()
        if page == 0:
            return [[self.sinusoid]]
        if page == 1:
            return [[self.rotation, self.scores],
                    [self.rotation_key.text()], [self.rope_check.text()]]  # fmt: skip
        # Plain attention before and after the shuffle, each with every word; the effect
        # of positions is the summary's numbers (a third map in a row cut titles and words).
        return [[self.perm_original, self.perm_shuffled], [self.summary.text()]]

    def figure_caption(self) -> str:
        p = self.params
        return (
            f"{p.n_positions} positions · d_model = {p.d_model} · base {p.base:g} · "
            f"{self.pages.tabText(self.pages.currentIndex())}"
        )

    def export_data(self) -> dict[str, Any]:
        data = None if self.result is None else self.result.views.get(self.panel_id)
        if not isinstance(data, PositionalData):
            return {}
        return {
            "sinusoidal": data.sinusoidal,
            "rope_frequencies": data.frequencies,
            "rope_pairs": np.array(data.pairs),
            "rope_rotated": data.rotated,
            "offsets": data.offsets,
            "score_rope": data.score_rope,
            "score_rope_shifted": data.score_rope_shifted,
            "score_no_positions": data.score_plain,
            "score_chosen_pair": data.score_pair,
            "tokens": list(data.tokens),
            "permutation": data.permutation,
            "weights": data.weights,
            "weights_shuffled": data.weights_shuffled,
            "weights_with_positions": data.weights_pos,
            "weights_with_positions_shuffled": data.weights_pos_shuffled,
            "max_diff_without_positions": np.array([data.perm_max_diff]),
            "max_diff_with_positions": np.array([data.perm_max_diff_pos]),
        }


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(PositionalEncodingPanel))
