"""Attention patterns: which pairs sparse attention scores and what it saves; induction heads."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6 import QtWidgets

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.widgets.flow import FlowRow
from attnviz.gui.widgets.heatmap import Heatmap
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.gui.widgets.tile_grid import SummaryTable, TileGrid
from attnviz.lessons.induction import MAX_PERIOD, MIN_PERIOD
from attnviz.state.request import Result
from attnviz.state.views import ViewError
from attnviz.state.views.attention_patterns import (
    DILATION,
    GLOBAL_TOKENS,
    RANDOM_KEYS,
    SEED,
    PatternsData,
)

# Short headers: the four columns of numbers stay whole beside or below the patterns; the
# last, in words, may scroll.
COST_COLUMNS = ("growth", "by formula", "in the mask", "density", "scores")
NUMBER_COLUMNS = 2  # growth and the formula with its count; the tiles show densities
SCORE_COLUMNS = ("previous-token score", "induction score")
SCORE_HEADERS = ("prev. token", "induction")  # short: the table sits beside three heatmaps


def _spin(name: str, lo: int, hi: int, tip: str) -> QtWidgets.QSpinBox:
    box = QtWidgets.QSpinBox()
    box.setObjectName(name)
    # A wider range than the parameter allows: an out-of-range value is refused with a message
    # (and the box put back), rather than silently clamped by the widget.
    box.setRange(lo, hi)
    box.setKeyboardTracking(False)  # apply on Enter or on leaving the box, not on each digit
    box.setGroupSeparatorShown(True)
    box.setToolTip(tip)
    return box


@register_panel
class AttentionPatternsPanel(Panel):
    panel_id = "attention_patterns"
    order = 80
    title = "Attention patterns"
    default_area = Area.BottomDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.params = self.session.view_params[self.panel_id]
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setObjectName("pattern_tabs")
        self.tabs.addTab(self._build_gallery(), "Sparse patterns")
        self.tabs.addTab(self._build_induction(), "Induction head")
        self.body.addWidget(self.tabs, 1)
        for field in ("n", "w", "period"):
            self.listen(getattr(self.params.events, field), self._accepted)

    def _build_gallery(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        controls = FlowRow()  # wraps in a narrow dock instead of widening the panel
        self.n_box = _spin("n_box", 0, 1_000_000, "Sequence length n, from 4 to 4,096 tokens")
        self.w_box = _spin("w_box", 0, 1_000_000, "Window on each side, and the block size")
        for label, box, field in (("n (tokens):", self.n_box, "n"),
                                  ("w (window, block):", self.w_box, "w")):  # fmt: skip
            controls.add(label, box)
            self.bind(self.params, field, box.valueChanged, box.setValue, box)
        fixed = QtWidgets.QLabel(
            f"fixed: {GLOBAL_TOKENS} global token, {RANDOM_KEYS} random keys per query "
            f"(seed {SEED}), dilation {DILATION}"
        )
        fixed.setWordWrap(True)
        layout.addWidget(controls)
        layout.addWidget(fixed)
        self.gallery = TileGrid(min_tile_px=64, title_lines=2)
        self.gallery.setMinimumHeight(150)
        self.gallery.describe = self._describe_pattern
        self.costs = SummaryTable()
        self.costs.setObjectName("pattern_costs")
        self.costs.fit_width(NUMBER_COLUMNS)  # the formulas and their counts, never scrolled off
        self.costs.setToolTip(
            "pairs scored: by the pattern's formula (an upper bound for BigBird, whose random "
            "keys may fall inside the window) and counted in the mask"
        )
        # The cost table beside the patterns when both fit, else below them.
        row = ReflowGrid([[[self.gallery, self.costs]], [[self.gallery], [self.costs]]])
        layout.addLayout(row, 1)
        self.reflow(row)
        self.gallery_caption = QtWidgets.QLabel()
        self.gallery_caption.setObjectName("gallery_caption")
        self.gallery_caption.setWordWrap(True)
        layout.addWidget(self.gallery_caption)
        return page

    def _build_induction(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        controls = QtWidgets.QHBoxLayout()
        self.period_box = _spin(
            "period_box", 0, 1000, f"Length of the repeated block, {MIN_PERIOD} to {MAX_PERIOD}"
        )
        controls.addWidget(QtWidgets.QLabel("repeated block (tokens):"))
        controls.addWidget(self.period_box)
        controls.addStretch(1)
        self.bind(self.params, "period", self.period_box.valueChanged, self.period_box.setValue,
                  self.period_box)  # fmt: skip
        self.induction_summary = QtWidgets.QLabel()
        self.induction_summary.setObjectName("induction_summary")
        self.induction_summary.setWordWrap(True)
        layout.addLayout(controls)
        layout.addWidget(self.induction_summary)  # below, at the page's width, not squeezed
        self.layer1 = Heatmap(title="L1 previous token")
        self.layer2 = Heatmap(title="L2 induction")
        self.layer2_random = Heatmap(title="L2 random")
        for h in (self.layer1, self.layer2, self.layer2_random):
            h.setMinimumSize(120, 140)
        # One colour bar and one axis title for the three: they share the 0..1 scale and axes.
        for h in (self.layer1, self.layer2):
            h.removeItem(h.colorbar)
        for h in (self.layer2, self.layer2_random):
            h.plot.getAxis("left").showLabel(False)
        self.scores = SummaryTable()
        self.scores.setObjectName("induction_scores")
        self.scores.fit_width()
        self.scores.setToolTip(
            "previous-token score: mean weight on the token just before; induction score: mean "
            "weight, in the second copy, on the token after the earlier occurrence"
        )
        self.scores.setSizePolicy(QtWidgets.QSizePolicy.Policy.Maximum,
                                  QtWidgets.QSizePolicy.Policy.Expanding)  # fmt: skip
        a, b, c, t = self.layer1, self.layer2, self.layer2_random, self.scores
        # The three layers and their scores in a row; two rows, or one column, when narrow.
        # In one column the induction head first: the tab is about it (and only the first
        # is above the fold at 1280 px in presenter type).
        row = ReflowGrid([[[a, b, c, t]], [[a, b], [c, t]], [[b], [a], [c], [t]]])
        layout.addLayout(row, 1)
        self.reflow(row)
        return page

    # -- input -----------------------------------------------------------------------------
    def _accepted(self, *_args: object) -> None:
        self.show_message("")  # a value went through: the last refusal no longer applies

    # -- drawing ---------------------------------------------------------------------------
    def data(self) -> PatternsData | None:
        view = self.result.views.get(self.panel_id) if self.result is not None else None
        return view if isinstance(view, PatternsData) else None

    def _describe_pattern(self, tile: int, i: int, j: int) -> str:
        d = self.data()
        if d is None:
            return ""
        e = d.entries[tile]
        side = e.picture.shape[0]
        if side == d.n:
            kept = "scored" if e.picture[i, j] > 0 else "not scored"
            return f"{e.name}: query {i + 1} → key {j + 1} is {kept}"
        f = -(-d.n // side)
        rows = f"{i * f + 1}–{min(d.n, (i + 1) * f)}"
        cols = f"{j * f + 1}–{min(d.n, (j + 1) * f)}"
        return f"{e.name}: queries {rows}, keys {cols}: {e.picture[i, j]:.0%} of these pairs scored"

    def draw(self, result: Result) -> None:
        view = result.views.get(self.panel_id)
        if isinstance(view, ViewError):
            self.show_message(view.message)
            return
        if not isinstance(view, PatternsData):
            return
        self.show_message("")  # a good result: an earlier refusal no longer applies
        d = view
        stack = np.stack([e.picture for e in d.entries])
        titles = [f"{e.name}\n{e.density:.1%}" for e in d.entries]
        self.gallery.set_tiles(stack, titles)
        # A picture of n × n cells shows each pair: 1 scored, 0 not. A larger n is pooled into
        # at most PICTURE_CELLS a side, and a cell shows the share of its pairs scored.
        exact = stack.shape[-1] == d.n
        # On the left, where ColorBarItem puts its label: its right axis holds the numbers in
        # a fixed 45 px, and a title there was drawn over them.
        self.gallery.colorbar.setLabel(
            "left", "pair scored: 1 yes, 0 no" if exact else "share of pairs scored per cell"
        )
        cells = []
        for e in d.entries:
            by_formula = f"{e.cost.formula} = {e.cost.pairs:,}".replace("≤ ", "")
            cells.append([
                e.cost.big_o, ("≤ " if not e.cost.exact else "") + by_formula,
                f"{e.pairs:,}", f"{e.density:.2%}", e.rule,
            ])  # fmt: skip
        self.costs.set_table([e.name for e in d.entries], COST_COLUMNS, cells)
        by_name = {e.name: e for e in d.entries}
        full, window = by_name["full"], by_name["window"]
        self.gallery_caption.setText(
            f"At n = {d.n:,} tokens and w = {d.w:,}, full attention scores {full.pairs:,} "
            f"pairs and the sliding window {window.pairs:,}: {full.pairs / window.pairs:,.1f} "
            "times fewer. Double n and the first number grows four times, the second about two."
        )
        self._draw_induction(d)

    def _draw_induction(self, d: PatternsData) -> None:
        ind = d.induction
        toks = ind.tokens
        self.layer1.set_data(ind.weights[0][0], toks)
        self.layer2.set_data(ind.weights[1][0], toks)
        self.layer2_random.set_data(ind.weights[1][1], toks)
        pairs = zip(ind.previous_scores, ind.induction_scores, strict=True)
        cells = [[f"{p:.3f}", f"{s:.3f}"] for p, s in pairs]
        self.scores.set_table(ind.head_labels, SCORE_HEADERS, cells)
        self.induction_summary.setText(
            f"{ind.period} random words, then the same words again. In the second copy the "
            f"induction head looks {ind.period - 1} tokens back, at the word that followed the "
            f"earlier occurrence, and predicts the next word right {ind.correct} times out of "
            f"{ind.checked}. Hand-built toy."
        )

    def figure_parts(self) -> list[list]:
        if self.tabs.currentIndex() == 0:
            # The table's last column (what each pattern keeps, in words) stays on screen:
            # the slide has the pictures for that.
            self.costs.setColumnHidden(self.costs.model().columnCount() - 1, True)
            return [[self.gallery], [self.costs], [self.gallery_caption.text()]]
        # The two trained layers, each wide and tall enough for every word; the random
        # control and the score table stay on screen (the summary above gives the numbers).
        return [[self.induction_summary.text()], [self.layer1, self.layer2]]

    def figure_caption(self) -> str:
        p = self.params
        if self.tabs.currentIndex() == 0:
            return f"n = {p.n} tokens · window and block w = {p.w} · random keys seeded (seed 0)"
        return f"a repeated block of {p.period} random tokens · a two-layer toy model"

    def export_data(self) -> dict[str, Any]:
        d = self.data()
        if d is None:
            return {}
        names = [e.name for e in d.entries]
        ind = d.induction
        return {
            "costs": np.array(
                [[e.pairs, e.cost.pairs, e.density] for e in d.entries], dtype=np.float64
            ),
            "costs_rows": names,
            "costs_cols": [
                "pairs in the mask",
                "pairs by formula (upper bound for BigBird)",
                "density",
            ],
            "cost_formulas": [e.cost.formula for e in d.entries],
            "cost_growth": [e.cost.big_o for e in d.entries],
            "pictures": np.stack([e.picture for e in d.entries]),
            "n": d.n,
            "w": d.w,
            "induction_scores": np.stack([ind.previous_scores, ind.induction_scores], axis=1),
            "induction_scores_rows": list(ind.head_labels),
            "induction_scores_cols": list(SCORE_COLUMNS),
            "induction_tokens": list(ind.tokens),
            "induction_layer2_weights": np.asarray(ind.weights[1][0]),
        }


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(AttentionPatternsPanel))
