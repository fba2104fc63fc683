"""Legibility counts at projector sizes: what issue 12's tests check, as numbers.

    python benchmarks/legibility.py
    PYTHONPATH=<checkout of an older commit> python benchmarks/legibility.py   # the same, before

For 1280x720 and 1920x1080, normal and presenter mode, every panel raised in turn on the cat
sentence, offscreen: the window's size (larger than asked: it did not fit the screen), token
labels drawn on heatmap axes of at most 40 tokens against tokens there, table cells whose text
is wider than its column (elided), and plots smaller than 200 x 150 px. Counts, not timings.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import tempfile

from PySide6 import QtCore, QtGui, QtWidgets


def wait(ms: int = 40) -> None:
    from attnviz.gui.lifetime import settle

    settle(ms)


def drawn(axis) -> int:
    """How many tick texts the axis paints (generateDrawSpecs is what drawPicture draws)."""
    img = QtGui.QImage(10, 10, QtGui.QImage.Format.Format_ARGB32)
    p = QtGui.QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return 0 if specs is None else len(specs[2])


def count(window) -> tuple[int, int, int, int]:
    import pyqtgraph as pg

    from attnviz.gui.widgets.heatmap import Heatmap

    labels = want = elided = squeezed = 0
    fm = QtGui.QFontMetrics(QtWidgets.QApplication.font())
    for pid, dock in window.docks.items():
        dock.show()
        dock.raise_()
        wait()
        panel = window.panel(pid)
        panel.ensure_drawn()
        wait()
        for hm in panel.findChildren(Heatmap):
            if not hm.isVisible():
                continue
            for name, tokens in (("left", hm.row_labels), ("bottom", hm.col_labels)):
                if 0 < len(tokens) <= 40:
                    want += len(tokens)
                    labels += min(len(tokens), drawn(hm.plot.getAxis(name)))
        for view in panel.findChildren(QtWidgets.QTableView):
            if not view.isVisible():
                continue
            m = view.model()
            for j in range(min(m.columnCount(), 12)):
                for i in range(min(m.rowCount(), 6)):
                    text = m.data(m.index(i, j))
                    if (
                        isinstance(text, str)
                        and fm.horizontalAdvance(text) > view.columnWidth(j) - 4
                    ):
                        elided += 1
        for v in panel.findChildren(pg.GraphicsView):
            if v.isVisible() and (v.width() < 200 or v.height() < 150):
                squeezed += 1
    return labels, want, elided, squeezed


def main() -> None:
    QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    from attnviz.gui.lifetime import dispose
    from attnviz.gui.window import MainWindow

    tmp = tempfile.mkdtemp()
    for w, h in ((1280, 720), (1920, 1080)):
        for presenter in (False, True):
            ini = f"{tmp}/{w}-{presenter}.ini"
            win = MainWindow(settings=QtCore.QSettings(ini, QtCore.QSettings.Format.IniFormat))
            win.resize(w, h)
            win.show()
            win.set_presenter(presenter)
            wait()
            labels, want, elided, squeezed = count(win)
            mode = "presenter" if presenter else "normal"
            print(f"{w}x{h} {mode:9s} window {win.width()}x{win.height()}  token labels "
                  f"{labels}/{want}  elided cells {elided}  plots<200x150 {squeezed}")  # fmt: skip
            win.set_presenter(False)
            dispose(win)


if __name__ == "__main__":
    main()
