"""Light and dark themes, projector font sizes, and colour maps.

Colour maps are perceptually uniform and readable with the common colour-vision deficiencies:
viridis or cividis for probabilities (0 to 1), CET-CBD1 (a colour-blind-safe diverging map)
for signed numbers such as scores and the entries of Q, K and V.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["DIVERGING", "SEQUENTIAL_MAPS", "THEMES", "Theme", "ThemeManager", "theme_manager"]

SEQUENTIAL_MAPS = ("viridis", "cividis")
DIVERGING = "CET-CBD1"


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    text: str
    mid: str
    highlight: str
    plot_background: str
    plot_foreground: str
    accent: str  # selection outlines, lines of the token panel


THEMES = {
    "light": Theme("light", "#f3f3f3", "#ffffff", "#1a1a1a", "#c8c8c8", "#2f6fb3",
                   "#ffffff", "#202020", "#d1495b"),
    "dark": Theme("dark", "#262729", "#1c1d1f", "#e8e8e8", "#4a4b4d", "#3d7fc4",
                  "#1c1d1f", "#e0e0e0", "#ff7f6e"),
}  # fmt: skip


class ThemeManager(QtCore.QObject):
    """The current theme, colour map and font size; ``changed`` tells widgets to restyle."""

    changed = QtCore.Signal()

    def __init__(self) -> None:
        super().__init__()
        self.theme = THEMES["light"]
        self.colormap_name = "viridis"
        self.font_pt = 10

    def colormap(self) -> pg.ColorMap:
        return pg.colormap.get(self.colormap_name)

    def diverging(self) -> pg.ColorMap:
        return pg.colormap.get(DIVERGING)

    def apply(
        self,
        theme: str | None = None,
        colormap: str | None = None,
        font_pt: int | None = None,
    ) -> None:
        """Switch theme, colour map and/or font size for the whole application."""
        if theme is not None:
            if theme not in THEMES:
                raise ValueError(f"theme must be one of {list(THEMES)}, got {theme!r}")
            self.theme = THEMES[theme]
        if colormap is not None:
            if colormap not in SEQUENTIAL_MAPS:
                raise ValueError(f"colour map must be one of {SEQUENTIAL_MAPS}, got {colormap!r}")
            self.colormap_name = colormap
        if font_pt is not None:
            self.font_pt = max(6, min(int(font_pt), 40))
        app = QtWidgets.QApplication.instance()
        if isinstance(app, QtWidgets.QApplication):
            app.setStyle("Fusion")
            app.setPalette(self.palette())
            font = app.font()
            font.setPointSize(self.font_pt)
            app.setFont(font)
        pg.setConfigOptions(
            background=self.theme.plot_background,
            foreground=self.theme.plot_foreground,
            antialias=True,
            imageAxisOrder="row-major",
        )
        self.changed.emit()

    def palette(self) -> QtGui.QPalette:
        t = self.theme
        p = QtGui.QPalette()
        role = QtGui.QPalette.ColorRole
        for r, c in (
            (role.Window, t.window),
            (role.Base, t.base),
            (role.AlternateBase, t.window),
            (role.Text, t.text),
            (role.WindowText, t.text),
            (role.ButtonText, t.text),
            (role.Button, t.window),
            (role.ToolTipBase, t.base),
            (role.ToolTipText, t.text),
            (role.Highlight, t.highlight),
            (role.HighlightedText, "#ffffff"),
            (role.Mid, t.mid),
            (role.PlaceholderText, t.mid),
        ):
            p.setColor(r, QtGui.QColor(c))
        return p


_manager: ThemeManager | None = None


def theme_manager() -> ThemeManager:
    """The application's one theme manager (created on first use)."""
    global _manager
    if _manager is None:
        _manager = ThemeManager()
        pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    return _manager
