"""The flash panel's second page: the tiling animated step by step with the core's own
running max, sum and rescale factor."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.flow import FlowRow
from attnviz.gui.widgets.heatmap import Heatmap, format_value
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.state.views.flash_attention import (
    FlashData,
)

__all__ = ["TilingPage"]

PLAY_INTERVAL_MS = 900


class TilingPage:
    """Flash-panel part: the tiling page (building, drawing, stepping and playing)."""

    def _build_tiling_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(page)
        lay.setContentsMargins(0, 4, 0, 0)
        controls = FlowRow()  # wraps in presenter type instead of pushing the buttons off
        for field, label, hi, tip in (
            ("tile_n", "tokens", 32, "Length of the example"),
            ("block_q", "Q tile", 32, "Query rows per tile"),
            ("block_k", "K tile", 32, "Keys per tile"),
            ("seed", "seed", 99_999, "Seed of the example's Q, K, V"),
        ):
            controls.add(label, self._spin(field, 0, hi, tip))
        self.causal_box = QtWidgets.QCheckBox("causal")
        self.causal_box.setObjectName("tile_causal")
        self.bind(self.params, "causal", self.causal_box.toggled, self.causal_box.setChecked,
                  self.causal_box)  # fmt: skip
        controls.add(None, self.causal_box)
        self.back_button = QtWidgets.QPushButton("◀ Back")
        self.back_button.setObjectName("tile_back")
        self.back_button.clicked.connect(lambda: self.set_tile_step(self.tile_step - 1))
        self.step_button = QtWidgets.QPushButton("Step ▶")
        self.step_button.setObjectName("tile_step")
        self.step_button.clicked.connect(lambda: self.set_tile_step(self.tile_step + 1))
        self.play_button = QtWidgets.QPushButton("Play")
        self.play_button.setObjectName("tile_play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._toggle_play)
        for b in (self.back_button, self.step_button, self.play_button):
            controls.add(None, b)
        lay.addWidget(controls)

        self.grid = Heatmap(title="the weights flash never stores; tiles outlined")
        self.grid.setObjectName("tile_grid")
        self.grid.setMinimumSize(220, 180)
        plot = self.grid.plot
        self.tile_lines = pg.PlotDataItem(connect="pairs")
        self.tile_lines.setZValue(5)
        self.done_tiles = QtWidgets.QGraphicsPathItem()
        self.done_tiles.setZValue(6)
        self.tile_box = QtWidgets.QGraphicsRectItem()
        self.tile_box.setZValue(11)
        for item in (self.tile_lines, self.done_tiles, self.tile_box):
            plot.addItem(item)
        right_w = QtWidgets.QWidget()
        right = QtWidgets.QVBoxLayout(right_w)
        right.setContentsMargins(0, 0, 0, 0)
        self.step_text = QtWidgets.QLabel()
        self.step_text.setObjectName("tile_step_text")
        self.step_text.setWordWrap(True)
        self.step_text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        right.addWidget(self.step_text)
        self.state_table = QtWidgets.QLabel()
        self.state_table.setObjectName("tile_state")
        self.state_table.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.state_table.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        right.addWidget(self.state_table)
        self.exact_text = QtWidgets.QLabel()
        self.exact_text.setObjectName("tile_exactness")
        self.exact_text.setWordWrap(True)
        self.exact_text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        right.addWidget(self.exact_text)
        right.addStretch(1)
        # The step's text and table beside the tiles, or below them when both do not fit.
        row = ReflowGrid([[[self.grid, right_w]], [[self.grid], [right_w]]])
        lay.addLayout(row, 1)
        self.reflow(row)
        return page

    def _draw_tiles(self, data: FlashData) -> None:
        n = data.params.tile_n
        labels = [str(i) for i in range(n)]
        self.grid.set_data(data.weights, labels)
        bq, bk = data.params.block_q, data.params.block_k
        # Tile boundaries as one item: vertical then horizontal segments, drawn in pairs.
        xs = [*range(0, n + 1, bk)] + ([n] if n % bk else [])
        ys = [*range(0, n + 1, bq)] + ([n] if n % bq else [])
        seg_x = np.array([[x, x] for x in xs] + [[0, n] for _ in ys], dtype=float).ravel()
        seg_y = np.array([[0, n] for _ in xs] + [[y, y] for y in ys], dtype=float).ravel()
        # Light lines and shading: the image under them is dark for small weights.
        self.tile_lines.setData(seg_x, seg_y, pen=pg.mkPen(255, 255, 255, 160, width=1))
        self._draw_step(data)
        self.exact_text.setText(
            f"Output of all {n} rows: <b>max |flash − standard| = {data.max_abs_diff:.1e}</b> "
            f"(float64). {len(data.tiles)} tiles visited"
            + (f", {data.skipped_tiles} skipped (fully masked)" if data.skipped_tiles else "")
            + (" — with the causal mask, tiles above the diagonal are never visited."
               if data.params.causal else ".")
        )  # fmt: skip

    def _draw_step(self, data: FlashData) -> None:
        tm = theme_manager().theme
        steps = data.tiles
        self.back_button.setEnabled(self.tile_step > 0)
        self.step_button.setEnabled(self.tile_step < len(steps) - 1)
        if not steps:
            self.tile_box.setVisible(False)
            self.step_text.setText("No tile to visit.")
            self.state_table.setText("")
            return
        st = steps[self.tile_step]
        (i0, i1), (j0, j1) = st.q_block, st.k_block
        self.tile_box.setRect(QtCore.QRectF(j0, i0, j1 - j0, i1 - i0))
        self.tile_box.setPen(pg.mkPen(tm.accent, width=3, cosmetic=True))
        self.tile_box.setVisible(True)
        path = pg.QtGui.QPainterPath()
        for prev in steps[: self.tile_step]:
            (a0, a1), (b0, b1) = prev.q_block, prev.k_block
            path.addRect(QtCore.QRectF(b0, a0, b1 - b0, a1 - a0))
        self.done_tiles.setPath(path)
        self.done_tiles.setBrush(pg.mkBrush(255, 255, 255, 90))
        self.done_tiles.setPen(pg.mkPen(None))
        last_of_row = self.tile_step == len(steps) - 1 or steps[self.tile_step + 1].q_block != (
            i0, i1)  # fmt: skip
        rescaled = [i0 + r for r, a in enumerate(st.alpha) if 0 < a < 1]
        first = bool(np.all(np.isneginf(st.m_before)))
        if first:
            what = "The first K tile for these rows: m starts at their row maxima, l at the sums."
        elif rescaled:
            who = ", ".join(map(str, rescaled))
            what = (
                f"Row{'s' if len(rescaled) > 1 else ''} {who} met a larger score, so the sum "
                "and partial output so far are multiplied by α = exp(m_old − m_new) < 1."
            )
        else:
            what = "No row met a larger score: α = 1 and the new terms are simply added."
        done = (
            f" This was the last K tile for rows {i0}–{i1 - 1}: O = acc / l is final."
            if last_of_row
            else ""
        )
        self.step_text.setText(
            f"<b>Step {self.tile_step + 1} of {len(steps)}:</b> Q tile rows {i0}–{i1 - 1} "
            f"against K tile keys {j0}–{j1 - 1}. {what}{done}"
        )
        self.state_table.setText(self.state_html(st))

    @staticmethod
    def state_html(st) -> str:
        """The running state of the Q tile's rows, before and after this K tile."""
        head = "".join(
            f"<th align=right style='padding-left:14px'>{h}</th>"
            for h in ("row", "m before", "m after", "α", "l before", "l after")
        )  # fmt: skip
        rows = []
        for r in range(len(st.alpha)):
            cells = (st.m_before[r], st.m_after[r], st.alpha[r], st.l_before[r], st.l_after[r])
            rows.append(
                f"<tr><td align=right>{st.q_block[0] + r}</td>"
                # room between right-aligned columns: "1.742 0.000" read as one number
                + "".join(
                    f"<td align=right style='padding-left:14px'>{format_value(float(x))}</td>"
                    for x in cells
                )
                + "</tr>"
            )
        return f"<table cellspacing=0 cellpadding=2><tr>{head}</tr>{''.join(rows)}</table>"

    # -- tiling controls -----------------------------------------------------------------------
    def set_tile_step(self, step: int) -> None:
        data = self._data()
        if data is None or not data.tiles:
            return
        self.tile_step = max(0, min(int(step), len(data.tiles) - 1))
        self._draw_step(data)

    def _toggle_play(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        if on:
            self.timer.start()
        else:
            self.timer.stop()

    def _tick(self) -> None:
        data = self._data()
        if data is None or not data.tiles:
            return
        self.set_tile_step((self.tile_step + 1) % len(data.tiles))
