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
    from attnviz.gui.main_window import MainWindow

    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.resize(1600, 1000)  # the offscreen screen is 800 x 600 unless told otherwise
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.controller.wait()
    theme_manager().apply(theme="light", colormap="viridis", font_pt=10)


@pytest.fixture
def wait_result(qtbot):
    """Block until the controller delivers the result of the latest change."""

    def wait(controller: Controller, timeout: int = 5000):
        with qtbot.waitSignal(controller.result_ready, timeout=timeout) as blocker:
            pass
        controller.wait()
        return blocker.args[0]

    return wait
