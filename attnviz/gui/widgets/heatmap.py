"""A labelled heatmap: one ImageItem with a lookup table, never an item per cell.

Values are quantised to uint8 once (index 255 is reserved for masked cells, -inf or NaN), so
pyqtgraph only indexes a 256-entry lookup table when it paints, and ``autoDownsample`` keeps
large matrices as cheap as the pixels they cover.
"""

from __future__ import annotations

import functools
import math
import weakref

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.theme import fit_title_row, theme_manager
from attnviz.gui.widgets.labels import token_label, two_lines
from attnviz.gui.widgets.pooling import pool
from attnviz.gui.widgets.token_axis import (
    LABEL_EVERY_UP_TO,
    MAX_LABEL_SHARE,
    MIN_SCALE,
    TokenAxis,
)

__all__ = ["Heatmap", "SegmentLines", "format_value", "segment_cuts", "token_ticks"]

MASKED = 255
MAX_LABELS = 48  # beyond this many tokens, label every k-th so the axis stays readable
MAX_TICKS = 256  # labels offered to a token axis at most (it thins further to what fits)
MAX_CELLS = 512  # cells per axis drawn at most; larger matrices are pooled first
# Masked (-inf) cells: a dark grey that no colour map here uses (the diverging map is light
# in the middle, so a light grey would read as "zero").
MASKED_COLOUR = "#4d4d4d"


def format_value(x: float) -> str:
    """How a number is printed in hover text and tables: −∞ for masked scores."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "−∞" if x < 0 else "+∞"
    return f"{x:.3f}" if abs(x) < 1000 else f"{x:.3g}"


def token_ticks(labels: list[str] | tuple[str, ...], max_labels: int = MAX_LABELS) -> list:
    """Axis ticks at pixel centres; every k-th label when there are too many to read."""
    n = len(labels)
    step = max(1, math.ceil(n / max_labels))
    return [[(i + 0.5, token_label(labels[i])) for i in range(0, n, step)]]


def segment_cuts(segments: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Where a new segment starts (the first token of sentence B): index i where
    segments[i] differs from segments[i - 1]; () for one segment."""
    return tuple(i for i in range(1, len(segments)) if segments[i] != segments[i - 1])


class SegmentLines(pg.PlotCurveItem):
    """The boundaries between segments (sentence A | sentence B) across heatmaps: one item
    drawing every line, never an item per line or per tile."""

    def __init__(self) -> None:
        super().__init__(connect="pairs")
        self.setZValue(5)
        self.restyle()

    def restyle(self) -> None:
        pen = pg.mkPen(theme_manager().theme.plot_foreground, width=2, cosmetic=True)
        self.setPen(pen)

    def draw(self, cuts: tuple[int, ...], rects: list[tuple[float, float, float, float]],
             shape: tuple[int, int]) -> None:  # fmt: skip
        """A vertical and a horizontal line at each cut of each matrix drawn at rect (x, y,
        width, height) with ``shape`` (rows, cols) cells."""
        rows, cols = shape
        xs: list[float] = []
        ys: list[float] = []
        for x0, y0, w, h in rects if cuts and rows and cols else ():
            for c in cuts:
                x, y = x0 + c * w / cols, y0 + c * h / rows
                xs += [x, x, x0, x0 + w]
                ys += [y0, y0 + h, y, y]
        self.setData(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
        self.setVisible(bool(xs))


def quantise(matrix: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """uint8 indices 0..254 for finite values within ``levels``; 255 for -inf / NaN."""
    lo, hi = levels
    span = hi - lo if hi > lo else 1.0
    m = np.asarray(matrix, dtype=np.float32)
    # Three passes over the matrix (scale, clip, cast): at 2048 x 2048 this is the bulk of a
    # heatmap's redraw, so no temporaries beyond the one scaled copy.
    idx = m * np.float32(254.0 / span)
    idx += np.float32(0.5 - lo * 254.0 / span)  # +0.5: the cast below truncates, so this rounds
    finite = np.isfinite(idx)
    all_finite = bool(finite.all())
    if not all_finite:
        idx[~finite] = 0.0
    np.clip(idx, 0, 254.5, out=idx)
    out = idx.astype(np.uint8)
    if not all_finite:
        out[~finite] = MASKED
    return out


@functools.lru_cache(maxsize=32)
def _widest(labels: tuple[str, ...], font: str) -> float:
    """Pixels of the widest token label in ``font`` (QFont.toString()); asked on every draw,
    measured once per token list (2,048 labels took 9 ms a draw)."""
    f = QtGui.QFont()
    f.fromString(font)
    fm = QtGui.QFontMetricsF(f)
    return max((fm.horizontalAdvance(token_label(t)) for t in labels), default=0.0)


class Heatmap(pg.GraphicsLayoutWidget):
    """Rows × columns of numbers as colours, with token labels, hover readout and row clicks."""

    row_clicked = QtCore.Signal(int)
    cell_hovered = QtCore.Signal(int, int)

    @property
    def min_plot_size(self) -> tuple[int, int]:
        """The least a panel gives it, at 10 pt (Panel scales it with the text size): its title
        whole beside the colour bar, turned key labels, and rows tall enough for the cat
        sentence's ten words at full size."""
        font = QtGui.QFont(QtWidgets.QApplication.font())
        font.setPointSizeF(12)  # the title at the 10 pt base (Typography.title)
        # Its title on two lines if it must (_fit_title), + the row labels' axis and the
        # colour bar with its numbers ("−0.25" on a diverging bar: at 130 px its numbers were
        # cut off at the frame).
        fm = QtGui.QFontMetricsF(font)
        room = max((fm.horizontalAdvance(line) for line in two_lines(self.title)), default=0)
        # Tall enough for every row's label at the least label size (up to LABEL_EVERY_UP_TO
        # rows; at a fixed 300 px the ten rows of the cat sentence were thinned to every 2nd),
        # below a two-line title, above the turned key labels (MAX_LABEL_SHARE of the height).
        tick = QtGui.QFont(QtWidgets.QApplication.font())
        tick.setPointSizeF(10)
        line = QtGui.QFontMetricsF(tick).height() * MIN_SCALE * 1.05
        left, bottom = self.plot.getAxis("left"), self.plot.getAxis("bottom")
        rows = min(len(self.row_labels), LABEL_EVERY_UP_TO) if left.every_label else 0
        high = (2 * fm.height() + rows * line + 40) / (1 - MAX_LABEL_SHARE)
        # and wide enough for every column's turned label beside the row labels, the axis
        # title and the colour bar with its numbers
        cols = min(len(self.col_labels), LABEL_EVERY_UP_TO) if bottom.every_label else 0
        tick_fm = QtGui.QFontMetricsF(tick)
        labels = _widest(self.row_labels, tick.toString())
        wide = labels + 2 * tick_fm.height() + 20 + cols * line + 80
        return max(280, round(room + 160), math.ceil(wide)), max(300, math.ceil(high))

    def _fit_title(self) -> None:
        """The title on one line when it fits beside the colour bar, else on two (a long
        title in presenter type made the heatmap wider than a 1280 px screen's stage)."""
        if not self.title:
            return
        font = QtGui.QFont(QtWidgets.QApplication.font())
        font.setPointSizeF(theme_manager().typography.title)
        room = self.width() - self.plot.getAxis("left").width() - self.colorbar.width() - 24
        one_line = QtGui.QFontMetricsF(font).horizontalAdvance(self.title) <= room
        text = self.title if one_line else "<br>".join(two_lines(self.title))
        if self.plot.titleLabel.text != text:
            self.plot.setTitle(text)
            fit_title_row(self.plot)

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        *,
        x_label: str = "key (attended to)",
        y_label: str = "query (attending)",
        levels: tuple[float, float] | None = (0.0, 1.0),
        diverging: bool = False,
        title: str = "",
    ) -> None:
        super().__init__(parent)
        self._fixed_levels = levels
        self._diverging = diverging
        self._levels: tuple[float, float] = levels or (0.0, 1.0)
        self.matrix = np.zeros((0, 0))
        self.row_labels: tuple[str, ...] = ()
        self.col_labels: tuple[str, ...] = ()
        self.highlighted_row: int | None = None

        axes = {"bottom": TokenAxis("bottom"), "left": TokenAxis("left")}
        self.title = title  # plain, one line; shown on two when narrow (_fit_title)
        self.plot = self.addPlot(row=0, col=0, title=title or None, axisItems=axes)
        # The title asks for no more width than its two-line form: asking for its one-line
        # width, it would never be narrow enough to wrap.
        # (Weak references: a closure holding the heatmap kept it, and its deleted axes,
        # receiving resize events after the window was torn down.)
        label = weakref.ref(self.plot.titleLabel)
        title = self.title
        measure = weakref.WeakMethod(self.plot.titleLabel.updateMin)

        def least_two_lines() -> None:
            item, update = label(), measure()
            if item is None or update is None:
                return
            update()
            fm = QtGui.QFontMetricsF(item.item.font())
            two = max((fm.horizontalAdvance(t) for t in two_lines(title)), default=0)
            least = min(item.minimumWidth(), two + 8)
            item.setMinimumWidth(least)
            item._sizeHint[QtCore.Qt.SizeHint.MinimumSize] = (least, item.minimumHeight())
            item.updateGeometry()

        self.plot.titleLabel.updateMin = least_two_lines
        self.plot.invertY(True)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        axes["bottom"].title_text, axes["left"].title_text = x_label, y_label
        self.plot.getAxis("bottom").setStyle(tickTextOffset=4)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setAutoDownsample(True)
        self.plot.addItem(self.image)
        self._row_box = QtWidgets.QGraphicsRectItem()
        self._row_box.setZValue(10)
        self._row_box.setVisible(False)
        self.plot.addItem(self._row_box)
        self.cuts: tuple[int, ...] = ()  # where sentence B starts (set_segments)
        self._cut_lines = SegmentLines()
        self.plot.addItem(self._cut_lines)
        self.colorbar = pg.ColorBarItem(
            values=self._levels, colorMap=self._cmap(), interactive=False, width=14
        )
        self.addItem(self.colorbar, row=0, col=1)
        self.readout = self.addLabel("", row=1, col=0, colspan=2, justify="left")
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)
        theme_manager().changed.connect(self.restyle)
        self.restyle()

    # -- appearance ------------------------------------------------------------------------
    def _cmap(self) -> pg.ColorMap:
        tm = theme_manager()
        return tm.diverging() if self._diverging else tm.colormap()

    def restyle(self) -> None:
        t = theme_manager().theme
        self.setBackground(t.plot_background)
        pen = pg.mkPen(t.plot_foreground)
        for name in ("left", "bottom"):
            ax = self.plot.getAxis(name)
            ax.setPen(pen)
            ax.setTextPen(pen)
        lut = self._cmap().getLookupTable(nPts=255, alpha=False)  # (255, 3) uint8
        masked = QtGui.QColor(MASKED_COLOUR)
        full = np.vstack([lut, [[masked.red(), masked.green(), masked.blue()]]]).astype(np.uint8)
        self.image.setLookupTable(full)
        self.image.setLevels([0, 255])
        self.colorbar.setColorMap(self._cmap())
        self._row_box.setPen(pg.mkPen(t.accent, width=3, cosmetic=True))
        self._cut_lines.restyle()
        self.readout.setText(self.readout.text, color=t.plot_foreground)

    def set_axis_titles(self, x_label: str, y_label: str) -> None:
        """Name the axes again (only when they change: a new title re-lays out the ticks)."""
        for name, text in (("bottom", x_label), ("left", y_label)):
            axis = self.plot.getAxis(name)
            if axis.title_text != text:
                axis.title_text = text
                self.plot.setLabel(name, text)

    # -- data ------------------------------------------------------------------------------
    def set_data(
        self,
        matrix: np.ndarray,
        row_labels: tuple[str, ...] | list[str],
        col_labels: tuple[str, ...] | list[str] | None = None,
        levels: tuple[float, float] | None = None,
    ) -> None:
        """Show ``matrix`` (rows × cols); -inf and NaN cells are drawn in the masked colour."""
        m = np.asarray(matrix)
        self.matrix = m  # hover reads the full-resolution numbers
        self.row_labels = tuple(row_labels)
        self.col_labels = tuple(col_labels if col_labels is not None else row_labels)
        factor = max(1, -(-max(m.shape) // MAX_CELLS)) if m.size else 1
        shown = pool(m, factor, peak=not self._diverging)
        if levels is None:
            levels = self._fixed_levels
        if levels is None:
            with np.errstate(invalid="ignore"):
                finite = shown[np.isfinite(shown)]
            lo = float(finite.min()) if finite.size else 0.0
            hi = float(finite.max()) if finite.size else 1.0
            lim = max(abs(lo), abs(hi)) or 1.0
            levels = (-lim, lim) if self._diverging else (lo, hi if hi > lo else lo + 1.0)
        self._levels = levels
        self.colorbar.setLevels(values=levels)
        self.image.setImage(quantise(shown, levels), autoLevels=False, levels=[0, 255])
        self.image.setRect(QtCore.QRectF(0, 0, m.shape[1], m.shape[0]))
        self._set_ticks()
        self._draw_cuts()
        self.plot.setRange(xRange=(0, m.shape[1]), yRange=(0, m.shape[0]), padding=0)
        self.set_highlight_row(self.highlighted_row)

    def set_segments(self, segments: tuple[int, ...]) -> None:
        """Draw the boundary between sentence A and B (of a sentence pair) on both axes."""
        self.cuts = segment_cuts(segments)
        self._draw_cuts()

    def _draw_cuts(self) -> None:
        rows, cols = self.matrix.shape[:2] if self.matrix.ndim == 2 else (0, 0)
        square = rows == cols  # self-attention: the same tokens on both axes
        cuts = self.cuts if square and all(c < rows for c in self.cuts) else ()
        self._cut_lines.draw(cuts, [(0.0, 0.0, float(cols), float(rows))], (rows, cols))

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if hasattr(self, "plot"):  # pyqtgraph resizes once inside __init__
            self.plot.getAxis("bottom").fit_to_view(event.size().height())
            self._fit_title()

    def _set_ticks(self) -> None:
        """Every token at its cell (the axes fit them: flat, turned, smaller, or thinned and
        said so); past MAX_TICKS tokens only every k-th is even offered."""
        self.plot.getAxis("left").set_labels(token_ticks(self.row_labels, MAX_TICKS)[0])
        self.plot.getAxis("bottom").set_labels(token_ticks(self.col_labels, MAX_TICKS)[0])

    def set_highlight_row(self, row: int | None) -> None:
        """Outline one query row (or none)."""
        n_rows, n_cols = self.matrix.shape if self.matrix.ndim == 2 else (0, 0)
        self.highlighted_row = row if row is not None and 0 <= row < n_rows else None
        if self.highlighted_row is None:
            self._row_box.setVisible(False)
            return
        self._row_box.setRect(QtCore.QRectF(0, self.highlighted_row, n_cols, 1))
        self._row_box.setVisible(True)

    def value_text(self, i: int, j: int) -> str:
        """The hover readout for cell (i, j)."""
        return (
            f"query “{self.row_labels[i]}” → key “{self.col_labels[j]}”: "
            f"{format_value(float(self.matrix[i, j]))}"
        )

    # -- mouse -----------------------------------------------------------------------------
    def cell_at(self, scene_pos: QtCore.QPointF) -> tuple[int, int] | None:
        if not self.plot.sceneBoundingRect().contains(scene_pos) or self.matrix.size == 0:
            return None
        p = self.plot.vb.mapSceneToView(scene_pos)
        i, j = math.floor(p.y()), math.floor(p.x())
        if 0 <= i < self.matrix.shape[0] and 0 <= j < self.matrix.shape[1]:
            return i, j
        return None

    def _on_move(self, pos: QtCore.QPointF) -> None:
        cell = self.cell_at(pos)
        if cell is None:
            return
        text = self.value_text(*cell)
        self.readout.setText(text, color=theme_manager().theme.plot_foreground)
        self.setToolTip(text)
        self.cell_hovered.emit(*cell)

    def _on_click(self, event: object) -> None:
        cell = self.cell_at(event.scenePos())  # type: ignore[attr-defined]
        if cell is not None:
            self.row_clicked.emit(cell[0])
