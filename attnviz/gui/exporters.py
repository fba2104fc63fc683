"""Render panels and the window to PNG, SVG and PDF; save the numbers behind a panel.

Facts this relies on (ENVIRONMENT.md): pyqtgraph's own SVG exporter fails on PySide6 >= 6.11, so
figures are painted through ``QWidget.render`` into a QImage, a QSvgGenerator or a QPdfWriter —
text stays text in SVG and PDF, heatmaps are embedded as images. PDF uses a resolution of 96
dpi and a page the size of the figure (with Qt's default resolution the axes land in the wrong
place), and ``LosslessImageRendering`` (without it Qt stores heatmaps as JPEG).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from attnviz.export import ExportError, FigureSpec, format_for, safe_write, write_data
from attnviz.export.svg import bake_cosmetic_strokes
from attnviz.gui.controller import Controller
from attnviz.gui.figures import Page, compose_page
from attnviz.gui.lifetime import dispose
from attnviz.gui.panels import all_panels
from attnviz.gui.panels.base import Panel
from attnviz.gui.theme import theme_manager

__all__ = [
    "export_deck",
    "export_panel_data",
    "export_panel_figure",
    "export_widget_figure",
    "figure_frame",
    "lesson_slides",
    "panel_slides",
    "slide_theme",
]

Hint = QtGui.QPainter.RenderHint


@contextmanager
def slide_theme(spec: FigureSpec) -> Iterator[None]:
    """The slide's theme and type size while its pages are built; the user's own after."""
    tm = theme_manager()
    before = (tm.theme.name, tm.colormap_name, tm.font_pt)
    if spec.style == "slide":
        tm.apply(theme=spec.theme, font_pt=spec.font_pt)
    try:
        yield
    finally:
        if spec.style == "slide":
            tm.apply(theme=before[0], colormap=before[1], font_pt=before[2])


def figure_frame(
    panel_cls: type[Panel], controller: Controller, spec: FigureSpec
) -> QtWidgets.QWidget:
    """A fresh, unshown copy of a panel drawn from the controller's latest result, as it is on
    screen ("screen" style), under the optional title and above the optional caption."""
    frame = QtWidgets.QWidget()
    frame.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
    frame.setObjectName("figure_frame")
    lay = QtWidgets.QVBoxLayout(frame)
    lay.setContentsMargins(12, 12, 12, 12)
    if spec.title:
        title = QtWidgets.QLabel(spec.title)
        title.setObjectName("figure_title")
        f = title.font()
        f.setPointSize(round(spec.font_pt * 1.4))
        f.setBold(True)
        title.setFont(f)
        lay.addWidget(title)
    panel = panel_cls(controller)
    lay.addWidget(panel, 1)
    if spec.caption:
        caption = QtWidgets.QLabel(spec.caption)
        caption.setObjectName("figure_caption")
        caption.setWordWrap(True)
        lay.addWidget(caption)
    frame.panel = panel  # type: ignore[attr-defined]
    frame.resize(*spec.size)
    frame.show()  # lays out without appearing (WA_DontShowOnScreen)
    QtWidgets.QApplication.processEvents()
    if controller.latest is not None:
        panel.result = controller.latest
        panel.redraw(controller.latest)
    if spec.background == "transparent":
        for view in frame.findChildren(QtWidgets.QGraphicsView):
            if hasattr(view, "setBackground"):
                view.setBackground(None)
        frame.setAutoFillBackground(False)
    QtWidgets.QApplication.processEvents()
    return frame


def _paint(widget: QtWidgets.QWidget, device: QtGui.QPaintDevice, spec: FigureSpec) -> None:
    painter = QtGui.QPainter(device)
    try:
        _paint_with(painter, widget, spec)
    finally:
        painter.end()


def _paint_with(painter: QtGui.QPainter, widget: QtWidgets.QWidget, spec: FigureSpec) -> None:
    painter.setRenderHint(Hint.Antialiasing)
    painter.setRenderHint(Hint.TextAntialiasing)
    painter.setRenderHint(Hint.LosslessImageRendering)
    flags = QtWidgets.QWidget.RenderFlag.DrawChildren
    if spec.background == "white":
        # A slide's own background (a dark slide stays dark); white for a screen figure.
        colour = (
            widget.palette().color(QtGui.QPalette.ColorRole.Window)
            if spec.style == "slide"
            else QtGui.QColor("white")
        )
        painter.fillRect(QtCore.QRect(0, 0, widget.width(), widget.height()), colour)
    # PySide6 6.12 needs the target offset spelled out (render(painter) raises TypeError).
    widget.render(painter, QtCore.QPoint(), QtGui.QRegion(), flags)


def _write_figure(
    pages: QtWidgets.QWidget | list[QtWidgets.QWidget], spec: FigureSpec, path: str | Path
) -> Path:
    """Write one page (PNG, SVG or PDF) or several (a PDF deck, one page each)."""
    pages = pages if isinstance(pages, list) else [pages]
    if not pages:
        raise ExportError("nothing to export: no pages")
    w, h = pages[0].width(), pages[0].height()
    fmt = spec.format
    if len(pages) > 1 and fmt != "pdf":
        raise ExportError(f"a deck of {len(pages)} pages needs PDF, not {fmt.upper()}")

    def write(tmp: Path) -> None:
        if fmt == "png":
            ratio = spec.pixel_ratio
            img = QtGui.QImage(
                round(w * ratio), round(h * ratio), QtGui.QImage.Format.Format_ARGB32
            )
            img.setDevicePixelRatio(ratio)
            img.fill(QtCore.Qt.GlobalColor.transparent)
            if spec.dpi is not None:
                dots_per_metre = round(spec.dpi / 0.0254)
                img.setDotsPerMeterX(dots_per_metre)
                img.setDotsPerMeterY(dots_per_metre)
            _paint(pages[0], img, spec)
            if not img.save(str(tmp), "PNG"):
                raise OSError(f"Qt could not encode the PNG ({w}x{h} at {ratio}x)")
        elif fmt == "svg":
            gen = QtSvg.QSvgGenerator()
            gen.setFileName(str(tmp))
            gen.setSize(QtCore.QSize(w, h))
            gen.setViewBox(QtCore.QRect(0, 0, w, h))
            gen.setTitle(spec.title or "attnviz figure")
            gen.setDescription(spec.caption or "exported by attnviz")
            _paint(pages[0], gen, spec)
            del gen  # flush the file before reading it back
            tmp.write_text(bake_cosmetic_strokes(tmp.read_text(encoding="utf-8")), encoding="utf-8")
        else:  # pdf
            writer = QtGui.QPdfWriter(str(tmp))
            writer.setResolution(96)
            writer.setPageSize(
                QtGui.QPageSize(QtCore.QSizeF(w * 72 / 96, h * 72 / 96), QtGui.QPageSize.Unit.Point)
            )
            writer.setPageMargins(QtCore.QMarginsF(0, 0, 0, 0))
            writer.setTitle(spec.title or "attnviz figure")
            writer.setCreator("attnviz")
            painter = QtGui.QPainter(writer)
            try:
                for i, page in enumerate(pages):
                    if i:
                        writer.newPage()
                    _paint_with(painter, page, spec)
            finally:
                painter.end()

    return safe_write(path, write)


def export_panel_figure(
    panel_cls: type[Panel], controller: Controller, spec: FigureSpec, path: str | Path
) -> Path:
    """Render panel ``panel_cls`` for the controller's latest result to ``path``: its slide
    (composed, ``figures.compose_page``) or, in "screen" style, the panel as it is."""
    format_for(path, spec.format, kind="figure")
    if controller.latest is None:
        controller.compute_now()
    with slide_theme(spec):
        if spec.style == "slide":
            page = compose_page(panel_cls, controller, spec)
            try:
                return _write_figure(page, spec, path)
            finally:
                page.release()
        frame = figure_frame(panel_cls, controller, spec)
        try:
            return _write_figure(frame, spec, path)
        finally:
            frame.panel.detach()  # type: ignore[attr-defined]  # no more session callbacks
            dispose(frame)  # deleted now, not at some later event-loop pass


def export_deck(slides: list[Callable[[], Page]], spec: FigureSpec, path: str | Path) -> Path:
    """Write a multi-page PDF: each entry of ``slides`` makes one page when called (after it
    has set the session for it: a lesson step, say)."""
    format_for(path, "pdf", kind="figure")
    if spec.format != "pdf":
        raise ExportError("a deck is a PDF: use a .pdf file name")
    pages: list[Page] = []
    with slide_theme(spec):
        try:
            for make in slides:
                pages.append(make())
            return _write_figure(list(pages), spec, path)
        finally:
            for page in pages:
                page.release()


def panel_slides(
    controller: Controller, panel_classes: list[type[Panel]], spec: FigureSpec
) -> list[Callable[[], Page]]:
    """A deck's pages: each panel's slide for the controller's latest result."""
    return [lambda cls=cls: compose_page(cls, controller, spec) for cls in panel_classes]


def lesson_slides(
    controller: Controller, lesson: int, spec: FigureSpec
) -> list[Callable[[], Page]]:
    """A deck's pages: every step of lesson ``lesson`` (0-based), each with the session set as
    the step says, its first panel and sub-tab, the step's title over it and its text as the
    caption. Sets ``controller.session``: give it a session of its own."""
    from attnviz.gui.lesson_dock import apply_step_settings
    from attnviz.lessons.course import COURSE

    chapter = COURSE[lesson]
    panels = all_panels()

    def slide(index: int) -> Page:
        step = chapter.steps[index]
        apply_step_settings(controller.session, step)
        controller.compute_now()
        title = f"{chapter.title} · {index + 1}/{len(chapter.steps)}: {step.title}"
        return compose_page(panels[step.panels[0]], controller, spec, tab=step.tab,
                            title=title, caption=step.slide_text)  # fmt: skip

    return [lambda i=i: slide(i) for i in range(len(chapter.steps))]


def export_widget_figure(widget: QtWidgets.QWidget, spec: FigureSpec, path: str | Path) -> Path:
    """Render a widget as it is on screen (the whole window, say) to ``path``."""
    format_for(path, spec.format, kind="figure")
    return _write_figure(widget, dataclasses.replace(spec, style="screen"), path)


def export_panel_data(panel: Panel, path: str | Path, fmt: str | None = None) -> Path:
    """Write the numbers behind ``panel`` (CSV, NPZ or JSON by extension or ``fmt``)."""
    panel.ensure_drawn()
    data = panel.export_data()
    if not data:
        raise ExportError(f"the {panel.title} panel shows no numbers to export")
    return write_data(data, path, fmt)
