"""What every panel is: a registered widget that draws results and writes the session.

A panel carries ``panel_id`` (its module's name), ``title`` and ``default_area`` as class
attributes, is built from a controller, draws every ``Result`` it is handed, and never computes
maths: what it shows comes from the compute core through the pipeline.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.export.captions import settings_caption
from attnviz.gui.binding import bind
from attnviz.gui.controller import Controller
from attnviz.gui.lifetime import dispose
from attnviz.gui.theme import style_plots, theme_manager
from attnviz.gui.widgets.flow import hold_wrapped_heights
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.lessons import panel_text
from attnviz.state.request import Result, needs_of
from attnviz.state.views import ViewError, discover

__all__ = ["PANELS", "Panel", "register_panel", "run_panel_alone"]

Area = QtCore.Qt.DockWidgetArea
MIN_PLOT = (200, 160)  # px at 10 pt: below this a plot's labels and numbers are unreadable
PANELS: dict[str, type[Panel]] = {}


def register_panel(cls: type[Panel]) -> type[Panel]:
    """Class decorator: make a panel known to the main window, the View menu and export."""
    if cls.panel_id in PANELS and PANELS[cls.panel_id] is not cls:
        raise ValueError(f"two panels claim the id {cls.panel_id!r}")
    PANELS[cls.panel_id] = cls
    return cls


class Panel(QtWidgets.QWidget):
    """Base class. Subclasses build their widgets into ``self.body`` and implement ``draw``."""

    export_requested = QtCore.Signal(str)  # "figure" or "data": the main window asks where

    panel_id: ClassVar[str]
    title: ClassVar[str]
    default_area: ClassVar[Area] = Area.RightDockWidgetArea
    order: ClassVar[int] = 1000  # position in the View menu and among tabbed docks
    # The smallest size at which the panel is legible, at 10 pt (scaled with the text size).
    # A dock smaller than this scrolls the panel instead of squeezing its plots.
    min_useful: ClassVar[tuple[int, int]] = (360, 300)
    # The result fields the panel draws (Result.STAGES); its own view, if it has one, is
    # added by ``wanted``. Only visible panels' needs are computed before a result arrives.
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, controller: Controller, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{self.panel_id}_panel")
        self.controller = controller
        # How to cut this panel's links to the session and view parameters (see detach).
        self._unlinks: list[Callable[[], None]] = []
        unlinks = self._unlinks  # not self: the destroyed handler must not keep the panel
        self.destroyed.connect(lambda *_: _cut(unlinks))
        self.result: Result | None = None
        self._stale = False
        self.explanation = QtWidgets.QLabel()
        self.explanation.setWordWrap(True)
        self.explanation.setObjectName("explanation")
        self.explanation.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.body = QtWidgets.QVBoxLayout()
        # Legible or scrolled, never squeezed: the content keeps at least its useful size and
        # the dock shows scroll bars when it is smaller (a 1280 x 720 projector). The dock's
        # own minimum stays small, so the window always fits the screen.
        # Both made with a parent, so Qt owns them from the start (a parentless widget handed
        # to setWidget was deleted twice when an export's copy was garbage-collected).
        self.scroll = QtWidgets.QScrollArea(self)
        self.content = _Content(self.scroll)
        self.content.setObjectName("panel_content")
        self.scroll.setObjectName("panel_scroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.content)
        self.scroll.setMinimumSize(120, 80)
        frame = QtWidgets.QVBoxLayout(self)
        frame.setContentsMargins(0, 0, 0, 0)
        frame.addWidget(self.scroll)
        outer = _ContentLayout(self.content)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.explanation)
        outer.addLayout(self.body, 1)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b;")
        self.message.setVisible(False)
        outer.addWidget(self.message)
        # Paragraphs wrap at the visible width even when the plots make the content wider
        # than the dock (it then scrolls sideways, and the text read as cut off at the edge).
        self.scroll.viewport().installEventFilter(self)
        self.content.installEventFilter(self)
        # A plot's layout grows after it is first painted (an axis widens to its tick labels):
        # its view's least size is fitted again then (see eventFilter).
        self._refit = QtCore.QTimer(self, singleShot=True, interval=0)
        self._refit.timeout.connect(self._fit_useful_size)
        self._reflows: list[tuple[ReflowGrid, Callable[[QtCore.QSize], int] | None]] = []
        controller.result_ready.connect(self._on_result)
        # The explanation speaks of what is shown: the toy scenes or a trained model.
        self.listen(self.session.events.model_path, self._explain)
        self.listen(self.session.events.attention_path, self._explain)
        self._explain()
        theme_manager().restyled.connect(self._style_plots)
        self._fit_useful_size()
        self.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)

    def _explain(self, *_: object) -> None:
        trained = self.session.source.caps.trained
        self.explanation.setText(panel_text(self.panel_id, "model" if trained else "toy"))

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize and watched is self.scroll.viewport():
            room = max(120, self.scroll.viewport().width() - 12)  # the content's margins
            for label in (self.explanation, self.message):
                label.setMaximumWidth(room)
            self._reflow()
            self._refit.start()  # the paragraphs wrap anew at the new width
        elif event.type() == QtCore.QEvent.Type.LayoutRequest and (
            isinstance(watched, QtWidgets.QGraphicsWidget) or watched is self.content
        ):
            # after a plot's layout took its new least size, or a text changed
            self._refit.start()
        return super().eventFilter(watched, event)

    def _style_plots(self) -> None:
        style_plots(self)
        # after the plots took the new type size: their layouts' least sizes follow it
        self._fit_useful_size()

    def _fit_useful_size(self) -> None:
        """The content's minimum: ``min_useful`` and, for every plot, MIN_PLOT, both grown with
        the text size (Ctrl+/−, presenter). Below them the panel scrolls."""
        scale = max(1.0, theme_manager().font_pt / 10)
        w, h = self.min_useful
        self.content.useful = QtCore.QSize(round(w * scale), round(h * scale))
        self.content.updateGeometry()
        for view in self.content.findChildren(pg.GraphicsView):
            # A plot may ask for more (a heatmap: room for turned labels and its image).
            pw, ph = (round(v * scale) for v in getattr(view, "min_plot_size", MIN_PLOT))
            # and never less than its plot layout needs, titles and axes at the current size
            # (a longer title in presenter mode drew the plot wider than its view, cut off).
            if view.centralWidget is not None:
                if not getattr(view, "_watched", False):
                    view.centralWidget.installEventFilter(self)
                    view._watched = True
                need = view.centralWidget.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize)
                frame = 2 * view.frameWidth()
                pw = max(pw, math.ceil(need.width()) + frame)
                ph = max(ph, math.ceil(need.height()) + frame)
            own = getattr(view, "_own_min", None)
            if own is None:  # what the panel itself asked for, kept as a floor
                own = view._own_min = (view.minimumWidth(), view.minimumHeight())
            want = (max(own[0], pw), max(own[1], ph))
            if (view.minimumWidth(), view.minimumHeight()) != want:
                view.setMinimumSize(*want)
        self._reflow()  # the least widths changed with the type size
        hold_wrapped_heights(self.content)

    def reflow(
        self, grid: ReflowGrid, first: Callable[[QtCore.QSize], int] | None = None
    ) -> ReflowGrid:
        """Rearrange ``grid`` to the panel's visible width whenever it or the type size
        changes: scrolled down, never sideways. ``first(viewport size)`` may rule out its
        widest arrangements (a row of four only in a wide, short dock)."""
        self._reflows.append((grid, first))
        self._reflow()
        return grid

    def _reflow(self) -> None:
        if not getattr(self, "_reflows", None):
            return
        room = self.scroll.viewport().size()
        for grid, first in self._reflows:
            grid.fit(self._room_for(grid, room.width()), first(room) if first else 0)

    def _room_for(self, grid: ReflowGrid, width: int) -> int:
        """The width ``grid`` has when the content is ``width`` wide: less the content's
        margins, tab frames and its page's margins around it. (A page behind a tab counts
        too: a tab widget is as wide as its widest page.)"""
        host = grid.parentWidget()
        if host is None or not (host is self.content or self.content.isAncestorOf(host)):
            return width - 12
        pad = 0
        if host.layout() is not None and host.layout() is not grid:
            m = host.layout().contentsMargins()
            pad = m.left() + m.right()
        shown = host
        while shown is not self.content and not shown.isVisible():
            shown = shown.parentWidget()  # a hidden page: measure the stack that holds it
        return width - (self.content.width() - shown.width()) - pad

    def _context_menu(self, pos: QtCore.QPoint) -> None:
        menu = QtWidgets.QMenu(self)
        menu.addAction("Export figure…", lambda: self.export_requested.emit("figure"))
        menu.addAction("Export data…", lambda: self.export_requested.emit("data"))
        menu.popup(self.mapToGlobal(pos))

    def sizeHint(self) -> QtCore.QSize:
        # Plots ask for 640 x 480 each; a modest hint lets the dock layout share the window.
        return QtCore.QSize(560, 300)

    @property
    def session(self):
        return self.controller.session

    def listen(self, signal: Any, slot: Callable[..., Any]) -> None:
        """Connect ``slot`` to a session or view-parameter event for the panel's lifetime."""
        signal.connect(slot)
        self._unlinks.append(lambda: signal.disconnect(slot))

    def bind(self, model: Any, field: str, signal: QtCore.SignalInstance,
             set_widget: Callable[[Any], None], widget: QtCore.QObject,
             to_model: Callable[[Any], Any] = lambda v: v) -> None:  # fmt: skip
        """Bind a control to ``model.<field>`` (gui.binding.bind) for the panel's lifetime;
        a refusal is shown under the panel (and the control put back), an accepted value
        clears it."""
        self._unlinks.append(
            bind(
                model,
                field,
                signal,
                set_widget,
                to_model,
                on_error=self.show_message,
                widget=widget,
                on_accepted=lambda: self.show_message(""),
            )
        )

    def bound_spin(
        self, model: Any, field: str, lo: int, hi: int, tip: str, *, step: int = 1,
        separators: bool = True,
    ) -> QtWidgets.QSpinBox:  # fmt: skip
        """A spin box for the whole-number ``model.<field>``, bound both ways; one change per
        Enter, not per keystroke. Its range may include refused values (0 heads): they are
        refused with a message instead of being clamped."""
        spin = QtWidgets.QSpinBox()
        spin.setObjectName(f"{field}_input")
        spin.setRange(lo, hi)
        spin.setSingleStep(step)
        spin.setKeyboardTracking(False)
        spin.setGroupSeparatorShown(separators)
        spin.setToolTip(tip)
        self.bind(model, field, spin.valueChanged, spin.setValue, spin)
        return spin

    def bind_choice(self, model: Any, field: str, box: QtWidgets.QComboBox) -> None:
        """Bind a combo box whose items carry the field's values as their data."""
        show = lambda value: box.setCurrentIndex(box.findData(value))  # noqa: E731
        self.bind(model, field, box.currentIndexChanged, show, box, box.itemData)

    def detach(self) -> None:
        """Cut every link from the session and view parameters to this panel.

        The session outlives panels: a panel made for an export, or closed, would otherwise
        be called back after Qt deleted its widgets (and kept alive with everything it drew).
        Runs again by itself when the panel is destroyed; safe to call twice.
        """
        for timer in self.findChildren(QtCore.QTimer):
            timer.stop()
        _cut(self._unlinks)
        # No more results either (a slide keeps the result it was composed from).
        with contextlib.suppress(RuntimeError, TypeError):
            self.controller.result_ready.disconnect(self._on_result)

    def set_explanation_visible(self, visible: bool) -> None:
        self.explanation.setVisible(visible)

    def show_tab(self, title: str | None) -> None:
        """Bring the panel's sub-tab called ``title`` to the front (None: every first tab).

        A lesson step opens the view it talks about; a title the panel does not have is a
        mistake in the course, so it raises ValueError.
        """
        tab_widgets = self.findChildren(QtWidgets.QTabWidget)
        if title is None:
            for tabs in tab_widgets:
                tabs.setCurrentIndex(0)
            return
        for tabs in tab_widgets:
            for i in range(tabs.count()):
                if tabs.tabText(i) == title:
                    tabs.setCurrentIndex(i)
                    return
        raise ValueError(f"the {self.title} panel has no tab {title!r}")

    def show_message(self, text: str) -> None:
        """A refusal or note for the user, shown under the panel until the next good result."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def try_set(self, fn: Callable[[], object]) -> bool:
        """Run a session update; on a refusal show its message and keep the old state."""
        try:
            fn()
        except ValueError as exc:
            self.show_message(str(exc))
            return False
        self.show_message("")
        return True

    def _on_result(self, result: Result) -> None:
        self.result = result
        # A panel hidden behind another dock's tab is drawn when it is shown, not now: with
        # 2,048 tokens each heatmap costs tens of milliseconds nobody would see.
        if self.showing():
            self._stale = False
            self.redraw(result)
        else:
            self._stale = True

    @classmethod
    def wanted(cls) -> tuple[str, ...]:
        """What the panel needs of a result: its fields, and its own view if it has one."""
        own = (f"view:{cls.panel_id}",) if cls.panel_id in discover() else ()
        return needs_of(cls.needs) + own

    def showing(self) -> bool:
        """True when some of the panel is on screen (not behind another dock's tab)."""
        return self.isVisible() and not self.content.visibleRegion().isEmpty()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._fit_useful_size()  # the plots exist now (subclasses build them after __init__)
        if self._stale and self.result is not None:
            if not self.result.ready(self.wanted()) and self.controller.needs is not None:
                # Hidden when it was computed: compute what this panel adds on the worker
                # (the stages the others computed are cached) and draw when it arrives.
                self.controller.refresh()
                return
            self._stale = False
            self.redraw(self.result)

    def ensure_drawn(self) -> None:
        """Draw the latest result now if it has not been (a dock tab shown, export, tests)."""
        if self.result is not None and self._stale:
            self._stale = False
            self.redraw(self.result)

    def redraw(self, result: Result) -> None:
        """Draw ``result`` and bring its plots to the current theme and typography."""
        self.draw(result)
        # A draw may set titles and labels with pyqtgraph's defaults: back to the typography.
        style_plots(self)
        self._fit_useful_size()  # a plot's least size may follow what it shows (its labels)

    def draw(self, result: Result) -> None:
        raise NotImplementedError

    def view_data(self) -> Any:
        """This panel's own view of the latest result, or None (no result yet, or the view
        refused its input: ``draw`` shows why)."""
        if self.result is None:
            return None
        data = self.result.views.get(self.panel_id)
        return None if isinstance(data, ViewError) else data

    def export_data(self) -> dict[str, Any]:
        """The numbers behind what the panel shows, for "Export data…" (CSV, NPZ, JSON).

        A mapping of names to NumPy arrays (matrices, vectors) or lists (labels such as the
        tokens); empty when the panel shows no numbers. Read from ``self.result``, never
        recomputed.
        """
        return {}

    # -- the figure it composes for a slide (attnviz.gui.figures) ---------------------------
    def figure_parts(self) -> list[list[FigurePart]]:
        """What this panel's slide shows, as rows of parts laid side by side: its own widgets
        (plots, tables; drawn already, moved onto the page) and texts (numbers in words); a
        part may come as ``(part, stretch)`` to take more of its row than the others.
        Never a control: what the controls hold goes into ``figure_caption``. The default:
        every plot of the current view in one row."""
        views = [v for v in self.content.findChildren(pg.GraphicsView) if v.isVisibleTo(self)]
        return [views] if views else []

    def figure_caption(self) -> str:
        """The settings behind the figure, in words (the caption line under it)."""
        return settings_caption(self.result.request) if self.result is not None else ""

    def figure_title(self) -> str:
        return self.title


FigurePart = QtWidgets.QWidget | str | tuple[QtWidgets.QWidget | str, int]


class _Content(QtWidgets.QWidget):
    """A panel's content: at least its useful size, and at least what its layout needs.

    (An explicit minimum size would replace the layout's own minimum for the scroll area, and
    four heatmaps in a row were then squeezed into less than they need.)"""

    useful = QtCore.QSize(0, 0)

    def minimumSizeHint(self) -> QtCore.QSize:
        # (Word-wrapped paragraphs count at their wrapped height: Panel holds it as their
        # minimum, hold_wrapped_heights.)
        return super().minimumSizeHint().expandedTo(self.useful)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        # A panel built while hidden is resized twice before it is first shown (the dock's
        # size, then its grown minimum); Qt delivers one pending resize event with the first
        # size, and the layout kept it: four heatmaps were laid out over each other, cut off
        # at the first size. Lay out at the size the content has.
        layout = self.layout()
        if layout is not None and layout.geometry() != self.rect():
            layout.setGeometry(self.rect())


class _ContentLayout(QtWidgets.QVBoxLayout):
    """The layout of a panel's content inside its scroll area.

    With height-for-width (word-wrapped labels have it), QScrollArea gives the content its
    *preferred* height for the width — plots prefer 480 px — and scrolls at any dock size;
    without it, the content fills the dock and scrolls only below its minimum.
    """

    def hasHeightForWidth(self) -> bool:
        return False


def _cut(unlinks: list[Callable[[], None]]) -> None:
    while unlinks:
        unlinks.pop()()


def run_panel_alone(cls: type[Panel]) -> int:
    """Open one panel in its own window, computed from a fresh session (``python -m ...``)."""

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    theme_manager().apply("light")
    controller = Controller()
    panel = cls(controller)
    panel.setWindowTitle(f"attnviz — {cls.title}")
    panel.resize(900, 650)
    controller.compute_now()
    panel.show()
    code = app.exec()

    dispose(panel)
    return code
