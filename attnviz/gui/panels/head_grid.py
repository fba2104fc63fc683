"""Head grid: every head of the current layer side by side, and a summary row per head.

For a real model the grid is layers × heads (one row of tiles per layer, BERT-base's 12 × 12),
drawn from ``Result.layer_weights``; clicking a tile focuses its layer and head."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from attnviz.export.captions import settings_caption
from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.widgets.heatmap import format_value
from attnviz.gui.widgets.labels import token_label, two_lines
from attnviz.gui.widgets.tile_grid import SummaryTable, TileGrid
from attnviz.state.request import Result
from attnviz.state.views import ViewError
from attnviz.state.views.head_grid import STAT_NAMES, HeadGridData

# The statistics' names on two lines each: on one, the table was wider than its dock.
# (|i − j| is kept on one line: its spaces are made non-breaking.)
STAT_HEADERS = tuple(
    "\n".join(two_lines(name.replace("|i − j|", "|i\u00a0−\u00a0j|"))) for name in STAT_NAMES
)

CYCLE_INTERVAL_MS = 1500


@register_panel
class HeadGridPanel(Panel):
    panel_id = "head_grid"
    needs = ("weights", "layer_weights")
    order = 60
    title = "Head grid"
    default_area = Area.RightDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        controls = QtWidgets.QHBoxLayout()
        self.caption = QtWidgets.QLabel()
        self.caption.setObjectName("head_caption")
        self.caption.setWordWrap(True)
        self.cycle = QtWidgets.QPushButton("Cycle heads")
        self.cycle.setObjectName("cycle_button")
        self.cycle.setCheckable(True)
        self.cycle.setToolTip("Focus each head in turn")
        self.cycle.toggled.connect(self._toggle_cycle)
        controls.addWidget(self.caption, 1)
        controls.addWidget(self.cycle)
        self.grid = TileGrid()
        self.grid.setMinimumHeight(180)
        self.grid.setToolTip("Click a head to focus it in every panel")
        self.grid.tile_clicked.connect(self._pick_tile)
        # More rows of tiles need more height for their token labels: the panel scrolls.
        self.grid.columns_changed.connect(lambda _: self._fit_useful_size())
        self.grid.describe = self._describe_cell
        self.table = SummaryTable()
        self.table.setObjectName("head_stats")
        self.table.fit_width()  # every statistic on screen; the panel scrolls down if it must
        self.table.row_clicked.connect(self._pick_head)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.grid)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.body.addLayout(controls)
        self.body.addWidget(splitter, 1)
        self.timer = QtCore.QTimer(self, interval=CYCLE_INTERVAL_MS)
        self.timer.timeout.connect(self._next_head)

    # -- input -----------------------------------------------------------------------------
    def _pick_head(self, head: int) -> None:
        self.try_set(lambda: setattr(self.session, "head", head))

    def _pick_tile(self, tile: int) -> None:
        """A tile is a head of the current layer, or (real models) one layer's head."""
        if self.result is None or self.result.layer_weights is None:
            self._pick_head(tile)
            return
        layer, head = divmod(tile, self.result.layer_weights.shape[1])
        s = self.session
        self.try_set(lambda: (setattr(s, "layer", layer), setattr(s, "head", head)))

    def tile_of(self, result: Result) -> int:
        """The focused tile: the head, or layer × heads + head when every layer is shown."""
        r = result.request
        if result.layer_weights is None:
            return r.head
        return r.layer * result.layer_weights.shape[1] + r.head

    def _next_head(self) -> None:
        n = self.session.n_heads
        if n > 1:
            self._pick_head((self.session.head + 1) % n)

    def _toggle_cycle(self, on: bool) -> None:
        self.cycle.setText("Stop cycling" if on else "Cycle heads")
        if on:
            self.timer.start()
        else:
            self.timer.stop()

    def hideEvent(self, event) -> None:
        # Nobody watches a hidden grid cycle; stop moving the session's head behind their back.
        self.cycle.setChecked(False)
        super().hideEvent(event)

    # -- drawing ---------------------------------------------------------------------------
    def _describe_cell(self, tile: int, i: int, j: int) -> str:
        if self.result is None:
            return ""
        r = self.result.request
        lw = self.result.layer_weights
        if lw is not None:
            layer, head = divmod(tile, lw.shape[1])
            return (
                f"layer {layer + 1}, head {head + 1}: query “{token_label(r.tokens[i])}” → key "
                f"“{token_label(r.tokens[j])}”: {format_value(float(lw[layer, head, i, j]))}"
            )
        return (
            f"head {tile + 1} ({r.head_names[tile]}): query “{token_label(r.tokens[i])}” → key "
            f"“{token_label(r.tokens[j])}”: {format_value(float(self.result.weights[tile, i, j]))}"
        )

    def draw(self, result: Result) -> None:
        r = result.request
        h = len(r.head_names)
        titles = [f"{i + 1} · {name}" for i, name in enumerate(r.head_names)]
        lw = result.layer_weights
        if lw is not None:  # layers × heads: one row of tiles per layer
            n_layers, heads, n, _ = lw.shape
            tiles = [f"L{li + 1} H{hi + 1}" for li in range(n_layers) for hi in range(heads)]
            self.grid.set_tiles(lw.reshape(n_layers * heads, n, n), tiles, columns=heads)
        else:
            self.grid.set_tiles(result.weights, titles)
        self.grid.set_tokens(r.tokens, r.tokens)
        self.grid.set_segments(r.segments)
        self.grid.set_focus(self.tile_of(result))
        data = result.views.get(self.panel_id)
        if isinstance(data, ViewError):
            self.show_message(data.message)
        elif isinstance(data, HeadGridData):
            self.show_message("")
            stats = data.table()
            cells = [[format_value(float(x)) for x in row] for row in stats]
            self.table.set_table(titles, STAT_HEADERS, cells)
            self.table.fit_rows(6)
            self.table.select_row(r.head)
        mask = "causal mask" if r.causal else "no mask"
        if r.window is not None:
            mask += f", window {r.window}"
        if r.segments:
            mask += "; the lines part sentence A (above, left) from sentence B"
        if lw is not None:
            self.caption.setText(
                f"{r.source.name}: {lw.shape[0]} layers (rows) × {h} heads "
                f"(columns) over {len(r.tokens)} tokens (T = {r.temperature:g}, {mask}). "
                f"Focused: layer {r.layer + 1}, head {r.head + 1}; the table lists layer "
                f"{r.layer + 1}'s heads."
            )
            return
        self.caption.setText(
            f"Layer {r.layer + 1}: {h} heads over {len(r.tokens)} tokens (T = "
            f"{r.temperature:g}, {mask}). Focused: head {r.head + 1}, {r.head_names[r.head]}."
        )

    def figure_parts(self) -> list[list]:
        # The grid alone gets the page's height: with the statistics table below it, its rows
        # were too low for every word (the table is in the app and in "Export data").
        return [[self.grid]]

    def figure_caption(self) -> str:
        if self.result is None:
            return ""
        r = self.result.request
        return settings_caption(r, [f"focused: head {r.head + 1}"], head=False)

    def export_data(self) -> dict:
        if self.result is None:
            return {}
        r = self.result.request
        data = self.result.views.get(self.panel_id)
        out: dict = {}
        if isinstance(data, HeadGridData):
            out["head_stats"] = data.table()
            out["head_stats_rows"] = list(r.head_names)
            out["head_stats_cols"] = list(STAT_NAMES)
        out["weights"] = np.asarray(self.result.weights)  # (H, n, n)
        if self.result.layer_weights is not None:
            out["layer_weights"] = np.asarray(self.result.layer_weights)  # (layers, H, n, n)
        out["head_names"] = list(r.head_names)
        out["tokens"] = list(r.tokens)
        out["layer"] = r.layer
        out["focused_head"] = r.head
        return out


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(HeadGridPanel))
