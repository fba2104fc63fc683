"""Export wiring of the main window: figures and data of a panel, lesson slides, the window."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtWidgets

from attnviz.export import ExportError, FigureSpec
from attnviz.gui.controller import Controller
from attnviz.gui.export_dialog import FigureDialog, ask_data_path
from attnviz.gui.exporters import (
    export_deck,
    export_panel_data,
    export_panel_figure,
    export_widget_figure,
    lesson_slides,
)
from attnviz.gui.panels import Panel
from attnviz.state.session import Session

__all__ = ["Exports"]


class Exports:
    """Main-window part: where to write (dialogs) and what (figures, data, slides)."""

    # -- export ----------------------------------------------------------------------------
    def current_panel(self) -> Panel:
        """The panel holding keyboard focus, else the one most recently brought forward."""
        w = QtWidgets.QApplication.focusWidget()
        while w is not None:
            if isinstance(w, Panel):
                return w
            w = w.parentWidget()
        current = getattr(self, "_current", None)
        return self.panel(current if current in self.docks else next(iter(self.docks)))

    def _save(self, write: Callable[[], Path]) -> Path | None:
        """Run one export; say where it went, or why it failed (nothing else changes)."""
        try:
            out = write()
        except ExportError as exc:
            self.show_error(f"Export failed: {exc}")
            return None
        self.say(f"Saved {out}", 8000)
        return out

    def _ask_figure(self, dialog: FigureDialog) -> tuple[FigureSpec, Path] | None:
        """The figure settings and file chosen in ``dialog``, or None if cancelled."""
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return None
        path = dialog.ask_path()
        if path is None:
            return None
        try:
            return dialog.spec(), path
        except ExportError as exc:
            self.show_error(f"Export failed: {exc}")
            return None

    def export_panel_figure(self, panel: Panel) -> Path | None:
        chosen = self._ask_figure(FigureDialog(panel.title, panel.panel_id, self))
        if chosen is None:
            return None
        spec, path = chosen
        return self._save(lambda: export_panel_figure(type(panel), self.controller, spec, path))

    def export_panel_data(self, panel: Panel) -> Path | None:
        path = ask_data_path(self, panel.panel_id)
        return None if path is None else self._save(lambda: export_panel_data(panel, path))

    def export_lesson_slides(self, path: str | Path | None = None) -> Path | None:
        """Every step of the lesson the lesson bar shows, one PDF page each, computed in a
        session of its own (the lecturer's stays as it is)."""
        from attnviz.lessons.course import COURSE

        lesson = self.lesson_dock.lesson_index
        if path is None:
            name = f"lesson-{lesson + 1}.pdf"
            chosen, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Export lesson as slides", name, "PDF document (*.pdf)"
            )
            if not chosen:
                return None
            path = chosen
        controller = Controller(Session())
        spec = FigureSpec(format="pdf", title=COURSE[lesson].title)
        try:
            return self._save(lambda: export_deck(lesson_slides(controller, lesson, spec),
                                                  spec, path))  # fmt: skip
        finally:
            controller.wait()

    def export_window_figure(self) -> Path | None:
        dialog = FigureDialog("whole window", "attnviz_window", self)
        dialog.style_box.setCurrentIndex(dialog.style_box.findData("screen"))
        dialog.style_box.setEnabled(False)  # the window is exported as it is on screen
        chosen = self._ask_figure(dialog)
        if chosen is None:
            return None
        spec, path = chosen
        return self._save(lambda: export_widget_figure(self, spec, path))
