"""Lecture mode: the lesson bar walks the course, keys, presenter view, quiz dialog."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from attnviz.gui.presenter import PRESENTER_FONT_PT
from attnviz.gui.quiz_dialog import QuizDialog
from attnviz.gui.theme import theme_manager
from attnviz.lessons.course import COURSE
from attnviz.lessons.quiz import QUIZZES


def settle(qtbot, window):
    window.controller.wait()
    qtbot.wait(1)
    window.controller.wait()


def test_walk_the_whole_course_and_every_step_renders(qtbot, window):
    window.start_lesson()
    dock = window.lesson_dock
    assert dock.isVisible() and not dock.back.isEnabled()
    n_steps = sum(len(lesson.steps) for lesson in COURSE)
    for i in range(n_steps):
        step = dock.step
        settle(qtbot, window)
        s = window.session
        for name, value in step.full_settings().items():
            assert getattr(s, name) == value, (step.title, name)
        assert dock.title.text() == step.title and dock.text.text() == step.text
        top = window.docks[step.panels[0]]
        assert not top.visibleRegion().isEmpty(), step.title
        panel = window.panel(step.panels[0])
        assert panel.result is not None and panel.grab().width() > 100, step.title
        current = [t.tabText(t.currentIndex()) for t in panel.findChildren(QtWidgets.QTabWidget)]
        if step.tab is not None:  # the sub-tab the step talks about is in front
            assert step.tab in current, (step.title, current)
        else:
            assert all(t.currentIndex() == 0 for t in panel.findChildren(QtWidgets.QTabWidget))
        for pid, values in step.params.items():
            for name, value in values.items():
                assert getattr(s.view_params[pid], name) == value, (step.title, name)
        if i < n_steps - 1:
            dock.next.click()
    assert not dock.next.isEnabled()
    assert (dock.lesson_index, dock.step_index) == (len(COURSE) - 1, len(COURSE[-1].steps) - 1)


def test_arrow_keys_step_when_the_lesson_bar_is_shown(qtbot, window):
    dock = window.lesson_dock
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    assert (dock.lesson_index, dock.step_index) == (0, 0)  # lesson bar hidden: keys are free
    window.start_lesson()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    assert (dock.lesson_index, dock.step_index) == (1, 0)  # past the end of lesson 1
    assert window.session.scene == "qkv4"
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Left)
    assert (dock.lesson_index, dock.step_index) == (0, 1)
    dock.lesson_box.setCurrentIndex(6)
    assert dock.lesson_index == 6 and window.session.causal


def test_number_keys_pick_heads_and_space_plays(qtbot, window):
    window.start_lesson()
    settle(qtbot, window)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_2)
    assert window.session.head == 1
    qtbot.keyClick(window, QtCore.Qt.Key.Key_4)
    assert window.session.head == 3 and window.head_box.currentIndex() == 3
    qtbot.keyClick(window, QtCore.Qt.Key.Key_9)  # the toy model has 4 heads
    assert window.session.head == 3 and "4 heads" in window.statusBar().currentMessage()
    qkv = window.panel("qkv_steps")
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert qkv.play.isChecked() and qkv.timer.isActive()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not qkv.play.isChecked() and not qkv.timer.isActive()


def test_presenter_mode_and_full_screen(qtbot, window):
    window.set_font_size(11)
    window.presenter_action.trigger()
    settle(qtbot, window)
    qtbot.wait(5)
    assert window.presenter and theme_manager().font_pt == PRESENTER_FONT_PT
    assert QtWidgets.QApplication.font().pointSize() == PRESENTER_FONT_PT
    assert window.lesson_dock.title.font().pointSizeF() > PRESENTER_FONT_PT
    window.docks["positional_encoding"].show()
    window.docks["positional_encoding"].raise_()
    curve = window.panel("positional_encoding").curve_rope
    qtbot.waitUntil(lambda: curve.opts["pen"].widthF() >= 5)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_3)  # number keys work in presenter mode
    assert window.session.head == 2
    window.full_screen_action.trigger()
    assert window.isFullScreen() or window.windowState() & QtCore.Qt.WindowState.WindowFullScreen
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)
    assert not window.presenter and not window.full_screen_action.isChecked()
    assert theme_manager().font_pt == 11
    qtbot.waitUntil(lambda: curve.opts["pen"].widthF() <= 2)
    assert window.settings.value("font_pt") in (11, "11")


def test_quiz_dialog_asks_explains_and_scores(qtbot, window):
    window.start_lesson(6)
    window.lesson_dock.quiz.click()
    dialog = window.quiz_dialog
    assert isinstance(dialog, QuizDialog) and dialog.lesson_id == "causal"
    questions = QUIZZES["causal"]
    dialog.check()
    assert "Choose an answer" in dialog.feedback.text()
    dialog.choose(questions[0].answer)
    dialog.check()
    assert dialog.feedback.text().startswith("Right.")
    dialog.next_question()
    wrong = (questions[1].answer + 1) % len(questions[1].choices)
    dialog.choose(wrong)
    dialog.check()
    assert dialog.feedback.text().startswith("Not quite")
    assert questions[1].explanation in dialog.feedback.text()
    dialog.next_question()
    assert dialog.prompt.text() == f"You got 1 of {len(questions)} right."
    dialog.close()


def test_presenter_hides_explanations_and_gives_them_back(window):
    window.set_explanations_visible(True)
    window.set_presenter(True)
    assert not window.explain_action.isChecked()
    assert not window.panels["score_heatmap"].explanation.isVisibleTo(window)
    window.set_presenter(False)
    assert window.explain_action.isChecked()
