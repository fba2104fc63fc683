"""Presenter mode is a stage (issue 12, item 2): the panel the lecturer is talking about fills
the window, a lesson step puts its own panel there, and leaving gives back the layout exactly."""

from __future__ import annotations

import pytest
from PySide6 import QtCore

from attnviz.gui.lifetime import dispose, settle
from attnviz.gui.window import MainWindow


@pytest.fixture
def window(make_window):
    return make_window((1280, 720))


def in_view(dock) -> bool:
    """Shown and in front (a dock behind another's tab is "visible" but parked off screen)."""
    return dock.isVisible() and dock.geometry().x() >= 0


def layout(win: MainWindow) -> dict[str, QtCore.QRect | None]:
    return {pid: d.geometry() if in_view(d) else None for pid, d in win.docks.items()}


def visible_panels(win: MainWindow) -> list[str]:
    return [pid for pid, d in win.docks.items() if in_view(d)]


def staged_panels(win: MainWindow) -> set[str]:
    """The panels in front and those tabbed behind them (two that do not fit side by side)."""
    front = [win.docks[pid] for pid in visible_panels(win)]
    behind = {t.objectName() for d in front for t in win.tabifiedDockWidgets(d) if not t.isHidden()}
    return {d.objectName() for d in front} | behind


def assert_beside_the_lesson(win: MainWindow, staged) -> None:
    """16:9: the lesson is a sidebar about a fifth of the width, the panel has the rest and
    nearly the whole height (below it, at 1280 x 720 in presenter type, the plot got 330 px)."""
    lesson = win.lesson_dock
    assert lesson.sidebar
    assert staged.geometry().right() < lesson.geometry().left()
    assert staged.width() + lesson.width() >= 0.97 * win.width()
    assert lesson.width() <= 0.3 * win.width()
    assert staged.height() >= lesson.height() - 2


def test_the_panel_in_front_takes_the_whole_window_and_comes_back(window):
    window.show_panels(["head_grid"])
    settle()
    before = layout(window)
    assert len(visible_panels(window)) > 1  # the default layout shows several panels
    window.set_presenter(True)
    settle(60)
    assert visible_panels(window) == ["head_grid"]
    dock = window.docks["head_grid"]
    assert dock.width() >= 0.97 * window.width()
    window.set_presenter(False)
    settle(60)
    assert layout(window) == before


def test_a_lesson_step_in_presenter_mode_stages_its_panel_beside_the_whole_lesson_text(window):
    window.set_presenter(True)
    window.start_lesson(2, 0)  # scores: the attention-weights heatmap
    settle(60)
    step = window.lesson_dock.step
    assert visible_panels(window) == list(step.panels)
    lesson = window.lesson_dock
    assert lesson.isVisible()
    assert lesson.height() >= lesson.strip_height(lesson.width()) - 2  # the whole step's text
    staged = window.docks[step.panels[0]]
    assert_beside_the_lesson(window, staged)
    window.lesson_dock.advance()
    window.lesson_dock.advance()
    settle(60)
    step = window.lesson_dock.step
    assert len(step.panels) == 2
    # side by side when each gets its useful width, else tabs with the first in front
    assert step.panels[0] in visible_panels(window)
    assert staged_panels(window) == set(step.panels)


def test_closing_in_presenter_mode_remembers_the_lecturers_layout_not_the_stage(window):
    window.set_presenter(True)
    settle(60)
    shown = len(visible_panels(window))
    window.close()
    win2 = MainWindow(settings=window.settings)
    try:
        win2.resize(1280, 720)
        win2.show()
        settle(60)
        assert shown == 1
        assert len(visible_panels(win2)) > 1
    finally:
        win2.controller.wait()
        dispose(win2)


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_head_grid_tiles_carry_every_token_and_the_frame_sits_on_its_tile(window, presenter):
    """Issue 12: the head grid's tiles had no token labels, and its focus frame was off its
    tile. Every word of the cat sentence is drawn on the shared query and key axes (for every
    row and column of tiles), at 1280 x 720, normal and presenter."""
    from tests.gui.test_token_axis import CAT, drawn_texts

    window.set_presenter(presenter)
    window.show_panels(["head_grid"])
    settle(100)
    grid = window.panel("head_grid").grid
    n = len(grid._tiles)
    tile_rows = -(-n // grid.columns)
    left, bottom = (drawn_texts(grid.plot.getAxis(a)) for a in ("left", "bottom"))
    assert left == CAT * tile_rows
    assert bottom == CAT * min(n, grid.columns)
    # The frame around the focused tile holds the tile and its title, and no other tile.
    x, y, w, h = grid.tile_rect(grid.focused)
    frame = grid._focus_box.rect()
    assert frame.contains(QtCore.QRectF(x, y, w, h))
    gap = grid._gap()
    assert frame.width() <= w + 2 * gap and frame.height() <= h + grid._band() + 2 * gap


def test_a_lesson_stages_its_panels_and_closing_it_gives_back_the_layout(window):
    """Issue 12, item 5: at 1280 x 720 a step's panel sat in a quarter of the window beside the
    lesson bar, its paragraph above the plot the step talks about."""
    window.show_panels(["head_grid"])
    settle()
    before = layout(window)
    assert window.explain_action.isChecked()
    window.start_lesson(2, 0)
    settle(60)
    step = window.lesson_dock.step
    assert staged_panels(window) == set(step.panels)
    staged = window.docks[step.panels[0]]
    assert_beside_the_lesson(window, staged)
    assert not window.panel(step.panels[0]).explanation.isVisible()  # the step explains
    window.lesson_dock.close()
    settle(60)
    assert layout(window) == before
    assert window.explain_action.isChecked()
    assert window.panel("head_grid").explanation.isVisible()
