"""Small multiples: many matrices as tiles of ONE composed image, and a table beside them.

Every tile (a head's weights, a mask's picture) is pooled to at most ``max_cells`` a side,
quantised to uint8 once, and copied into one canvas with gaps between the tiles; pyqtgraph then
paints a single ImageItem through a lookup table whose last entry is transparent, so the gaps
(and any -inf cell) show the plot background. 144 heads of 512 tokens cost one image of about
800 × 800 pixels, never 144 items. Titles are one text item per tile, shortened to the tile's
width and hidden when the tiles are too small to hold them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.heatmap import (
    MASKED,
    MAX_TICKS,
    SegmentLines,
    format_value,
    quantise,
    segment_cuts,
    token_ticks,
)
from attnviz.gui.widgets.labels import token_label
from attnviz.gui.widgets.pooling import pool
from attnviz.gui.widgets.token_axis import LABEL_EVERY_UP_TO, MIN_SCALE, TokenAxis

__all__ = ["SummaryTable", "TileGrid"]

GAP_FRACTION = 1 / 14  # space between tiles, as a share of a tile's side
TITLE_FRACTION = 0.24  # height of the title band above each row of tiles, likewise
MIN_TITLE_PX = 13  # below this screen height the titles are hidden (the readout still names tiles)
MAX_AXIS_TILES = 16  # token axes beside the grid up to this many tiles (one layer's heads)
MIN_GRID = (200, 160)  # px at 10 pt without token axes (the panels' least plot)


class TileGrid(pg.GraphicsLayoutWidget):
    """A stack of equally shaped matrices as a grid of titled tiles; click a tile to pick it."""

    tile_clicked = QtCore.Signal(int)
    columns_changed = QtCore.Signal(int)  # the least useful size (min_plot_size) changed too
    cell_hovered = QtCore.Signal(int, int, int)  # tile, row, column (of the unpooled matrix)

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        *,
        levels: tuple[float, float] = (0.0, 1.0),
        peak: bool = True,
        min_tile_px: int = 48,
        title_lines: int = 1,
        colorbar: bool = True,
        colorbar_label: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.levels = levels
        self.peak = peak
        self.min_tile_px = min_tile_px
        self.title_lines = title_lines  # a title may hold this many lines ("\n" separates them)
        self.stack = np.zeros((0, 0, 0), dtype=np.float32)  # full-resolution, for the readout
        self.titles: tuple[str, ...] = ()
        self.focused: int | None = None
        self.columns = 1
        self.describe: Callable[[int, int, int], str] | None = None
        self._tiles = np.zeros((0, 0, 0), dtype=np.uint8)  # pooled and quantised
        self._k = 1  # image pixels per pooled cell
        self._fixed_columns: int | None = None

        self.tokens: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # queries, keys
        axes = {"left": TokenAxis("left"), "bottom": TokenAxis("bottom")}
        axes["left"].title_text, axes["bottom"].title_text = "query", "key"
        self.plot = self.addPlot(row=0, col=0, axisItems=axes)
        self.plot.invertY(True)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setAutoDownsample(True)
        self.plot.addItem(self.image)
        self._focus_box = QtWidgets.QGraphicsRectItem()
        self._focus_box.setZValue(10)
        self._focus_box.setVisible(False)
        self.plot.addItem(self._focus_box)
        self.cuts: tuple[int, ...] = ()  # where sentence B starts in every tile
        self._cut_lines = SegmentLines()
        self.plot.addItem(self._cut_lines)
        self._labels: list[pg.TextItem] = []
        self.colorbar = None
        if colorbar:
            self.colorbar = pg.ColorBarItem(
                values=levels,
                colorMap=theme_manager().colormap(),
                interactive=False,
                width=14,
                label=colorbar_label,
            )
            self.addItem(self.colorbar, row=0, col=1)
        self.readout = self.addLabel("", row=1, col=0, colspan=2, justify="left")
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.plot.vb.sigResized.connect(self._relayout)
        theme_manager().changed.connect(self.restyle)
        self.restyle()

    # -- appearance ------------------------------------------------------------------------
    def restyle(self) -> None:
        t = theme_manager().theme
        self.setBackground(t.plot_background)
        cmap = theme_manager().colormap()
        lut = cmap.getLookupTable(nPts=255, alpha=False)  # (255, 3) for indices 0..254
        rgba = np.zeros((256, 4), dtype=np.uint8)
        rgba[:255, :3] = lut
        rgba[:255, 3] = 255
        rgba[MASKED] = 0  # gaps and -inf cells: transparent, the background shows
        self.image.setLookupTable(rgba)
        self.image.setLevels([0, 255])
        if hasattr(self, "_cut_lines"):
            self._cut_lines.restyle()
        if self.colorbar is not None:
            self.colorbar.setColorMap(cmap)
        self._focus_box.setPen(pg.mkPen(t.accent, width=3, cosmetic=True))
        for label in self._labels:
            label.setColor(t.plot_foreground)
        self.readout.setText(self.readout.text, color=t.plot_foreground)

    # -- data ------------------------------------------------------------------------------
    def set_tiles(
        self,
        stack: np.ndarray,
        titles: Sequence[str] = (),
        max_cells: int | None = None,
        columns: int | None = None,
    ) -> None:
        """Show a (T, R, C) stack, tile t titled ``titles[t]``; pooled to ``max_cells`` a side.

        ``columns`` fixes the grid's width; by default it is chosen to make the tiles as large
        as the widget allows.
        """
        stack = np.asarray(stack)
        if stack.ndim != 3:
            raise ValueError(f"tiles must be a (T, R, C) stack, got shape {stack.shape}")
        self.stack = stack
        self.titles = tuple(titles) + ("",) * max(0, len(stack) - len(titles))
        t, rows, cols = stack.shape
        if max_cells is None:
            max_cells = 128 if t <= 16 else 64
        factor = max(1, -(-max(rows, cols, 1) // max_cells))
        shown = pool(stack, factor, self.peak) if t and rows and cols else stack
        self._tiles = quantise(shown, self.levels) if shown.size else shown.astype(np.uint8)
        side = max(self._tiles.shape[1:], default=1) or 1
        self._k = max(1, math.ceil(self.min_tile_px / side))
        self._fixed_columns = columns
        self.columns = columns or self._best_columns()
        self._compose()

    def set_tokens(self, queries: Sequence[str], keys: Sequence[str]) -> None:
        """Label the grid's rows of cells with the queries and its columns with the keys: a
        shared axis, left of the first column of tiles and below the grid, for every tile
        row and column (up to ``MAX_AXIS_TILES`` tiles; beyond, the readout names them)."""
        self.tokens = (tuple(queries), tuple(keys))
        if self._fixed_columns is None and len(self._tiles):
            self.columns = self._best_columns()  # labels may ask for fewer, wider tiles
            self._compose()  # places the axes too
        else:
            self._place_axes()

    def _place_axes(self) -> None:
        queries, keys = self.tokens
        n = len(self._tiles)
        show = bool(queries) and bool(keys) and 0 < n <= MAX_AXIS_TILES
        _, rows, cols = self.stack.shape
        show = show and (rows, cols) == (len(queries), len(keys))  # else: tokens of another
        # input, and the next set_tokens brings the right ones
        for name in ("left", "bottom"):
            self.plot.showAxis(name, show)
        # Square cells leave the axes stranded at the plot's far edges; with axes the tiles
        # fill the plot instead, so each label sits beside its row.
        self.plot.setAspectLocked(not show)
        if not show:
            return
        row_ticks = token_ticks(queries, MAX_TICKS)[0]  # (cell centre in cells, label)
        col_ticks = token_ticks(keys, MAX_TICKS)[0]
        left, bottom = [], []
        for r in range(-(-n // self.columns)):  # every row of tiles
            _, y0, _, h = self.tile_rect(r * self.columns)
            left += [(y0 + at * h / rows, label) for at, label in row_ticks]
        for c in range(min(self.columns, n)):  # every column of tiles
            x0, _, w, _ = self.tile_rect(c)
            bottom += [(x0 + at * w / cols, label) for at, label in col_ticks]
        for name, ticks, unit in (("left", left, h / rows), ("bottom", bottom, w / cols)):
            axis = self.plot.getAxis(name)
            axis.cell_units = unit
            self.plot.setLabel(name, axis.title_text)
            axis.set_labels(ticks)

    @property
    def min_plot_size(self) -> tuple[int, int]:
        """The least a panel gives it, at 10 pt (Panel scales it with the text size). With
        token axes: every query label of every row of tiles at the smallest label size (up to
        LABEL_EVERY_UP_TO tokens), the turned key labels, the axis title and the readout."""
        queries, keys = self.tokens
        n = len(self._tiles)
        scale = max(1.0, theme_manager().font_pt / 10)  # measured at today's size, given at 10 pt
        if not (queries and n and self.plot.getAxis("left").isVisible()):
            if not (n and any(self.titles)):
                return MIN_GRID
            # Each title whole above its tile: tiles as wide as the widest title line, in a
            # near-square grid, and the colour bar beside them.
            fm = QtGui.QFontMetricsF(self._title_font())
            widest = max(fm.horizontalAdvance(line) for t in self.titles for line in t.split("\n"))
            side = widest * (1 + GAP_FRACTION) + 6
            columns = math.ceil(math.sqrt(n))
            rows = -(-n // columns)
            w = columns * side + (110 if self.colorbar is not None else 20)
            h = rows * (side + fm.height() * self.title_lines + 6) + 2 * fm.height()
            return (max(MIN_GRID[0], math.ceil(w / scale)), max(MIN_GRID[1], math.ceil(h / scale)))
        axis = self.plot.getAxis("left")
        fm = QtGui.QFontMetricsF(axis.style.get("tickFont") or QtWidgets.QApplication.font())
        line = self._smallest_label_px()
        rows = min(len(queries), LABEL_EVERY_UP_TO)
        longest = max(fm.horizontalAdvance(token_label(k)) for k in keys)  # turned, full size
        tile_rows = -(-n // self.columns)
        tile = rows * line  # a tile's height when each query row holds its label
        per_row = tile * (1 + TITLE_FRACTION * self.title_lines + GAP_FRACTION)  # + title, gap
        # + the outer gaps; the key labels, their offset, the axis title, the readout, margins
        need = tile_rows * per_row + 2 * GAP_FRACTION * tile + longest + 5 * fm.height()
        return MIN_GRID[0], max(MIN_GRID[1], math.ceil(need / scale))

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if hasattr(self, "plot"):  # pyqtgraph resizes once inside __init__
            self.plot.getAxis("bottom").fit_to_view(event.size().height())

    def set_segments(self, segments: tuple[int, ...]) -> None:
        """Draw the boundary between sentence A and B (of a sentence pair) in every tile."""
        self.cuts = segment_cuts(segments)
        self._draw_cuts()

    def _draw_cuts(self) -> None:
        _, rows, cols = self.stack.shape
        ok = rows == cols and all(c < rows for c in self.cuts)
        rects = [self.tile_rect(t) for t in range(len(self._tiles))]
        self._cut_lines.draw(self.cuts if ok else (), rects, (rows, cols))

    def set_focus(self, tile: int | None) -> None:
        """Outline one tile (or none)."""
        self.focused = tile if tile is not None and 0 <= tile < len(self._tiles) else None
        if self.focused is None:
            self._focus_box.setVisible(False)
            return
        x0, y0, w, h = self.tile_rect(self.focused)
        pad, band = self._gap() / 2, self._band()  # the outline holds the title too
        self._focus_box.setRect(
            QtCore.QRectF(x0 - pad, y0 - band - pad, w + 2 * pad, h + band + 2 * pad)
        )
        self._focus_box.setVisible(True)

    # -- geometry (image pixel coordinates = view coordinates) -----------------------------
    def _tile_px(self) -> tuple[int, int]:
        _, r, c = self._tiles.shape
        return r * self._k, c * self._k

    def _gap(self) -> int:
        h, w = self._tile_px()
        return max(2, round(max(h, w) * GAP_FRACTION))

    def _band(self) -> int:
        h, _ = self._tile_px()
        return round(h * TITLE_FRACTION * self.title_lines) if any(self.titles) else 0

    def _canvas_size(self, columns: int) -> tuple[int, int]:
        n = len(self._tiles)
        rows = -(-n // columns) if n else 0
        th, tw = self._tile_px()
        gap, band = self._gap(), self._band()
        return rows * (band + th + gap) - gap if rows else 0, columns * (tw + gap) - gap

    def tile_rect(self, tile: int) -> tuple[float, float, float, float]:
        """(x, y, width, height) of a tile in view coordinates."""
        th, tw = self._tile_px()
        gap, band = self._gap(), self._band()
        row, col = divmod(tile, self.columns)
        return col * (tw + gap), row * (band + th + gap) + band, tw, th

    def cell_center(self, tile: int, i: int, j: int) -> QtCore.QPointF:
        """View coordinates of the centre of cell (i, j) of the full-resolution matrix."""
        x0, y0, w, h = self.tile_rect(tile)
        _, rows, cols = self.stack.shape
        return QtCore.QPointF(x0 + (j + 0.5) * w / cols, y0 + (i + 0.5) * h / rows)

    def hit(self, view_pos: QtCore.QPointF) -> tuple[int, int, int] | None:
        """(tile, row, column) under a view position, or None in a gap or outside."""
        if not len(self._tiles):
            return None
        th, tw = self._tile_px()
        gap, band = self._gap(), self._band()
        x, y = view_pos.x(), view_pos.y()
        col, dx = divmod(x, tw + gap)
        row, dy = divmod(y, band + th + gap)
        tile = int(row) * self.columns + int(col)
        dy -= band
        if x < 0 or y < 0 or col >= self.columns or tile >= len(self._tiles):
            return None
        if not (0 <= dx < tw and 0 <= dy < th):
            return None
        _, rows, cols = self.stack.shape
        return tile, min(rows - 1, int(dy / th * rows)), min(cols - 1, int(dx / tw * cols))

    def _best_columns(self) -> int:
        n = len(self._tiles)
        if n == 0:
            return 1
        rect = self.plot.vb.sceneBoundingRect()
        if rect.width() < 10 or rect.height() < 10:
            return math.ceil(math.sqrt(n))
        best, best_scale = 1, -1.0
        for columns in range(1, n + 1):
            h, w = self._canvas_size(columns)
            scale = min(rect.width() / w, rect.height() / h)
            if scale > best_scale * 1.0001:
                best, best_scale = columns, scale
        keys = self.tokens[1]
        if keys and n <= MAX_AXIS_TILES:
            # With token axes: no more columns than leave each key its label's height
            # (turned); the rows of tiles then grow the panel, which scrolls.
            line = self._smallest_label_px()
            while best > 1 and rect.width() / (best * (1 + GAP_FRACTION)) / len(keys) < line:
                best -= 1
        return best

    def _smallest_label_px(self) -> float:
        """The height of the smallest token label the axes use, and a little air."""
        font = self.plot.getAxis("left").style.get("tickFont") or QtWidgets.QApplication.font()
        return QtGui.QFontMetricsF(font).height() * MIN_SCALE * 1.05

    def _compose(self) -> None:
        if self.columns != getattr(self, "_composed_columns", None):
            self._composed_columns = self.columns
            self.columns_changed.emit(self.columns)
        n = len(self._tiles)
        h, w = self._canvas_size(self.columns)
        canvas = np.full((max(h, 1), max(w, 1)), MASKED, dtype=np.uint8)
        k = self._k
        for tile in range(n):
            x0, y0, tw, th = (int(v) for v in self.tile_rect(tile))
            block = self._tiles[tile]
            if k > 1:
                block = np.repeat(np.repeat(block, k, axis=0), k, axis=1)
            canvas[y0 : y0 + th, x0 : x0 + tw] = block
        self.image.setImage(canvas, autoLevels=False, levels=[0, 255])
        self.image.setRect(QtCore.QRectF(0, 0, canvas.shape[1], canvas.shape[0]))
        gap = self._gap()  # room for the focus outline around the outer tiles
        self.plot.setRange(
            xRange=(-gap, canvas.shape[1] + gap), yRange=(-gap, canvas.shape[0] + gap), padding=0
        )
        self.set_focus(self.focused)
        self._draw_cuts()
        self._place_titles()
        self._place_axes()

    def _relayout(self) -> None:
        if not len(self._tiles):
            return
        if self._fixed_columns is None:
            columns = self._best_columns()
            if columns != self.columns:
                self.columns = columns
                self._compose()
                return
        self._place_titles()

    def _label(self, k: int) -> pg.TextItem:
        """The k-th title item, created once and reused (items are never removed)."""
        while len(self._labels) <= k:
            label = pg.TextItem("", color=theme_manager().theme.plot_foreground, anchor=(0, 1))
            label.setZValue(5)
            self.plot.addItem(label)
            self._labels.append(label)
        return self._labels[k]

    def _place_titles(self) -> None:
        px_x, px_y = self.plot.vb.viewPixelSize()  # view units per screen pixel
        band_px = self._band() / px_y if px_y > 0 else 0.0
        tile_px = self._tile_px()[1] / px_x if px_x > 0 else 0.0
        show = band_px >= MIN_TITLE_PX * self.title_lines
        font = self._title_font()
        metrics = QtGui.QFontMetrics(font)
        room = tile_px + self._gap() / px_x * 0.8 if px_x > 0 else 0.0  # the gap may hold a bit
        for tile, title in enumerate(self.titles[: len(self._tiles)]):
            label = self._label(tile)
            if not show or not title:
                label.setVisible(False)
                continue
            x0, y0, _, _ = self.tile_rect(tile)
            elide = QtCore.Qt.TextElideMode.ElideRight
            text = "\n".join(metrics.elidedText(t, elide, int(room)) for t in title.split("\n"))
            label.setText(text, color=theme_manager().theme.plot_foreground)
            label.textItem.setFont(font)
            label.setToolTip(title)
            label.setPos(x0 - 3 * px_x, y0)  # TextItem pads its text by a few pixels
            label.setVisible(True)
        for label in self._labels[len(self._tiles) :]:
            label.setVisible(False)
        if show and px_y > 0:
            # Titles taller than their band (large type) reach above the first row: make room
            # there, or their first line is cut off at the top of the plot.
            text_h = (metrics.height() * self.title_lines + 6) * px_y
            top = -max(self._gap(), text_h - self._band())
            (y_lo, y_hi) = self.plot.vb.viewRange()[1]
            if abs(min(y_lo, y_hi) - top) > px_y:
                # Both ranges: with the aspect locked, a new y range alone moves the x range
                # and cut the first tile's title off on the left.
                gap = self._gap()
                h, w = self._canvas_size(self.columns)
                self.plot.setRange(xRange=(-gap, w + gap), yRange=(top, h + gap), padding=0)

    @staticmethod
    def _title_font() -> QtGui.QFont:
        font = QtGui.QFont(QtWidgets.QApplication.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        return font

    def titles_shown(self) -> bool:
        return any(label.isVisible() for label in self._labels)

    # -- mouse -----------------------------------------------------------------------------
    def _view_pos(self, scene_pos: QtCore.QPointF) -> QtCore.QPointF | None:
        if not self.plot.vb.sceneBoundingRect().contains(scene_pos):
            return None
        return self.plot.vb.mapSceneToView(scene_pos)

    def value_text(self, tile: int, i: int, j: int) -> str:
        if self.describe is not None:
            return self.describe(tile, i, j)
        name = self.titles[tile] or f"tile {tile + 1}"
        return f"{name}: [{i}, {j}] = {format_value(float(self.stack[tile, i, j]))}"

    def _on_move(self, pos: QtCore.QPointF) -> None:
        p = self._view_pos(pos)
        found = self.hit(p) if p is not None else None
        if found is None:
            return
        text = self.value_text(*found)
        self.readout.setText(text, color=theme_manager().theme.plot_foreground)
        self.setToolTip(text)
        self.cell_hovered.emit(*found)

    def _on_click(self, event: object) -> None:
        p = self._view_pos(event.scenePos())  # type: ignore[attr-defined]
        found = self.hit(p) if p is not None else None
        if found is not None:
            self.tile_clicked.emit(found[0])


def _is_number(text: str) -> bool:
    """Numbers are right-aligned so their digits line up; formulas and words are not."""
    try:
        float(text.replace(",", "").replace("%", "").replace("−", "-"))
    except ValueError:
        return False
    return True


class _RowsModel(QtCore.QAbstractTableModel):
    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: tuple[str, ...] = ()
        self.cols: tuple[str, ...] = ()
        self.cells: list[list[str]] = []

    def set_table(self, rows: Sequence[str], cols: Sequence[str], cells: list[list[str]]) -> None:
        self.beginResetModel()
        self.rows, self.cols, self.cells = tuple(rows), tuple(cols), cells
        self.endResetModel()

    def rowCount(self, parent: QtCore.QModelIndex | None = None) -> int:
        return len(self.rows)

    def columnCount(self, parent: QtCore.QModelIndex | None = None) -> int:
        return len(self.cols)

    def data(self, index: QtCore.QModelIndex, role: int = QtCore.Qt.ItemDataRole.DisplayRole):
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self.cells[index.row()][index.column()]
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            text = self.cells[index.row()][index.column()]
            align = QtCore.Qt.AlignmentFlag
            side = align.AlignRight if _is_number(text) else align.AlignLeft
            return side | align.AlignVCenter
        return None

    def headerData(self, section: int, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if role != QtCore.Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == QtCore.Qt.Orientation.Horizontal:
            return self.cols[section] if section < len(self.cols) else None
        return self.rows[section] if section < len(self.rows) else None


class SummaryTable(QtWidgets.QTableView):
    """Read-only rows of text beside the tiles: one row per tile; clicking a row picks it."""

    row_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_ = _RowsModel(self)
        self.setModel(self.model_)
        self._whole_columns = 0  # leading columns kept on screen: none, n, or all (-1)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.ResizeToContents
        )
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.ResizeToContents
        )
        self.clicked.connect(lambda index: self.row_clicked.emit(index.row()))

    def set_table(self, rows: Sequence[str], cols: Sequence[str], cells: list[list[str]]) -> None:
        selected = self.selected_row()
        self.model_.set_table(rows, cols, cells)
        if selected is not None:
            self.select_row(selected)
        self.updateGeometry()  # its least width follows its cells (minimumSizeHint)

    def fit_rows(self, max_rows: int = 6) -> None:
        """Ask for the height of the header and up to ``max_rows`` rows (scroll for the rest)."""
        self.resizeRowsToContents()
        rows = min(self.model_.rowCount(), max_rows)
        row_h = self.verticalHeader().sectionSize(0) if rows else 0
        frame = 2 * self.frameWidth()
        bar = self.horizontalScrollBar().sizeHint().height()
        self.setMinimumHeight(self.horizontalHeader().height() + rows * row_h + frame + bar)

    def fit_width(self, columns: int | None = None) -> None:
        """Ask for the width of the row labels and the first ``columns`` columns (default all).

        Measured whenever the layout asks (minimumSizeHint), at the type size of the moment:
        a width fixed when the table was filled, before presenter mode or while its tab was
        hidden, left the induction scores off screen beside their row labels."""
        self._whole_columns = columns if columns is not None else -1
        self.updateGeometry()

    def columns_kept_whole(self) -> int:
        """How many leading columns the table keeps on screen (0: no promise)."""
        n = self.model_.columnCount()
        return n if self._whole_columns < 0 else min(self._whole_columns, n)

    def minimumSizeHint(self) -> QtCore.QSize:
        hint = super().minimumSizeHint()
        n = self.columns_kept_whole()
        if not n:
            return hint
        header = self.verticalHeader()
        label_w = header.sizeHint().width() if header.isVisible() else 0
        top = self.horizontalHeader()
        cols_w = sum(max(self.sizeHintForColumn(j), top.sectionSizeHint(j)) for j in range(n))
        bar = self.verticalScrollBar().sizeHint().width()
        return QtCore.QSize(max(hint.width(), label_w + cols_w + 2 * self.frameWidth() + bar),
                            hint.height())  # fmt: skip

    def selected_row(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def select_row(self, row: int | None) -> None:
        """Select a row without emitting ``row_clicked`` (that is for the user's clicks)."""
        if row is None or not 0 <= row < self.model_.rowCount():
            self.clearSelection()
            return
        if self.selected_row() != row:
            self.selectRow(row)

    def cell_text(self, row: int, col: int) -> str:
        return self.model_.cells[row][col]
