"""Lectures in the main window: lesson keys, presenter mode, and the stage (only the step's
panels, beside the lesson sidebar)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from attnviz.gui.presenter import PRESENTER_FONT_PT, thicken_lines
from attnviz.gui.theme import theme_manager
from attnviz.gui.window.docks import SETTINGS_VERSION

__all__ = ["Stage"]

# The lesson bar beside the stage, as a share of the window's width: at 1280 px the sparse
# patterns' formulas need the rest (a quarter left them 19 px short).
SIDEBAR_SHARE = 0.22


class Stage:
    """Main-window part: lessons, presenter mode and full screen, and the stage they set."""

    # -- lectures: lessons, presenter mode, keys ----------------------------------------------
    def _build_lecture_keys(self) -> None:
        """Keys for teaching: arrows step the lesson, 1–9 pick heads, Space plays Q/K/V, Esc
        leaves full screen and presenter mode. Live only while a lesson or the presenter mode
        is on, so they never take arrows or Space from sliders and buttons otherwise."""

        def key(seq: str, slot, name: str) -> QtGui.QAction:  # type: ignore[no-untyped-def]
            a = QtGui.QAction(name, self)
            a.setShortcut(QtGui.QKeySequence(seq))
            a.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.lecture_keys = [
            key("Right", self.lesson_dock.advance, "Next lesson step"),
            key("Left", self.lesson_dock.previous, "Previous lesson step"),
            key("Space", self.toggle_play, "Play or pause the Q/K/V animation"),
            *(key(str(n), lambda _=False, h=n - 1: self.pick_head(h), f"Head {n}")
              for n in range(1, 10)),
        ]  # fmt: skip
        self.escape_key = key("Escape", self.leave_presentation, "Leave full screen")
        self.lesson_dock.visibilityChanged.connect(self._update_lecture_keys)
        self.lesson_dock.visibilityChanged.connect(self._lesson_opened_or_closed)
        self._update_lecture_keys()

    def _update_lecture_keys(self, *_: object) -> None:
        on = self._presenter or self.lesson_dock.isVisible()
        for a in self.lecture_keys:
            a.setEnabled(on)
        self.escape_key.setEnabled(self._presenter or self.isFullScreen())

    def start_lesson(self, lesson: int = 0, step: int = 0) -> None:
        """Show the lesson bar and go to a step (0-based)."""
        self.lesson_dock.show()
        self.lesson_dock.raise_()
        self.lesson_dock.go(lesson, step)

    def pick_head(self, head: int) -> None:
        if head >= self.session.n_heads:
            self.show_error(f"there are {self.session.n_heads} heads; key {head + 1} has none")
            return
        self.session.head = head

    def toggle_play(self) -> None:
        """Play or pause the Q/K/V animation (brought forward first)."""
        self.show_panels(["qkv_steps"])
        self.panel("qkv_steps").play.toggle()

    # -- the stage: presenter mode and lessons ------------------------------------------------
    @property
    def staging(self) -> bool:
        """Presenter mode or a lesson: the panels talked about take the whole window."""
        return self._presenter or self._lesson_open

    def _begin_stage(self) -> None:
        """Keep the lecturer's own layout and paragraphs' visibility for the stage's end."""
        # Without the lesson bar that begins it (it is shown before it says so): its place
        # would come back with the layout, beside the panel it had halved.
        bar = self.lesson_dock
        opened = not bar.isHidden()
        with signals_blocked(bar):
            if opened:
                bar.hide()
            self._state_before = self.saveState(SETTINGS_VERSION)
            if opened:
                bar.show()
        # The lecturer or the lesson does the explaining: the panels' paragraphs took half the
        # screen and pushed the plot a step talks about below the fold.
        self._explanations_before = self._explanations
        self.explain_action.setChecked(False)

    def _end_stage(self) -> None:
        self.explain_action.setChecked(self._explanations_before)
        self.lesson_dock.set_sidebar(False)
        self.restoreState(self._state_before, SETTINGS_VERSION)

    def _lesson_opened_or_closed(self, *_: object) -> None:
        is_open = not self.lesson_dock.isHidden()
        if is_open == self._lesson_open:
            return  # a tab change or the window's own visibility, not the lesson's
        was_staging = self.staging
        self._lesson_open = is_open
        if is_open and not was_staging:
            self._begin_stage()  # the step's panels are staged as it is applied
        elif not is_open and not self.staging:
            self._end_stage()
        elif not is_open:  # presenter mode goes on: the panel in front keeps the stage
            self._stage([self.current_panel().panel_id])

    def show_panels(self, panel_ids: Sequence[str]) -> None:
        """Bring panels forward, the first on top; in presenter mode and in a lesson they
        take the stage."""
        if self.staging:
            self._stage(panel_ids)
            return
        for pid in reversed(panel_ids):
            dock = self.docks[pid]
            dock.show()
            dock.raise_()

    def _stage(self, panel_ids: Sequence[str]) -> None:
        """The stage: only these panels, filling the window (side by side when each gets its
        useful width, else as tabs), with the lesson bar, when open, as a strip below them.

        The other docks are hidden, not closed: leaving presenter mode and closing the lesson
        restore the layout the lecturer had (``_end_stage``)."""
        Area = QtCore.Qt.DockWidgetArea
        staged = [self.docks[pid] for pid in panel_ids]
        for dock in staged:  # drawn first: their least sizes follow what they show
            self.panel(dock.objectName()).ensure_drawn()
        for dock in self.docks.values():
            if dock not in staged:
                dock.hide()
        first = staged[0]
        self.addDockWidget(Area.LeftDockWidgetArea, first)  # out of its tab group
        first.show()
        # On a wide screen the lesson goes beside the stage, not below it: below, at 1280 x
        # 720 in presenter type, it left the step's plot 330 px, below the fold.
        sidebar = self.lesson_dock.isVisible() and self.width() >= 1.5 * self.height()
        self.lesson_dock.set_sidebar(sidebar)  # before its width is measured
        room = self.width() - (self._sidebar_width() if sidebar else 0)
        # Side by side when each gets its useful width; otherwise tabs, the first in front
        # (two panels of a lesson step at 1280 x 720 in presenter type each scrolled both ways).
        share = room // len(staged)
        side_by_side = all(
            self.panel(d.objectName()).content.minimumSizeHint().width() <= share for d in staged
        )
        for before, dock in itertools.pairwise(staged):
            if side_by_side:
                self.splitDockWidget(before, dock, QtCore.Qt.Orientation.Horizontal)
            else:
                self.tabifyDockWidget(first, dock)
            dock.show()
        if len(staged) > 1 and side_by_side:
            self.resizeDocks(staged, [share] * len(staged), QtCore.Qt.Orientation.Horizontal)
        # A panel's least width may grow once it is laid out at its share (its plots' axes
        # take their tick labels' widths): tabs then, never a panel scrolled sideways.
        self._side_by_side = staged if len(staged) > 1 and side_by_side else []
        self._stage_first = first
        self._stage_check.start()
        first.raise_()
        if self.lesson_dock.isVisible():
            area = Area.RightDockWidgetArea if sidebar else Area.BottomDockWidgetArea
            self.addDockWidget(area, self.lesson_dock)
            self._fit_lesson_strip(first)  # and again once laid out (_settle_stage)

    def _settle_stage(self, *_: object) -> None:
        """Once the stage is laid out: staged side by side and one scrolls sideways, tabs
        instead, the first in front; the lesson bar at its size again (the first fit ran
        before the dock had moved to its new area)."""
        first = self._stage_first
        if first is None or not self.staging or first.isHidden():
            return
        staged = self._side_by_side
        panels = [self.panel(d.objectName()) for d in staged]
        if staged and any(p.scroll.horizontalScrollBar().maximum() > 0 for p in panels):
            self._side_by_side = []
            for dock in staged[1:]:
                self.tabifyDockWidget(first, dock)
            first.raise_()
        if self.lesson_dock.isVisible():
            self._fit_lesson_strip(first)

    def _sidebar_width(self) -> int:
        """SIDEBAR_SHARE of the window, or what the lesson's buttons need if that is more."""
        bar = self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
        need = self.lesson_dock.body.minimumSizeHint().width() + bar + 8
        return min(max(need, round(SIDEBAR_SHARE * self.width())), round(0.35 * self.width()))

    def _fit_lesson_strip(self, above: QtWidgets.QDockWidget) -> None:
        """The lesson bar as tall as its whole step (below the stage) or a share of the
        width (beside it), the staged panel taking the rest."""
        if not (self.staging and self.lesson_dock.isVisible() and above.isVisible()):
            return
        if self.lesson_dock.sidebar:
            side = self._sidebar_width()
            self.resizeDocks([above, self.lesson_dock], [self.width() - side, side],
                             QtCore.Qt.Orientation.Horizontal)  # fmt: skip
            return
        strip = self.lesson_dock.strip_height(self.width())
        free = self.height() - self.menuBar().height() - self.statusBar().height()
        self.resizeDocks([above, self.lesson_dock], [max(200, free - strip), strip],
                         QtCore.Qt.Orientation.Vertical)  # fmt: skip

    def set_full_screen(self, on: bool) -> None:
        if on:
            if not self.isFullScreen():
                self._maximized_before = self.isMaximized()
            self.showFullScreen()
        elif getattr(self, "_maximized_before", False):
            self.showMaximized()  # back to the window the lecturer had, not a smaller one
        else:
            self.showNormal()
        with signals_blocked(self.full_screen_action):
            self.full_screen_action.setChecked(on)
        self._update_lecture_keys()

    def set_presenter(self, on: bool) -> None:
        """Projector settings: large text and thick lines; the user's own size comes back."""
        if on == self._presenter:
            return
        was_staging = self.staging
        self._presenter = on
        if on:
            if not was_staging:
                self._begin_stage()
            self._font_before = theme_manager().font_pt
            theme_manager().apply(font_pt=max(PRESENTER_FONT_PT, self._font_before))
            self.controller.result_ready.connect(self._thicken_later)
        else:
            theme_manager().apply(font_pt=getattr(self, "_font_before", 10))
            self.controller.result_ready.disconnect(self._thicken_later)
            if not self.staging:
                self._end_stage()
        if self.staging:
            # After the new text size has reached the panels' size hints.
            QtCore.QTimer.singleShot(0, self, lambda: self.staging and self._stage(
                self.lesson_dock.step.panels if self._lesson_open
                else [self.current_panel().panel_id]))  # fmt: skip
        self._thicken_later()
        with signals_blocked(self.presenter_action):
            self.presenter_action.setChecked(on)
        self._update_lecture_keys()

    @property
    def presenter(self) -> bool:
        return self._presenter

    def _thicken_later(self, *_: object) -> None:
        # After the panels have drawn this result with their own pens. The window is the
        # timer's context: a window deleted before the timer fires cancels it.
        QtCore.QTimer.singleShot(
            0, self, lambda: thicken_lines(self, 2.5 if self._presenter else 1)
        )

    def leave_presentation(self) -> None:
        self.set_presenter(False)
        self.set_full_screen(False)

    def open_quiz(self, lesson_id: str) -> None:
        from attnviz.gui.quiz_dialog import QuizDialog

        dialog = QuizDialog(lesson_id, self)
        dialog.setModal(False)
        dialog.show()
        self.quiz_dialog = dialog
