"""Presenter mode helpers: lines thick enough to read from the back of a lecture hall."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

__all__ = ["PRESENTER_FONT_PT", "thicken_lines"]

PRESENTER_FONT_PT = 18
_BASE = "_attnviz_base_width"


def thicken_lines(root: QtWidgets.QWidget, factor: float) -> int:
    """Multiply the pen width of every curve under ``root`` by ``factor`` (1 restores it).

    The width each curve was drawn with is remembered on the item, so repeated calls do not
    compound, and a panel that redraws with a fresh pen is simply thickened again. Returns the
    number of curves changed.
    """
    changed = 0
    for view in root.findChildren(pg.GraphicsView):
        scene = view.scene()
        if scene is None:
            continue
        for item in scene.items():
            if isinstance(item, pg.PlotCurveItem) and isinstance(
                item.parentItem(), pg.PlotDataItem
            ):
                continue  # its PlotDataItem holds the pen
            if not isinstance(item, pg.PlotDataItem | pg.PlotCurveItem):
                continue
            pen = pg.mkPen(item.opts.get("pen"))
            if pen.style() == QtCore.Qt.PenStyle.NoPen:
                continue
            width = pen.widthF() or 1.0
            base = getattr(item, _BASE, None)
            expected = None if base is None else base[0] * base[1]
            if base is None or abs(width - expected) > 1e-6:  # a new pen since we looked
                base = (width, 1.0)
            new = base[0] * factor
            if abs(new - width) > 1e-6:
                pen.setWidthF(new)
                item.setPen(pen)
                changed += 1
            setattr(item, _BASE, (base[0], factor))
    return changed
