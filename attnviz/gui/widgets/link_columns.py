"""Two columns of words joined by lines (token attention, cross-attention): the words whole.

The lines run from x = 0 to x = 1 in the plot; the words sit outside that span, left of 0 and
right of 1. How much room they need is known in pixels only, so the plot's x range is set from
the widest word of each column, and the plot asks for at least that width plus room for the
lines. (With a fixed range, "because" was cut at a 1280 px stage in presenter type.)
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtGui

from attnviz.gui.theme import theme_manager

__all__ = ["LABEL_GAP_PX", "LEAST_LINE_ALPHA", "MIN_LINES_PX", "LinkColumns"]

LABEL_GAP_PX = 8  # between a word and the end of its line
MIN_LINES_PX = 60.0  # between the two columns of words, for the lines
TEXT_PAD_PX = 12  # a TextItem pads its text
LEAST_LINE_ALPHA = 0.3  # the faintest link line (at 0.12 weak links vanished on dark)


class LinkColumns:
    """Keeps ``plot``'s x range and least width fitted to its two columns of labels."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.text_px = (0.0, 0.0)  # the widest word left and right of the lines
        self.labels: list[tuple[pg.TextItem, int]] = []  # (label, side: 0 left, 1 right)
        plot.vb.sigResized.connect(self.fit)

    def set_labels(self, labels: list[tuple[pg.TextItem, int]]) -> None:
        """The shown labels and their sides; measures them and fits the plot."""
        self.labels = labels
        widest = [0.0, 0.0]
        pt = theme_manager().typography.label  # the size style_plots gives them, maybe later
        for label, side in labels:
            font = QtGui.QFont(label.textItem.font())
            font.setPointSize(pt)
            fm = QtGui.QFontMetricsF(font)
            text = label.textItem.toPlainText()
            width = max((fm.horizontalAdvance(line) for line in text.split("\n")), default=0.0)
            widest[side] = max(widest[side], width)
        self.text_px = (widest[0], widest[1])
        self.plot.setMinimumWidth(sum(self.margins_px()) + MIN_LINES_PX)
        self.fit()

    def margins_px(self) -> tuple[float, float]:
        """Pixels left and right of the lines."""
        left, right = (px + TEXT_PAD_PX + LABEL_GAP_PX for px in self.text_px)
        return left, right

    def fit(self) -> None:
        """The x range that leaves room for the widest word on each side, in pixels."""
        left, right = self.margins_px()
        per_unit = max(MIN_LINES_PX, self.plot.vb.width() - left - right)
        self.plot.setXRange(-left / per_unit, 1 + right / per_unit, padding=0)
        gap = LABEL_GAP_PX / per_unit
        for label, side in self.labels:
            label.setPos(1 + gap if side else -gap, label.pos().y())
