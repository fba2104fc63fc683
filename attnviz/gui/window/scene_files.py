"""Saved scenes in the main window: save, open, and the recent list."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from attnviz.gui.window.docks import SETTINGS_VERSION
from attnviz.state.scene_file import (
    SCENE_SUFFIX,
    SceneFileError,
    apply_scene,
    load_scene,
    save_scene,
)

__all__ = ["SceneFiles"]

MAX_RECENT = 8
SCENE_FILTER = f"attnviz scenes (*{SCENE_SUFFIX});;All files (*)"


class SceneFiles:
    """Main-window part: scene files (the session and the layout) and the recent list."""

    # -- saved scenes ----------------------------------------------------------------------
    def recent_scenes(self) -> list[str]:
        """Scene files opened or saved lately, newest first (kept in QSettings)."""
        value = self.settings.value("recent_scenes", [])
        if isinstance(value, str):  # QSettings gives one entry back as a bare string
            value = [value]
        return [str(v) for v in (value or []) if v][:MAX_RECENT]

    def _remember(self, path: Path) -> None:
        entries = [str(path), *(p for p in self.recent_scenes() if p != str(path))]
        self.settings.setValue("recent_scenes", entries[:MAX_RECENT])

    def _fill_recent(self) -> None:
        menu = self.recent_menu
        menu.clear()
        entries = self.recent_scenes()
        for entry in entries:
            a = menu.addAction(Path(entry).name)
            a.setToolTip(entry)
            a.setStatusTip(entry)
            a.triggered.connect(lambda _=False, e=entry: self.open_scene(e))
        if not entries:
            menu.addAction("(none yet)").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear list").triggered.connect(
                lambda: self.settings.setValue("recent_scenes", [])
            )

    def ask_save_scene(self) -> Path | None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save scene", f"scene{SCENE_SUFFIX}", SCENE_FILTER
        )
        if not path:
            return None
        if not path.endswith(SCENE_SUFFIX):
            path += SCENE_SUFFIX
        return self.save_scene(path)

    def ask_open_scene(self) -> bool:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open scene", "", SCENE_FILTER)
        return bool(path) and self.open_scene(path)

    def save_scene(self, path: str | Path) -> Path | None:
        """Write the session and the window layout to a ``.attnviz`` file."""
        try:
            out = save_scene(self.session, path, bytes(self.saveState(SETTINGS_VERSION).data()))
        except SceneFileError as exc:
            self.show_error(f"Could not save the scene: {exc}")
            return None
        self._remember(out.resolve())
        self.say(f"Saved scene {out}", 8000)
        return out

    def open_scene(self, path: str | Path) -> bool:
        """Show a saved scene; a file that fails any check changes nothing and says why."""
        try:
            sf = load_scene(path)
            apply_scene(self.session, sf)
        except SceneFileError as exc:
            self.show_error(f"Could not open the scene: {exc}")
            return False
        if sf.layout:
            self.restoreState(QtCore.QByteArray(sf.layout), SETTINGS_VERSION)
        self._remember(Path(path).expanduser().resolve())
        self.say(f"Opened scene {Path(path).name}", 8000)
        return True
