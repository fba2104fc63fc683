"""An axis whose ticks are tokens: every label drawn, none dropped because it would overlap.

pyqtgraph's AxisItem leaves out any tick label that would touch its neighbour, so a heatmap of
the ten-word cat sentence showed every other word. Here the labels decide the axis instead:

- bottom axis: labels lie flat when each fits its column, otherwise they are turned to read
  upwards (the axis grows as tall as the longest label);
- both axes: when a row or column is lower than the text, the font shrinks, down to
  ``MIN_SCALE`` of the tick font; only below that is every k-th label drawn (``step``), and the
  owner says so on screen.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

__all__ = ["LABEL_EVERY_UP_TO", "MAX_LABEL_SHARE", "MIN_SCALE", "TokenAxis"]

MIN_SCALE = 0.9  # the smallest token label, relative to the tick font (0.7 was 8 px at 1280)
LABEL_EVERY_UP_TO = 40  # tokens; longer inputs may thin their labels (the axis says so)
MAX_LABEL_SHARE = 0.3  # turned key labels take at most this share of their view's height
GAP = 4  # pixels between a label and its neighbour or the axis line
Align = QtCore.Qt.AlignmentFlag


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


class TokenAxis(pg.AxisItem):
    """A left or bottom axis of token labels at given positions (ticks at cell centres)."""

    def __init__(self, orientation: str, **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        # No tick marks: each word sits beside its row or column, and a tick struck through
        # the end of the word ("cat-" read "cat" crossed out from the back row).
        self.setStyle(tickLength=0)
        self.labels: list[tuple[float, str]] = []
        self.rotated = False  # bottom labels turned to read upwards
        self.step = 1  # every label (1) or every k-th
        # Tokens: every one labelled up to LABEL_EVERY_UP_TO (the plot is given room for them).
        # Numbers along an axis (positions, dimensions) may be thinned.
        self.every_label = True
        self.label_font = QtGui.QFont()
        self.title_text: str | None = None  # the axis title; a note is added when thinned
        self.shown: list[tuple[float, str]] = []  # (position, text as drawn)
        self.max_extent: float | None = None  # most pixels turned labels may take
        self.cell_units = 1.0  # view units per token (a tile grid's cells are larger)
        self.min_pt: float | None = None  # a floor for shrunk labels (slides: 14 pt)
        self._fitting = False
        self._again = False

    # -- what to show ------------------------------------------------------------------------
    def set_labels(self, labels: list[tuple[float, str]]) -> None:
        """Tokens at positions (cell centres, in view coordinates)."""
        labels = list(labels)
        if labels == self.labels and self._tickLevels is not None:
            return  # the same tokens: the fitted, drawn labels stand (a new temperature)
        self.labels = labels
        self.setTicks([self.labels])
        self.fit()

    def shown_labels(self) -> list[tuple[float, str]]:
        """(position, text) of each label drawn (turned labels may be elided to MAX_SHARE)."""
        return self.shown

    # -- fitting -----------------------------------------------------------------------------
    def _pixels_per_unit(self) -> float:
        span = abs(self.range[1] - self.range[0])  # (an inverted axis runs from high to low)
        g = self.geometry()
        return (g.width() if self.orientation == "bottom" else g.height()) / span if span else 0.0

    def _base_font(self) -> QtGui.QFont:
        font = self.style.get("tickFont")
        return QtGui.QFont(font) if font is not None else QtGui.QFont(self.font())

    def fit_to_view(self, view_height: float) -> None:
        """Turned labels take at most MAX_LABEL_SHARE of the height of the view they are in
        (called by the widget that shows the plot, on its resize)."""
        self.max_extent = MAX_LABEL_SHARE * view_height
        self.fit()

    def fit(self) -> None:
        """Choose flat or turned labels, the font size and the step for the current length."""
        if not hasattr(self, "_fitting"):  # pyqtgraph's __init__ resizes it before ours ran
            return
        if self._fitting:
            self._again = True  # resized while fitting: fit once more with the final length
            return
        self._fitting = True
        try:
            for _ in range(3):
                self._again = False
                self._fit()
                if not self._again:
                    break
        finally:
            self._fitting = False

    def _updateMaxTextSize(self, x: int) -> None:
        """pyqtgraph sizes the axis from the labels it drew; these labels are sized by fit()."""

    def _fit(self) -> None:
        base = self._base_font()
        texts = [t for _, t in self.labels]
        spacing = self._slot_units()
        slot = self._pixels_per_unit() * spacing  # pixels between neighbouring labels
        font = QtGui.QFont(base)
        fm = QtGui.QFontMetricsF(font)
        widest = max((fm.horizontalAdvance(t) for t in texts), default=0.0)
        self.rotated = self.orientation == "bottom" and widest + GAP > slot > 0
        across = fm.height() if (self.rotated or self.orientation == "left") else widest + GAP
        self.step = 1
        least = MIN_SCALE
        if self.min_pt is not None and base.pointSizeF() > 0:
            least = max(least, min(1.0, self.min_pt / base.pointSizeF()))
        if slot > 0 and across > slot:
            if slot / across >= least:
                # A smaller font (down to MIN_SCALE) labels every token: worth it.
                font.setPointSizeF(max(1.0, base.pointSizeF() * slot / across))
                fm = QtGui.QFontMetricsF(font)
            else:
                # Even the smallest would not fit: every k-th label at full size.
                self.step = math.ceil(across / slot)
        self.label_font = font
        kept = self.labels[:: self.step]
        if self.rotated:
            # Turned labels take height from the plot: at most ``max_extent`` pixels (set by
            # the widget that shows the plot), longer words elided; the hover readout names
            # every cell in full. (Not read off the parent item: during teardown it is gone.)
            room = self.max_extent or 0.0
            if room > 0:
                elide = QtCore.Qt.TextElideMode.ElideRight
                kept = [(v, fm.elidedText(t, elide, room)) for v, t in kept]
        self.shown = kept
        widest = max((fm.horizontalAdvance(t) for _, t in kept), default=0.0)
        offset = self.style["tickTextOffset"][1 if self.orientation == "bottom" else 0]
        if self.orientation == "bottom":
            self.textHeight = math.ceil(widest if self.rotated else fm.height()) + offset
            self._updateHeight()
        else:
            self.textWidth = math.ceil(widest) + offset
            self._updateWidth()
        if self.title_text is not None:
            every = round(self._slot_units() / self.cell_units * self.step)
            note = "" if every <= 1 else f" (every {_ordinal(every)})"
            if self.labelText != self.title_text + note:
                self.labelText = self.title_text + note
                self._updateLabel()
        self.picture = None
        self.update()

    def _slot_units(self) -> float:
        """Distance between neighbouring labels in view units (1 for one label per cell)."""
        if len(self.labels) < 2:
            return 1.0
        return abs(self.labels[1][0] - self.labels[0][0]) or 1.0

    def resizeEvent(self, ev: object = None) -> None:
        super().resizeEvent(ev)
        self.fit()

    def setRange(self, mn: float, mx: float) -> None:
        super().setRange(mn, mx)
        self.fit()

    # -- drawing -----------------------------------------------------------------------------
    def generateDrawSpecs(self, p: QtGui.QPainter):  # type: ignore[override]
        """pyqtgraph's axis line and ticks, with our text specs: one per shown label.

        For turned labels each rect is given in the label's own (turned) frame, centred on its
        tick; ``drawPicture`` turns the painter before drawing it.
        """
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis_spec, tick_specs, _ = specs
        view = self.linkedView()
        if view is None:
            return specs
        fm = QtGui.QFontMetricsF(self.label_font)
        h = fm.height()
        bounds = self.boundingRect()
        texts = []
        for pos, text in self.shown_labels():
            if self.orientation == "bottom":
                x = self.mapFromScene(view.mapViewToScene(QtCore.QPointF(pos, 0))).x()
                if self.rotated:
                    w = fm.horizontalAdvance(text)
                    texts.append((QtCore.QRectF(x, 0, w, h), Align.AlignRight | Align.AlignVCenter,
                                  text))  # fmt: skip
                else:
                    w = fm.horizontalAdvance(text) + GAP
                    rect = QtCore.QRectF(x - w / 2, GAP, w, h)
                    texts.append((rect, Align.AlignHCenter | Align.AlignTop, text))
            else:
                y = self.mapFromScene(view.mapViewToScene(QtCore.QPointF(0, pos))).y()
                rect = QtCore.QRectF(0, y - h / 2, bounds.width() - GAP, h)
                texts.append((rect, Align.AlignRight | Align.AlignVCenter, text))
        return axis_spec, tick_specs, texts

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs) -> None:  # type: ignore[override]
        super().drawPicture(p, axisSpec, tickSpecs, [])
        p.setFont(self.label_font)
        p.setPen(self.textPen())
        for rect, flags, text in textSpecs:
            if self.rotated:
                # Read upwards, the end of the word at the axis line.
                p.save()
                p.translate(rect.x(), GAP)
                p.rotate(-90)
                w, h = rect.width(), rect.height()
                p.drawText(QtCore.QRectF(-w, -h / 2, w, h), int(flags), text)
                p.restore()
            else:
                p.drawText(rect, int(flags), text)
