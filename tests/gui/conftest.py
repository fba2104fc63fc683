"""GUI fixtures: a main window with its own settings file, and a way to wait for results."""

import pytest
from PySide6 import QtCore

from attnviz.gui.controller import Controller
from attnviz.gui.theme import theme_manager


@pytest.fixture
def settings(tmp_path):
    return QtCore.QSettings(str(tmp_path / "attnviz.ini"), QtCore.QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    from attnviz.gui.window import MainWindow

    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.resize(1600, 1000)  # the offscreen screen is 800 x 600 unless told otherwise
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.controller.wait()
    theme_manager().apply(theme="light", colormap="viridis", font_pt=10)
    from attnviz.gui.lifetime import dispose

    dispose(w)  # now, in Qt's order, not whenever the garbage collector gets to it


@pytest.fixture
def controller(qtbot):
    """A controller of a fresh session, its first result computed."""
    c = Controller()
    c.compute_now()
    yield c
    c.wait()


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Main windows with settings files of their own: ``make(size, presenter, theme)`` shows
    one (``size=None``: the size it chooses itself; ``"maximized"``), waits for its first
    result and lets it settle. Afterwards: presenter mode off, the light theme back (both are
    the application's, not the window's), the worker drained, each window disposed."""
    from shiboken6 import isValid

    from attnviz.gui.lifetime import dispose, settle
    from attnviz.gui.window import MainWindow

    made = []

    def make(size=(1280, 720), presenter=False, theme=None):
        path = str(tmp_path / f"window{len(made)}.ini")
        win = MainWindow(settings=QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat))
        qtbot.addWidget(win)
        if size == "maximized":
            win.showMaximized()
        else:
            if size is not None:
                win.resize(*size)
            win.show()
        qtbot.waitExposed(win)
        if theme is not None:
            win.set_theme(theme)
        win.set_presenter(presenter)
        win.controller.wait()
        settle()
        made.append(win)
        return win

    yield make
    for win in made:
        if isValid(win):
            win.set_presenter(False)  # give the next test 10 pt
            win.controller.wait()
            dispose(win)  # now, not during the next test's event loop
    theme_manager().apply(theme="light")


@pytest.fixture
def wait_result(qtbot):
    """Block until the controller delivers the result of the latest change."""

    def wait(controller: Controller, timeout: int = 5000):
        with qtbot.waitSignal(controller.result_ready, timeout=timeout) as blocker:
            pass
        controller.wait()
        return blocker.args[0]

    return wait


@pytest.fixture
def make_panel(qtbot, request):
    """Open a panel alone, drawn from a fresh session; the test module's PANEL_SIZE sizes it.

    Afterwards: measurements and timers stopped, the worker drained, the light theme back.
    """
    from attnviz.gui.panels import all_panels

    panels = all_panels()
    default = getattr(request.module, "PANEL_SIZE", (1100, 700))
    made = []

    def make(panel_id, size=None):
        controller = Controller(throttle_ms=1)
        panel = panels[panel_id](controller)
        qtbot.addWidget(panel)
        panel.resize(*(size or default))
        controller.compute_now()
        panel.show()
        qtbot.waitExposed(panel)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        if hasattr(panel, "stop_measurement"):
            panel.stop_measurement()
        if hasattr(panel, "timer"):
            panel.timer.stop()
        panel.controller.wait()
    theme_manager().apply(theme="light")
    from shiboken6 import isValid

    from attnviz.gui.lifetime import dispose

    for panel in made:  # now, in Qt's order, not during a later test's garbage collection
        if isValid(panel):  # (a test may have closed and deleted it already)
            dispose(panel)
