"""Start the Qt application and open the main window."""

from __future__ import annotations

import os
import sys


def _has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run_app(qt_args: list[str], check: bool = False) -> int:
    """Open attnviz. ``check=True`` builds the window, draws it once and exits (smoke test)."""
    if not _has_display():
        print(
            "attnviz: no display (DISPLAY and WAYLAND_DISPLAY are unset), so no window can open.\n"
            "  On a desktop, run attnviz there; here, `attnviz info` works without a display.",
            file=sys.stderr,
        )
        return 2
    from PySide6 import QtWidgets

    from attnviz.gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["attnviz", *qt_args])
    app.setApplicationName("attnviz")
    app.setOrganizationName("attnviz")
    window = MainWindow()
    window.show()
    if check:
        app.processEvents()
        pixels = window.grab()
        print(
            f"attnviz: main window built offscreen ({pixels.width()}x{pixels.height()} px); "
            f"backend: {window.backend_text}"
        )
        window.close()
        return 0
    return app.exec()
