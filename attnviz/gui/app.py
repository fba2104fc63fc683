"""Start the Qt application: theme, exception hook, main window."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from types import TracebackType

from attnviz.gui.lifetime import dispose

__all__ = ["install_exception_hook", "run_app"]


def _has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def quiet_offscreen_messages() -> None:
    """Drop Qt's notes that the offscreen platform cannot size or raise native windows.

    They say nothing about attnviz and would bury real warnings in headless runs and exports.
    """
    from PySide6 import QtCore

    previous = None

    def handler(mode: QtCore.QtMsgType, context: QtCore.QMessageLogContext, text: str) -> None:
        if text.startswith("This plugin does not support"):
            return
        if previous is not None:
            previous(mode, context, text)
        else:
            print(text, file=sys.stderr)

    previous = QtCore.qInstallMessageHandler(handler)


def install_exception_hook() -> None:
    """An exception that escapes a Qt slot shows a dialog; the app keeps running."""
    from PySide6 import QtWidgets

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        text = "".join(traceback.format_exception(kind, exc, tb))
        print(text, file=sys.stderr)
        app = QtWidgets.QApplication.instance()
        if app is None:
            return
        box = QtWidgets.QMessageBox(QtWidgets.QApplication.activeWindow())
        box.setObjectName("error_dialog")
        box.setIcon(QtWidgets.QMessageBox.Icon.Warning)
        box.setWindowTitle("attnviz — something went wrong")
        box.setText(f"{kind.__name__}: {exc}\n\nattnviz is still running; nothing was lost.")
        box.setDetailedText(text)
        box.setModal(False)
        box.show()

    sys.excepthook = hook


def run_app(qt_args: list[str], check: bool = False, scene: str | None = None) -> int:
    """Open attnviz. ``check=True`` builds the window, draws it once and exits (smoke test).

    ``scene``: a ``.attnviz`` file to show; one that cannot be opened is refused with the reason
    (exit status 2) before any window opens.
    """
    if not _has_display():
        print(
            "attnviz: no display (DISPLAY and WAYLAND_DISPLAY are unset), so no window can open.\n"
            "  On a desktop, run attnviz there; here, `attnviz info` works without a display.",
            file=sys.stderr,
        )
        return 2
    from PySide6 import QtWidgets

    from attnviz.gui.window import MainWindow
    from attnviz.state.scene_file import SceneFileError, load_scene

    scene_file = None
    if scene is not None:
        try:
            scene_file = load_scene(scene)
        except SceneFileError as exc:
            print(f"attnviz: {exc}", file=sys.stderr)
            return 2

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["attnviz", *qt_args])
    app.setApplicationName("attnviz")
    app.setOrganizationName("attnviz")
    if app.platformName() == "offscreen":
        quiet_offscreen_messages()
    install_exception_hook()
    # The self-check neither reads nor writes the user's settings: it opens the default layout
    # and what it would save goes to a folder deleted on exit (it once left an 800×800 window
    # geometry for the user's first real launch).
    scratch = tempfile.TemporaryDirectory(prefix="attnviz-check-") if check else None
    settings = None
    if scratch is not None:
        from PySide6 import QtCore

        ini = os.path.join(scratch.name, "settings.ini")
        settings = QtCore.QSettings(ini, QtCore.QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    if scene_file is not None and not window.open_scene(scene):
        print(f"attnviz: {window.statusBar().currentMessage()}", file=sys.stderr)
    window.show()
    if check:
        app.processEvents()
        pixels = window.grab()
        print(
            f"attnviz: main window built offscreen ({pixels.width()}x{pixels.height()} px), "
            f"{len(window.panels)} panels; backend: {window.backend_text}"
        )
        window.close()
        code = 0
    else:
        code = app.exec()
    dispose(window)
    if scratch is not None:
        del settings
        scratch.cleanup()
    return code
