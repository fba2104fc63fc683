"""Guards against Qt-binding bugs that have bitten this app."""

import sys

from PySide6 import QtWidgets


def test_void_item_setters_keep_none_alive(qtbot):
    # PySide6 6.12.0 with Python 3.11 decrefs None on these calls; after ~10^5 of them the
    # interpreter aborts ("none_dealloc"). The token strip makes such calls on every click.
    w = QtWidgets.QListWidget()
    qtbot.addWidget(w)
    w.addItems(["a", "b"])
    before = sys.getrefcount(None)
    for _ in range(2000):
        w.item(0).setToolTip("x")
        w.item(1).setForeground(w.item(0).foreground())
    assert sys.getrefcount(None) >= before - 100
