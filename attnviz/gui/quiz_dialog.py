"""A small dialog that asks a lesson's quiz one question at a time and explains each answer."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from attnviz.lessons.course import get_lesson
from attnviz.lessons.quiz import QUIZZES, score

__all__ = ["QuizDialog"]


class QuizDialog(QtWidgets.QDialog):
    """Choose an answer, press Check, read why; Next moves on; the score comes at the end."""

    def __init__(self, lesson_id: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quiz_dialog")
        self.lesson_id = lesson_id
        self.questions = QUIZZES.get(lesson_id, ())
        self.answers: list[int | None] = []
        self.setWindowTitle(f"Quiz — {get_lesson(lesson_id).title}")
        lay = QtWidgets.QVBoxLayout(self)
        self.counter = QtWidgets.QLabel()
        self.prompt = QtWidgets.QLabel()
        self.prompt.setWordWrap(True)
        font = self.prompt.font()
        font.setBold(True)
        self.prompt.setFont(font)
        lay.addWidget(self.counter)
        lay.addWidget(self.prompt)
        self.group = QtWidgets.QButtonGroup(self)
        self.choice_box = QtWidgets.QVBoxLayout()
        lay.addLayout(self.choice_box)
        self.feedback = QtWidgets.QLabel()
        self.feedback.setObjectName("quiz_feedback")
        self.feedback.setWordWrap(True)
        lay.addWidget(self.feedback)
        buttons = QtWidgets.QHBoxLayout()
        self.check_button = QtWidgets.QPushButton("Check")
        self.check_button.clicked.connect(self.check)
        self.next_button = QtWidgets.QPushButton("Next")
        self.next_button.clicked.connect(self.next_question)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.close)
        for b in (self.check_button, self.next_button, close):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.resize(520, 320)
        self._show_question()

    @property
    def index(self) -> int:
        return len(self.answers)

    def _show_question(self) -> None:
        for b in self.group.buttons():
            self.group.removeButton(b)
            b.deleteLater()
        self.feedback.clear()
        self.next_button.setEnabled(False)
        if self.index >= len(self.questions):
            result = score(self.lesson_id, self.answers)
            self.counter.setText("Done")
            self.prompt.setText(f"You got {result}.")
            self.check_button.setEnabled(False)
            return
        q = self.questions[self.index]
        self.counter.setText(f"Question {self.index + 1} of {len(self.questions)}")
        self.prompt.setText(q.prompt)
        for i, text in enumerate(q.choices):
            b = QtWidgets.QRadioButton(text)
            self.group.addButton(b, i)
            self.choice_box.addWidget(b)
        self.check_button.setEnabled(True)

    def choose(self, choice: int) -> None:
        self.group.button(choice).setChecked(True)

    def check(self) -> None:
        """Record the chosen answer and explain it."""
        choice = self.group.checkedId()
        if choice < 0:
            self.feedback.setText("Choose an answer first.")
            return
        q = self.questions[self.index]
        self.answers.append(choice)
        verdict = "Right." if choice == q.answer else f"Not quite: {q.choices[q.answer]}."
        self.feedback.setText(f"{verdict} {q.explanation}")
        self.check_button.setEnabled(False)
        for b in self.group.buttons():
            b.setEnabled(False)
        self.next_button.setEnabled(True)
        self.next_button.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def next_question(self) -> None:
        self._show_question()
