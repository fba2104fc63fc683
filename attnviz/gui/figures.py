"""A panel's figure for a slide: composed from what the panel shows, not grabbed from the window.

matplotlib keeps a figure apart from the window that shows it; here a page is built for each
export. A fresh copy of the panel draws the latest result off screen, then hands over the parts
its figure is made of (``Panel.figure_parts``: plots, tables, numbers in words) and the
settings in words (``Panel.figure_caption``); the page lays them out under a title, with the
caption below, at the slide's size (13.33 x 7.5 in for 16:9) and type no smaller than
``MIN_SLIDE_PT``. No control reaches a page: only the parts a panel names are placed.
"""

from __future__ import annotations

import re

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.export import MIN_SLIDE_PT, FigureSpec
from attnviz.gui.controller import Controller
from attnviz.gui.lifetime import dispose, settle
from attnviz.gui.panels.base import Panel
from attnviz.gui.theme import style_plots, theme_manager
from attnviz.gui.widgets.token_axis import TokenAxis

__all__ = ["Page", "compose_page"]

MARGIN = 28  # px around a page's content (0.3 in)


class Page(QtWidgets.QWidget):
    """One slide. Keeps the panel copy that drew its parts alive as long as it lives."""

    def __init__(self, panel: Panel, holder: QtWidgets.QWidget) -> None:
        super().__init__()
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
        self.setObjectName("figure_page")
        self.panel = panel
        self._holder = holder
        self.title_label: QtWidgets.QLabel | None = None
        self.caption_label: QtWidgets.QLabel | None = None

    def release(self) -> None:
        """Delete the page and the panel copy that drew it."""
        dispose(self._holder)
        dispose(self)


def _text(text: str, pt: float, bold: bool = False) -> QtWidgets.QLabel:
    # Nothing on a slide is small print: <small> would take a line, and a subscript its
    # letters, below MIN_SLIDE_PT ("W<sub>shuffled</sub>" was 9.75 pt); W_shuffled instead.
    text = text.replace("<small>", "").replace("</small>", "")
    text = re.sub(r"<sub>(.*?)</sub>", r"_\1", text)
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(QtCore.Qt.TextFormat.AutoText)
    font = label.font()
    font.setPointSizeF(pt)
    font.setBold(bold)
    label.setFont(font)
    return label


def _whole_table(view: QtWidgets.QTableView) -> None:
    """A table shows every row and column, no scroll bars: at least the size of its content.

    Its headers are drawn flat: Fusion paints header sections with a gradient between an HSV
    and an RGB colour, which Qt's PDF engine cannot store ("unable to create a gradient
    between colors of different spec", once per section)."""
    t = theme_manager().theme
    view.setStyleSheet(
        f"QTableCornerButton::section {{ background-color: {t.window}; border: none; }} "
        f"QHeaderView::section {{ background-color: {t.window}; color: {t.text}; "
        f"border: none; border-right: 1px solid {t.mid}; border-bottom: 1px solid {t.mid}; "
        "padding: 2px 6px; }"
    )
    view.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.resizeColumnsToContents()
    view.resizeRowsToContents()
    frame = 2 * view.frameWidth()
    vh, hh = view.verticalHeader(), view.horizontalHeader()
    width = (vh.width() if vh.isVisible() else 0) + hh.length() + frame
    height = (hh.height() if hh.isVisible() else 0) + vh.length() + frame
    view.setFixedSize(width, height)
    holder = view.parentWidget()
    if holder is not None and not isinstance(holder, Page):  # a titled table: no spare height
        holder.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Maximum
        )


def compose_page(
    panel_cls: type[Panel],
    controller: Controller,
    spec: FigureSpec,
    *,
    title: str | None = None,
    caption: str | None = None,
    tab: str | None = None,
) -> Page:
    """The slide of ``panel_cls`` for the controller's latest result.

    ``title`` and ``caption`` replace the spec's and the panel's own; ``tab`` opens one of the
    panel's sub-views first (a lesson step's). The theme and type size are the caller's
    (``exporters.slide_theme``).
    """
    if controller.latest is None:
        controller.compute_now()
    holder = QtWidgets.QWidget()
    holder.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
    panel = panel_cls(controller)
    QtWidgets.QVBoxLayout(holder).addWidget(panel)
    page = Page(panel, holder)
    try:
        _lay_out(page, controller, spec, title, caption, tab)
    except BaseException:
        page.release()  # nothing half-made left for the garbage collector to tear down
        raise
    return page


def _lay_out(
    page: Page,
    controller: Controller,
    spec: FigureSpec,
    title: str | None,
    caption: str | None,
    tab: str | None,
) -> None:
    panel, holder = page.panel, page._holder
    width, height = spec.size
    holder.resize(width, height)
    holder.show()
    panel.set_explanation_visible(False)
    if tab is not None:
        panel.show_tab(tab)
    panel.result = controller.latest
    panel.redraw(controller.latest)
    settle()

    theme = theme_manager().theme
    palette = page.palette()  # the plots' own background: one surface, as on a slide
    palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(theme.plot_background))
    palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(theme.plot_foreground))
    page.setPalette(palette)
    page.setAutoFillBackground(spec.background != "transparent")
    lay = QtWidgets.QVBoxLayout(page)
    lay.setContentsMargins(MARGIN, MARGIN * 3 // 4, MARGIN, MARGIN * 3 // 4)
    lay.setSpacing(10)
    pt = float(spec.font_pt)
    # Words first: taking a tab's page out of its QTabWidget moves the current tab.
    heading = title if title is not None else (spec.title or panel.figure_title())
    words = caption if caption is not None else (spec.caption or panel.figure_caption())
    if heading:
        page.title_label = _text(heading, pt * 1.35, bold=True)
        page.title_label.setObjectName("figure_title")
        lay.addWidget(page.title_label)
    any_plot = False
    all_tables: list[QtWidgets.QTableView] = []
    for row in panel.figure_parts():
        line = QtWidgets.QHBoxLayout()
        line.setSpacing(16)
        has_plot = False
        for entry in row:
            part, stretch = entry if isinstance(entry, tuple) else (entry, 1)
            if isinstance(part, str):
                line.addWidget(_text(part, pt), stretch)
                continue
            tables = [part] if isinstance(part, QtWidgets.QTableView) else []
            tables += part.findChildren(QtWidgets.QTableView)
            if not tables:  # a plot or drawing takes the height left; a table its own
                has_plot = any_plot = True
            line.addWidget(part, stretch)  # moved out of the panel copy onto the page
            part.show()
            if isinstance(part, pg.GraphicsView):
                # The page's size is fixed: a plot takes its share (the panel's least sizes
                # are for a dock that can scroll); the tests check that every label fits.
                part.setMinimumSize(0, 0)
            readout = getattr(part, "readout", None)
            if isinstance(readout, pg.LabelItem):  # "hover a cell": nothing to hover on paper
                readout.setText("")
                readout.setMaximumHeight(0)
            all_tables += tables
        lay.addLayout(line, 1 if has_plot else 0)
    if not any_plot:
        lay.addStretch(1)
    if words:
        page.caption_label = _text(words, pt)
        page.caption_label.setObjectName("figure_caption")
        lay.addWidget(page.caption_label)
    for table in all_tables:
        _whole_table(table)
    # Fixed: a top-level widget's layout would otherwise grow the page to what its
    # height-for-width parts ask (805 px of a 720 px slide, the caption off the page).
    page.setFixedSize(width, height)
    page.show()
    settle()
    # A drawing whose height follows its width (the memory diagram) gets exactly that: the
    # plots beside and above it share what is left.
    for part in page.findChildren(QtWidgets.QWidget):
        drawing = not isinstance(part, QtWidgets.QLabel | pg.GraphicsView)
        if part.parentWidget() is page and drawing and part.hasHeightForWidth():
            part.setFixedHeight(part.heightForWidth(part.width()))
    settle()
    # Token labels may shrink to fit their rows, but on a slide never below MIN_SLIDE_PT.
    for view in page.findChildren(pg.GraphicsView):
        for item in view.scene().items() if view.scene() is not None else ():
            if isinstance(item, TokenAxis):
                item.min_pt = MIN_SLIDE_PT
                item.fit()
    panel.redraw(controller.latest)  # at the page's size: tiles, turned labels, line widths
    style_plots(page)  # the parts left the panel: its redraw styles only what it still holds
    for view in page.findChildren(pg.GraphicsView):
        view.setMinimumSize(0, 0)  # the redraw gave them the panel's least sizes again
    settle()
    for table in all_tables:  # measured last, in the page's type
        _whole_table(table)
    settle()
    panel.detach()  # this page keeps this result, whatever the session does next (a deck)
