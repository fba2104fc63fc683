"""The main window: a dock per panel, a toolbar that writes the session, a status bar that
says which backend computes (and, after a fall-back, why). Its jobs live in the modules beside
this one: input_bar, docks, stage, scene_files, exports."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets
from shiboken6 import isValid

from attnviz.backends import backend_status
from attnviz.gui.controller import Controller
from attnviz.gui.lesson_dock import LessonDock
from attnviz.gui.panels import Panel
from attnviz.gui.window.docks import SETTINGS_VERSION, DockLayout, _LazyPanels
from attnviz.gui.window.exports import Exports
from attnviz.gui.window.input_bar import InputBar
from attnviz.gui.window.scene_files import SceneFiles
from attnviz.gui.window.stage import Stage
from attnviz.state.request import Result
from attnviz.state.source import LOAD_EVENTS

__all__ = ["MainWindow"]


def _ms(seconds: float) -> str:
    """ "12 ms", or "<1 ms" (a cached change takes microseconds: "0 ms" read as broken)."""
    return "<1 ms" if seconds < 0.0005 else f"{seconds * 1000:.0f} ms"


class _BackendLine(QtWidgets.QLabel):
    """The status bar's backend line: what computed, and "Computing…" in front while busy.

    Always as wide as the busy line, so the words never move or get cut when the prefix
    comes and goes (it was cut at the label's old width until the status bar laid out)."""

    BUSY = "Computing… · "

    def __init__(self) -> None:
        super().__init__()
        self.line, self.busy = "", False
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)

    def show_line(self, line: str | None = None, busy: bool | None = None) -> None:
        self.line = self.line if line is None else line
        self.busy = self.busy if busy is None else busy
        self.setText((self.BUSY if self.busy else "") + self.line)
        self.updateGeometry()

    def minimumSizeHint(self) -> QtCore.QSize:
        hint = super().minimumSizeHint()
        need = self.fontMetrics().horizontalAdvance(self.BUSY + self.line) + 2 * self.margin() + 12
        return QtCore.QSize(max(hint.width(), need), hint.height())

    def sizeHint(self) -> QtCore.QSize:
        return self.minimumSizeHint().expandedTo(super().sizeHint())


class MainWindow(InputBar, DockLayout, Stage, SceneFiles, Exports, QtWidgets.QMainWindow):
    """attnviz's main window."""

    # A model's loading progress, carried from the worker thread to this one.
    load_progress = QtCore.Signal(str, int, int, str)

    def __init__(
        self,
        controller: Controller | None = None,
        settings: QtCore.QSettings | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("attnviz_main_window")
        self.setWindowTitle("attnviz — attention, step by step")
        self.controller = controller or Controller(parent=self)
        self.session = self.controller.session
        self.settings = settings or QtCore.QSettings("attnviz", "attnviz")
        self._built: dict[str, Panel] = {}
        self._explanations = True
        self._lesson_open = False  # the lesson bar shown by the user or a lesson (not a tab)
        self._side_by_side: list[QtWidgets.QDockWidget] = []  # staged panels, not tabbed
        self._stage_check = QtCore.QTimer(self, singleShot=True, interval=0)
        self._stage_check.timeout.connect(self._settle_stage)
        self._stage_first: QtWidgets.QDockWidget | None = None
        self.panels = _LazyPanels(self)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QtWidgets.QMainWindow.DockOption.AnimatedDocks
            | QtWidgets.QMainWindow.DockOption.AllowNestedDocks
            | QtWidgets.QMainWindow.DockOption.AllowTabbedDocks
        )
        self._build_toolbar()
        self._build_docks()
        self.lesson_dock = LessonDock(self, on_quiz=self.open_quiz)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, self.lesson_dock)
        self.lesson_dock.hide()
        self._presenter = False
        self._build_menus()
        self._build_lecture_keys()
        self._default_state = self.saveState(SETTINGS_VERSION)
        self.status_backend = _BackendLine()
        self.status_backend.setObjectName("status_backend")
        self.statusBar().addPermanentWidget(self.status_backend)
        self.controller.needs = self._visible_needs
        self.controller.result_ready.connect(self._on_result)
        self.controller.failed.connect(self._on_failed)
        self.controller.busy_changed.connect(self._on_busy)
        self.load_progress.connect(self._show_load_progress)
        LOAD_EVENTS.progress.connect(self._relay_load_progress)  # held weakly by psygnal
        choice = backend_status()
        self.backend_text = f"{choice.name} — {choice.reason}"
        self.status_backend.show_line(choice.label)
        self.status_backend.setToolTip(f"Computing on {self.backend_text}")
        self._restore_settings()
        self.controller.compute_now()

    # -- results and errors ----------------------------------------------------------------
    def _visible_needs(self) -> tuple[str, ...]:
        """What the panels on screen draw: computed before a result is delivered; a hidden
        panel's needs are computed when it is shown."""
        return tuple(
            dict.fromkeys(n for p in self._built.values() if p.showing() for n in p.wanted())
        )

    def _on_result(self, result: Result) -> None:
        if result.request.head_names != self._shown_head_names:
            self._fill_heads()
        model = f"{result.request.model_summary} · " if result.request.source.caps.trained else ""
        # A few words on screen (the whole CuPy install hint, in presenter type, filled the
        # status bar); the backend's reason in the tooltip.
        self.status_backend.show_line(
            f"{model}{result.backend_label or result.backend} · "
            f"{len(result.request.tokens)} tokens · {_ms(result.seconds)}"
        )
        self.status_backend.setToolTip(f"Computing on {result.backend}")
        if getattr(self, "_loading", None) is not None:
            self.say(f"Loaded {result.request.model_summary}", 6000)
        self._loading = None

    def _on_failed(self, message: str) -> None:
        if getattr(self, "_loading", None) is not None and self.session.model_path is not None:
            # The model passed the quick checks but could not be loaded or run: go back.
            self._loading = None
            self.set_model(None)
            self.show_error(f"Could not load the model: {message}")
            return
        self.show_error(f"Could not compute: {message}")

    def _relay_load_progress(self, folder: str, done: int, total: int, what: str) -> None:
        if isValid(self):  # a window closed but not yet collected is still connected
            self.load_progress.emit(folder, done, total, what)  # any thread: queued to this one

    def _show_load_progress(self, folder: str, done: int, total: int, what: str) -> None:
        if folder != self.session.model_path:
            return  # a model no longer shown (or another window's)
        m = self.session.model
        name = m.info.name if m is not None else folder
        self.say(f"Loading {name}: {what}")  # "layer 3 of 22 converted to float32"

    def _on_busy(self, busy: bool) -> None:
        # Beside the backend, not in the message line: "Computing…" used to replace the
        # message it followed (a refusal, "Loaded …") and clear it when done.
        self.status_backend.show_line(busy=busy)

    def say(self, message: str, timeout_ms: int = 0) -> None:
        """The one message line of the status bar: the newest message replaces the last."""
        self.statusBar().showMessage(message, timeout_ms)

    def show_error(self, message: str) -> None:
        """A refusal: said in the status bar; nothing else changes."""
        self.say(message, 10_000)
