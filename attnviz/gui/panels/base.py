"""What every panel is: a registered widget that draws results and writes the session.

A panel carries ``panel_id`` (its module's name), ``title`` and ``default_area`` as class
attributes, is built from a controller, draws every ``Result`` it is handed, and never computes
maths: what it shows comes from the compute core through the pipeline.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.binding import bind
from attnviz.gui.controller import Controller
from attnviz.gui.theme import style_plots
from attnviz.lessons import panel_text
from attnviz.state.pipeline import Result

__all__ = ["PANELS", "Panel", "register_panel", "run_panel_alone"]

Area = QtCore.Qt.DockWidgetArea
PANELS: dict[str, type[Panel]] = {}


def register_panel(cls: type[Panel]) -> type[Panel]:
    """Class decorator: make a panel known to the main window, the View menu and export."""
    if cls.panel_id in PANELS and PANELS[cls.panel_id] is not cls:
        raise ValueError(f"two panels claim the id {cls.panel_id!r}")
    PANELS[cls.panel_id] = cls
    return cls


class Panel(QtWidgets.QWidget):
    """Base class. Subclasses build their widgets into ``self.body`` and implement ``draw``."""

    export_requested = QtCore.Signal(str)  # "figure" or "data": the main window asks where

    panel_id: ClassVar[str]
    title: ClassVar[str]
    default_area: ClassVar[Area] = Area.RightDockWidgetArea
    order: ClassVar[int] = 1000  # position in the View menu and among tabbed docks

    def __init__(self, controller: Controller, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{self.panel_id}_panel")
        self.controller = controller
        # How to cut this panel's links to the session and view parameters (see detach).
        self._unlinks: list[Callable[[], None]] = []
        unlinks = self._unlinks  # not self: the destroyed handler must not keep the panel
        self.destroyed.connect(lambda *_: _cut(unlinks))
        self.result: Result | None = None
        self._stale = False
        self.explanation = QtWidgets.QLabel(panel_text(self.panel_id))
        self.explanation.setWordWrap(True)
        self.explanation.setObjectName("explanation")
        self.explanation.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.body = QtWidgets.QVBoxLayout()
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.explanation)
        outer.addLayout(self.body, 1)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b;")
        self.message.setVisible(False)
        outer.addWidget(self.message)
        controller.result_ready.connect(self._on_result)
        self.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)

    def _context_menu(self, pos: QtCore.QPoint) -> None:
        menu = QtWidgets.QMenu(self)
        menu.addAction("Export figure…", lambda: self.export_requested.emit("figure"))
        menu.addAction("Export data…", lambda: self.export_requested.emit("data"))
        menu.popup(self.mapToGlobal(pos))

    def sizeHint(self) -> QtCore.QSize:
        # Plots ask for 640 x 480 each; a modest hint lets the dock layout share the window.
        return QtCore.QSize(560, 300)

    @property
    def session(self):
        return self.controller.session

    def listen(self, signal: Any, slot: Callable[..., Any]) -> None:
        """Connect ``slot`` to a session or view-parameter event for the panel's lifetime."""
        signal.connect(slot)
        self._unlinks.append(lambda: signal.disconnect(slot))

    def bind(self, model: Any, field: str, signal: QtCore.SignalInstance,
             set_widget: Callable[[Any], None], widget: QtCore.QObject) -> None:  # fmt: skip
        """Bind a control to ``model.<field>`` (gui.binding.bind) for the panel's lifetime;
        a refusal is shown under the panel."""
        self._unlinks.append(
            bind(model, field, signal, set_widget, on_error=self.show_message, widget=widget)
        )

    def detach(self) -> None:
        """Cut every link from the session and view parameters to this panel.

        The session outlives panels: a panel made for an export, or closed, would otherwise
        be called back after Qt deleted its widgets (and kept alive with everything it drew).
        Runs again by itself when the panel is destroyed; safe to call twice.
        """
        for timer in self.findChildren(QtCore.QTimer):
            timer.stop()
        _cut(self._unlinks)

    def set_explanation_visible(self, visible: bool) -> None:
        self.explanation.setVisible(visible)

    def show_tab(self, title: str | None) -> None:
        """Bring the panel's sub-tab called ``title`` to the front (None: every first tab).

        A lesson step opens the view it talks about; a title the panel does not have is a
        mistake in the course, so it raises ValueError.
        """
        tab_widgets = self.findChildren(QtWidgets.QTabWidget)
        if title is None:
            for tabs in tab_widgets:
                tabs.setCurrentIndex(0)
            return
        for tabs in tab_widgets:
            for i in range(tabs.count()):
                if tabs.tabText(i) == title:
                    tabs.setCurrentIndex(i)
                    return
        raise ValueError(f"the {self.title} panel has no tab {title!r}")

    def show_message(self, text: str) -> None:
        """A refusal or note for the user, shown under the panel until the next good result."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def try_set(self, fn: Callable[[], object]) -> bool:
        """Run a session update; on a refusal show its message and keep the old state."""
        try:
            fn()
        except ValueError as exc:
            self.show_message(str(exc))
            return False
        self.show_message("")
        return True

    def _on_result(self, result: Result) -> None:
        self.result = result
        # A panel hidden behind another dock's tab is drawn when it is shown, not now: with
        # 2,048 tokens each heatmap costs tens of milliseconds nobody would see.
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self._stale = False
            self.redraw(result)
        else:
            self._stale = True

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self._stale and self.result is not None:
            self._stale = False
            self.redraw(self.result)

    def ensure_drawn(self) -> None:
        """Draw the latest result now if it has not been (a dock tab shown, export, tests)."""
        if self.result is not None and self._stale:
            self._stale = False
            self.redraw(self.result)

    def redraw(self, result: Result) -> None:
        """Draw ``result`` and bring its plots to the current theme and typography."""
        self.draw(result)
        # A draw may set titles and labels with pyqtgraph's defaults: back to the typography.
        style_plots(self)

    def draw(self, result: Result) -> None:
        raise NotImplementedError

    def export_data(self) -> dict[str, Any]:
        """The numbers behind what the panel shows, for "Export data…" (CSV, NPZ, JSON).

        A mapping of names to NumPy arrays (matrices, vectors) or lists (labels such as the
        tokens); empty when the panel shows no numbers. Read from ``self.result``, never
        recomputed.
        """
        return {}


def _cut(unlinks: list[Callable[[], None]]) -> None:
    while unlinks:
        unlinks.pop()()


def run_panel_alone(cls: type[Panel]) -> int:
    """Open one panel in its own window, computed from a fresh session (``python -m ...``)."""
    from attnviz.gui.theme import theme_manager

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    theme_manager().apply("light")
    controller = Controller()
    panel = cls(controller)
    panel.setWindowTitle(f"attnviz — {cls.title}")
    panel.resize(900, 650)
    controller.compute_now()
    panel.show()
    code = app.exec()
    from attnviz.gui.app import dispose

    dispose(panel)
    return code
