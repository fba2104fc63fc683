"""Widget lifetime under Qt: let the event loop settle, delete a window before Qt goes.

Kept apart from ``app`` (which starts the application and imports the main window) so that
panels, figures and exporters use these without importing what uses them.
"""

from __future__ import annotations

__all__ = ["dispose", "settle"]


def settle(ms: int = 30) -> None:
    """Run the event loop for ``ms`` milliseconds: layouts, resizes, deferred deletes and
    timers happen (offscreen, processEvents() alone does not run them all).

    The timer is a child of the loop, deleted with it. ``QTimer.singleShot(ms, loop.quit)``
    left a hidden receiver holding the bound ``loop.quit`` to be deleted later, in the next
    settle's loop, after ``loop`` itself was gone: the frozen app aborted in about one export
    in twenty ("free(): invalid pointer" in a deferred delete inside QEventLoop.exec)."""
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    timer = QtCore.QTimer(loop)
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(ms)
    loop.exec()
    timer.stop()


def dispose(widget: object) -> None:
    """Delete a top-level widget while the QApplication still exists.

    Left to the interpreter's shutdown, the window's pyqtgraph views are torn down after Qt's
    and the process ends with a segmentation fault (PySide6 6.11, pyqtgraph 0.14).
    """
    import contextlib
    import warnings

    import pyqtgraph as pg
    from pyqtgraph.graphicsItems.GraphicsWidgetAnchor import GraphicsWidgetAnchor
    from PySide6 import QtCore, QtWidgets

    # A legend follows its plot through geometryChanged; deleted in Qt's order the plot can
    # go first, and the legend's handler then asks the deleted plot for its size.
    views = widget.findChildren(pg.GraphicsView) if isinstance(widget, QtWidgets.QWidget) else []
    for view in views:
        for item in view.scene().items() if view.scene() is not None else ():
            if isinstance(item, GraphicsWidgetAnchor):
                for emitter in (item, item.parentItem()):
                    with contextlib.suppress(RuntimeError, TypeError, SystemError), \
                            warnings.catch_warnings():  # fmt: skip
                        warnings.simplefilter("ignore", RuntimeWarning)  # "nothing connected"
                        emitter.geometryChanged.disconnect()
    widget.deleteLater()  # type: ignore[attr-defined]
    QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete.value)
    QtWidgets.QApplication.processEvents()
