"""Light and dark themes, projector font sizes, and colour maps.

Colour maps are perceptually uniform and readable with the common colour-vision deficiencies:
viridis or cividis for probabilities (0 to 1), CET-CBD1 (a colour-blind-safe diverging map)
for signed numbers such as scores and the entries of Q, K and V.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

__all__ = [
    "DIVERGING",
    "SEQUENTIAL_MAPS",
    "THEMES",
    "Theme",
    "ThemeManager",
    "Typography",
    "fit_title_row",
    "style_plots",
    "theme_manager",
]

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


# Text and lines that follow the theme: any of these colours (or none set) is "the foreground"
# and is repainted on a theme switch; any other colour (an accent, a series) was chosen on purpose.
_FOREGROUNDS = frozenset(c for t in THEMES.values() for c in (t.plot_foreground, t.text))


@dataclass(frozen=True)
class Typography:
    """Every text size, from one base size, as seaborn's plotting contexts scale one base.

    ``base`` is the application font (10 pt, presenter 18 pt, Ctrl+/Ctrl− in between); titles,
    axis titles, tick labels and labels inside plots are fixed ratios of it, so one change
    rescales all of them together.
    """

    base: int

    @property
    def title(self) -> int:
        return round(self.base * 1.2)

    @property
    def label(self) -> int:
        return self.base

    @property
    def tick(self) -> int:
        # Tick labels are the tokens themselves here, read from the back row: never smaller.
        return self.base

    def font(self, pt: int, bold: bool = False) -> QtGui.QFont:
        f = QtGui.QFont(QtWidgets.QApplication.font())
        f.setPointSize(pt)
        f.setBold(bold)
        return f


class ThemeManager(QtCore.QObject):
    """The current theme, colour map and font size; ``changed`` tells widgets to restyle."""

    changed = QtCore.Signal()
    # Emitted right after ``changed``: for what styles every plot of a widget at once
    # (style_plots), once the widgets' own restyling has run.
    restyled = QtCore.Signal()

    def __init__(self) -> None:
        super().__init__()
        self.theme = THEMES["light"]
        self.colormap_name = "viridis"
        self.font_pt = 10

    @property
    def typography(self) -> Typography:
        return Typography(self.font_pt)

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
            if not isinstance(app.style(), _LegibleStyle):
                app.setStyle(_LegibleStyle("Fusion"))
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
        self.restyled.emit()  # after the widgets' own restyling (panels then run style_plots)

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


class _LegibleStyle(QtWidgets.QProxyStyle):
    """Fusion, with the frame of a check box or radio button drawn halfway between the text and
    the window colour: Fusion draws it a shade darker than the window, which on the dark theme
    left an unchecked box invisible."""

    def drawPrimitive(self, element, option, painter, widget=None) -> None:  # type: ignore[no-untyped-def]
        super().drawPrimitive(element, option, painter, widget)
        PE = QtWidgets.QStyle.PrimitiveElement
        if element not in (PE.PE_IndicatorCheckBox, PE.PE_IndicatorRadioButton):
            return
        t = theme_manager().theme
        text, window = QtGui.QColor(t.text), QtGui.QColor(t.window)
        frame = QtGui.QColor(
            (text.red() + window.red()) // 2,
            (text.green() + window.green()) // 2,
            (text.blue() + window.blue()) // 2,
        )
        painter.save()
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setPen(QtGui.QPen(frame, 1.2))
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        rect = QtCore.QRectF(option.rect).adjusted(0.6, 0.6, -0.6, -0.6)
        if element == PE.PE_IndicatorRadioButton:
            painter.drawEllipse(rect)
        else:
            painter.drawRoundedRect(rect, 2, 2)
        painter.restore()


def _is_foreground(colour: object) -> bool:
    if colour is None:
        return True
    try:
        name = pg.mkColor(colour).name()
    except Exception:  # pyqtgraph raises a bare Exception for what it cannot read
        return False
    return name in _FOREGROUNDS


def style_plots(root: QtWidgets.QWidget) -> int:
    """Give every plot under ``root`` the current theme's colours and the typography's sizes.

    Backgrounds, axis lines, tick labels, axis titles, plot titles, labels and text items in
    plots: pyqtgraph fixes them when an item is made, so a theme switch or a new font size would
    otherwise reach only new plots. Colours other than the foreground (accents, series) are
    left alone. Each panel runs it after every draw and on ``ThemeManager.restyled``. Returns
    the number of plot views styled.
    """
    tm = theme_manager()
    t, ty = tm.theme, tm.typography
    fg = t.plot_foreground
    fg_name = pg.mkColor(fg).name()
    tick_font = ty.font(ty.tick)
    label_size = f"{ty.label}pt"
    views = root.findChildren(pg.GraphicsView)
    if isinstance(root, pg.GraphicsView):
        views.append(root)
    for view in views:
        if view.backgroundBrush().style() != QtCore.Qt.BrushStyle.NoBrush:
            view.setBackground(t.plot_background)  # (an export's transparent view stays so)
        scene = view.scene()
        if scene is None:
            continue
        plots = [i for i in scene.items() if isinstance(i, pg.PlotItem)]
        titles = {id(p.titleLabel) for p in plots}
        for item in scene.items():
            if isinstance(item, pg.AxisItem):
                # Only what differs: each set drops the axis's drawn picture, and redrawing
                # an axis of 2,048 token labels costs more than the draw that asked.
                if item.pen().color().name() != fg_name:
                    item.setPen(fg)
                if item.textPen().color().name() != fg_name:
                    item.setTextPen(fg)
                if item.style.get("tickFont") != tick_font:
                    item.setStyle(tickFont=tick_font)
                style = dict(item.labelStyle)
                style["color"] = fg if _is_foreground(style.get("color")) else style["color"]
                style["font-size"] = label_size
                if style != item.labelStyle:
                    item.labelStyle = style
                    item._updateLabel()
            elif isinstance(item, pg.LabelItem):
                size = ty.title if id(item) in titles else ty.label
                opts = {"size": f"{size}pt"}
                if _is_foreground(item.opts.get("color")):
                    opts["color"] = fg
                if any(item.opts.get(k) != v for k, v in opts.items()):
                    item.setText(item.text, **opts)
            elif isinstance(item, pg.TextItem):
                font = item.textItem.font()
                if font.pointSize() != ty.label:
                    font.setPointSize(ty.label)
                    item.setFont(font)
                if _is_foreground(item.color):
                    item.setColor(fg)
        for plot in plots:
            fit_title_row(plot)
    return len(views)


def fit_title_row(plot: pg.PlotItem) -> None:
    """Make a plot's title row as tall as its title. pyqtgraph fixes it at 30 px: a title in
    presenter type, or on two lines, was cut at the top of its view."""
    label = plot.titleLabel
    if not label.text or label.maximumHeight() == 0:
        return  # no title: pyqtgraph keeps the row at 0
    need = math.ceil(label.item.boundingRect().height())
    if label.maximumHeight() != need:
        label.setMaximumHeight(need)
        plot.layout.setRowFixedHeight(0, need)


_manager: ThemeManager | None = None


def theme_manager() -> ThemeManager:
    """The application's one theme manager (created on first use)."""
    global _manager
    if _manager is None:
        _manager = ThemeManager()
        pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    return _manager
