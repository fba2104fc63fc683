"""The lesson bar: a dock that walks the course (attnviz.lessons.course) step by step.

Each step sets the session (scene, head, temperature, mask …) and brings its panels forward.
Back / Next buttons, or the Left / Right arrow keys, move through the steps; the last step of a
lesson leads into the next lesson.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.flow import FlowRow
from attnviz.lessons.course import COURSE, Step

if TYPE_CHECKING:
    from attnviz.gui.window import MainWindow
    from attnviz.state.session import Session

__all__ = ["LessonDock", "apply_step", "apply_step_settings"]

# Fields set after the scene in this order: the head and token ranges follow the scene's tokens.
_ORDER = ("scene", "text", "causal", "temperature", "window", "layer", "head", "selected_token")


def apply_step(window: MainWindow, step: Step) -> None:
    """Set the session for ``step`` and bring its panels forward (the first one on top)."""
    apply_step_settings(window.session, step)
    window.show_panels(step.panels)
    for pid in step.panels:
        window.panel(pid).ensure_drawn()
    window.panel(step.panels[0]).show_tab(step.tab)


def apply_step_settings(s: Session, step: Step) -> None:
    """Set the session and the step's panels' own parameters as ``step`` says."""
    settings = step.full_settings()
    if s.source.caps.trained or s.scene != settings["scene"]:
        s.scene = settings["scene"]  # lessons run on the toy model's scenes
    for name in sorted(settings, key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER)):
        if name != "scene" and getattr(s, name) != settings[name]:
            setattr(s, name, settings[name])
    for pid, values in step.params.items():
        params = s.view_params[pid]
        for name, value in values.items():
            setattr(params, name, value)


class LessonDock(QtWidgets.QDockWidget):
    """Back / Next through the course, with the step's title and text."""

    step_changed = QtCore.Signal(int, int)  # lesson index, step index

    def __init__(self, window: MainWindow, on_quiz: Callable[[str], None] | None = None) -> None:
        super().__init__("Lesson", window)
        self.setObjectName("lesson_dock")
        self._window = window
        self.lesson_index = 0
        self.step_index = 0
        body = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(body)
        row = FlowRow()  # one line below the stage; wrapped in the sidebar beside it
        self.lesson_box = QtWidgets.QComboBox()
        self.lesson_box.setObjectName("lesson_picker")
        # As wide as its entries now: "Lesson 12" in the sidebar, not the longest title.
        self.lesson_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        for i, lesson in enumerate(COURSE, 1):
            self.lesson_box.addItem(f"{i}. {lesson.title}", lesson.lesson_id)
        self.sidebar = False
        self.lesson_name = QtWidgets.QLabel()  # the lesson's title, in the sidebar
        self.lesson_name.setObjectName("lesson_name")
        self.lesson_name.setWordWrap(True)
        self.lesson_name.setVisible(False)
        self.lesson_box.currentIndexChanged.connect(lambda i: self.go(i, 0))
        self.back = QtWidgets.QPushButton("◀ Back")
        self.back.setObjectName("lesson_back")
        self.back.setToolTip("Previous step (Left arrow)")
        self.back.clicked.connect(self.previous)
        self.next = QtWidgets.QPushButton("Next ▶")
        self.next.setObjectName("lesson_next")
        self.next.setToolTip("Next step (Right arrow)")
        self.next.clicked.connect(self.advance)
        self.counter = QtWidgets.QLabel()
        self.quiz = QtWidgets.QPushButton("Quiz…")
        self.quiz.setObjectName("lesson_quiz")
        self.quiz.setToolTip("Check your understanding of this lesson")
        if on_quiz is not None:
            self.quiz.clicked.connect(lambda: on_quiz(COURSE[self.lesson_index].lesson_id))
        else:
            self.quiz.hide()
        for w in (self.lesson_box, self.back, self.next, self.counter, self.quiz):
            row.add(None, w)
        lay.addWidget(row)
        lay.addWidget(self.lesson_name)
        self.title = QtWidgets.QLabel()
        self.title.setObjectName("lesson_title")
        self.title.setWordWrap(True)  # in the sidebar a long title would widen it
        self._style_title()
        theme_manager().changed.connect(self._style_title)
        self.text = QtWidgets.QLabel()
        self.text.setObjectName("lesson_text")
        self.text.setWordWrap(True)
        self.text.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.title)
        lay.addWidget(self.text)
        lay.addStretch(1)
        # In a scroll area: it lays the step's paragraphs out at their wrapped height (a dock
        # measures them as one line and cut their last lines), and a long step scrolls rather
        # than making the window taller than the screen.
        self.body = body
        scroll = QtWidgets.QScrollArea()
        scroll.setObjectName("lesson_scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self._show()

    def set_sidebar(self, on: bool) -> None:
        """Beside the stage (a wide screen) or below it: beside, the lesson picker says only
        "Lesson n" and the lesson's title wraps under the buttons."""
        if on == self.sidebar:
            return
        self.sidebar = on
        with signals_blocked(self.lesson_box):
            for i, lesson in enumerate(COURSE, 1):
                self.lesson_box.setItemText(i - 1, f"Lesson {i}" if on else f"{i}. {lesson.title}")
        self.lesson_name.setVisible(on)
        # QComboBox keeps its cached minimumSizeHint when its entries change; a style change
        # clears it (as MainWindow._remeasure_combo_boxes does after a font change).
        self.lesson_box.setStyle(None)
        self.lesson_box.updateGeometry()

    def strip_height(self, width: int) -> int:
        """The height that shows the whole step (title bar, controls, title, text) at ``width``."""
        body = self.body
        need = body.heightForWidth(width) if body.hasHeightForWidth() else -1
        if need < 0:
            need = body.sizeHint().height()
        return need + self.height() - self.widget().height()  # plus the dock's title bar

    def _style_title(self) -> None:
        # Follows the application's font size (presenter mode, larger/smaller text).
        font = QtWidgets.QApplication.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title.setFont(font)

    @property
    def step(self) -> Step:
        return COURSE[self.lesson_index].steps[self.step_index]

    def go(self, lesson: int, step: int) -> None:
        """Show step ``step`` of lesson ``lesson`` (0-based) and apply it."""
        self.lesson_index = max(0, min(lesson, len(COURSE) - 1))
        steps = COURSE[self.lesson_index].steps
        self.step_index = max(0, min(step, len(steps) - 1))
        self._show()
        try:
            apply_step(self._window, self.step)
        except ValueError as exc:  # pragma: no cover - the course is checked by a test
            self._window.show_error(f"This step cannot be shown: {exc}")
        self.step_changed.emit(self.lesson_index, self.step_index)

    def advance(self) -> None:
        if self.step_index + 1 < len(COURSE[self.lesson_index].steps):
            self.go(self.lesson_index, self.step_index + 1)
        elif self.lesson_index + 1 < len(COURSE):
            self.go(self.lesson_index + 1, 0)

    def previous(self) -> None:
        if self.step_index > 0:
            self.go(self.lesson_index, self.step_index - 1)
        elif self.lesson_index > 0:
            self.go(self.lesson_index - 1, len(COURSE[self.lesson_index - 1].steps) - 1)

    def _show(self) -> None:
        lesson = COURSE[self.lesson_index]
        with signals_blocked(self.lesson_box):
            self.lesson_box.setCurrentIndex(self.lesson_index)
        self.counter.setText(f"step {self.step_index + 1} of {len(lesson.steps)}")
        self.lesson_name.setText(f"<b>{lesson.title}</b>")
        self.title.setText(self.step.title)
        self.text.setText(self.step.text)
        first = self.lesson_index == 0 and self.step_index == 0
        last = self.lesson_index == len(COURSE) - 1 and self.step_index == len(lesson.steps) - 1
        self.back.setEnabled(not first)
        self.next.setEnabled(not last)
