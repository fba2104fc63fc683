"""Dock management of the main window: a dock per panel (built on first show), the menus,
view settings and the saved layout."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.binding import bind
from attnviz.gui.panels import Panel, all_panels
from attnviz.gui.theme import SEQUENTIAL_MAPS, THEMES, theme_manager
from attnviz.gui.window.input_bar import SPECIAL_TOKENS_HELP, fit_current_text

if TYPE_CHECKING:
    from attnviz.gui.window.main import MainWindow

__all__ = ["SETTINGS_VERSION", "DockLayout"]

SETTINGS_VERSION = 1


def _toggle(
    menu: QtWidgets.QMenu, text: str, name: str, shortcut: str, slot: Callable[[bool], None]
) -> QtGui.QAction:
    """A checkable menu action with a shortcut, calling ``slot(checked)`` when toggled."""
    action = menu.addAction(text)
    action.setObjectName(name)
    action.setCheckable(True)
    action.setShortcut(QtGui.QKeySequence(shortcut))
    action.toggled.connect(slot)
    return action


class _LazyPanels(Mapping[str, Panel]):
    """``window.panels[panel_id]``: every panel by id, each built on first use."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window

    def __getitem__(self, panel_id: str) -> Panel:
        if panel_id not in self._window.docks:
            raise KeyError(panel_id)
        return self._window.panel(panel_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._window.docks)

    def __len__(self) -> int:
        return len(self._window.docks)


class DockLayout:
    """Main-window part: docks, menus, theme and text size, toolbar rows, the saved layout."""

    # -- docks and menus -------------------------------------------------------------------
    def _build_docks(self) -> None:
        central = QtWidgets.QWidget()
        # No width, any height: the docks fill the window, and the row of left and right docks
        # can be as tall as the split says (with no height either, the bottom row took it all).
        central.setMaximumWidth(0)
        self.setCentralWidget(central)
        panels = all_panels()
        # Docks of one area are tabbed together as they are added: side by side first, their
        # minimum widths would add up and push the window wider than the screen.
        first_in_area: dict[QtCore.Qt.DockWidgetArea, QtWidgets.QDockWidget] = {}
        self._panel_classes = panels
        for pid, cls in panels.items():
            dock = QtWidgets.QDockWidget(cls.title, self)
            dock.setObjectName(pid)
            # The panel itself is built the first time its dock is shown (eleven panels with
            # sixteen plots cost about a second; a lecture starts on three of them).
            dock.setWidget(QtWidgets.QWidget())
            dock.setFeatures(
                QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
            )
            if cls.default_area in first_in_area:
                self.tabifyDockWidget(first_in_area[cls.default_area], dock)
            else:
                self.addDockWidget(cls.default_area, dock)
                first_in_area[cls.default_area] = dock
            dock.visibilityChanged.connect(lambda shown, p=pid: shown and self._shown(p))
            self.docks[pid] = dock
        for dock in first_in_area.values():
            dock.raise_()
        self._area_docks = first_in_area
        self._split_pending = True  # the default split is set once the window has a size

    def panel(self, panel_id: str) -> Panel:
        """The panel of a dock, built now if it was not yet."""
        panel = self._built.get(panel_id)
        if panel is None:
            panel = self._panel_classes[panel_id](self.controller)
            panel.set_explanation_visible(self._explanations)
            panel.export_requested.connect(
                lambda kind, p=panel: (
                    self.export_panel_figure(p) if kind == "figure" else self.export_panel_data(p)
                )
            )
            self._built[panel_id] = panel
            # Not from inside the layout pass that changed the range: re-docking there crashed.
            panel.scroll.horizontalScrollBar().rangeChanged.connect(self._stage_check.start)
            self.docks[panel_id].setWidget(panel)
            if self.controller.latest is not None:
                panel._on_result(self.controller.latest)
        return panel

    def _shown(self, panel_id: str) -> None:
        self._current = panel_id
        QtCore.QTimer.singleShot(0, self, self._whole_tab_titles)
        # A tab brought to the front draws the result it skipped while hidden.
        self.panel(panel_id).ensure_drawn()
        if getattr(self, "_presenter", False):
            self._thicken_later()

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        open_scene = file_menu.addAction("&Open scene…")
        open_scene.setObjectName("open_scene_action")
        open_scene.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        open_scene.triggered.connect(self.ask_open_scene)
        save_scene_ = file_menu.addAction("&Save scene…")
        save_scene_.setObjectName("save_scene_action")
        save_scene_.setShortcut(QtGui.QKeySequence.StandardKey.Save)
        save_scene_.triggered.connect(self.ask_save_scene)
        self.recent_menu = file_menu.addMenu("&Recent scenes")
        self.recent_menu.setObjectName("recent_scenes_menu")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        open_model = file_menu.addAction("&Open model folder…")
        open_model.triggered.connect(self.open_model_folder)
        import_att = file_menu.addAction("&Import saved attention…")
        import_att.setObjectName("import_attention_action")
        import_att.setStatusTip(
            "Show attention saved from a notebook (BertViz, CircuitsVis, Inspectus): .npz/.npy "
            "of shape (layers, heads, L, S) or (heads, L, S), with its tokens"
        )
        import_att.triggered.connect(self.import_attention)
        file_menu.addSeparator()
        fig = file_menu.addAction("&Export figure of the current panel…")
        fig.setShortcut(QtGui.QKeySequence("Ctrl+E"))
        fig.triggered.connect(lambda: self.export_panel_figure(self.current_panel()))
        data = file_menu.addAction("Export &data of the current panel…")
        data.setShortcut(QtGui.QKeySequence("Ctrl+Shift+E"))
        data.triggered.connect(lambda: self.export_panel_data(self.current_panel()))
        win = file_menu.addAction("Export figure of the &whole window…")
        win.triggered.connect(self.export_window_figure)
        slides = file_menu.addAction("Export &lesson as slides…")
        slides.setObjectName("export_lesson_action")
        slides.setStatusTip("Every step of the current lesson as a page of one PDF")
        slides.triggered.connect(lambda: self.export_lesson_slides())
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)

        view = mb.addMenu("&View")
        self.view_menu = view
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        reset = view.addAction("&Reset layout")
        reset.triggered.connect(self.reset_layout)
        explain = view.addAction("Show &explanations")
        explain.setCheckable(True)
        explain.setChecked(True)
        explain.toggled.connect(self.set_explanations_visible)
        self.explain_action = explain
        hide = view.addAction("&Hide special tokens")
        hide.setObjectName("hide_special_action")
        hide.setCheckable(True)
        hide.setToolTip(SPECIAL_TOKENS_HELP)
        hide.setStatusTip("Drop [CLS]/[SEP]/<s> rows and columns and renormalise (real models)")
        view.setToolTipsVisible(True)
        bind(self.session, "hide_special", hide.toggled, hide.setChecked,
             on_error=self.show_error, widget=hide)  # fmt: skip
        self.hide_special_action = hide
        view.addSeparator()
        lesson = self.lesson_dock.toggleViewAction()
        lesson.setText("&Lesson (guided course)")
        lesson.setObjectName("lesson_action")
        lesson.setShortcut(QtGui.QKeySequence("Ctrl+L"))
        view.addAction(lesson)
        self.lesson_action = lesson
        self.full_screen_action = _toggle(
            view, "&Full screen", "full_screen_action", "F11", self.set_full_screen
        )
        self.presenter_action = _toggle(
            view, "&Presenter mode (large text, thick lines)", "presenter_action", "F5",
            self.set_presenter,
        )  # fmt: skip
        view.addSeparator()
        theme_menu = view.addMenu("&Theme")
        self.theme_actions = QtGui.QActionGroup(self)
        for name in THEMES:
            a = theme_menu.addAction(name.capitalize())
            a.setCheckable(True)
            a.setData(name)
            self.theme_actions.addAction(a)
            a.triggered.connect(lambda _=False, n=name: self.set_theme(n))
        cmap_menu = view.addMenu("&Colour map")
        self.cmap_actions = QtGui.QActionGroup(self)
        for name in SEQUENTIAL_MAPS:
            a = cmap_menu.addAction(name)
            a.setCheckable(True)
            a.setData(name)
            self.cmap_actions.addAction(a)
            a.triggered.connect(lambda _=False, n=name: self.set_colormap(n))
        bigger = view.addAction("&Larger text")
        bigger.setShortcut(QtGui.QKeySequence.StandardKey.ZoomIn)
        bigger.triggered.connect(lambda: self.set_font_size(theme_manager().font_pt + 2))
        smaller = view.addAction("&Smaller text")
        smaller.setShortcut(QtGui.QKeySequence.StandardKey.ZoomOut)
        smaller.triggered.connect(lambda: self.set_font_size(theme_manager().font_pt - 2))

    # -- settings --------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        theme_manager().apply(theme=name)
        for a in self.theme_actions.actions():
            a.setChecked(a.data() == name)
        self.settings.setValue("theme", name)

    def set_colormap(self, name: str) -> None:
        theme_manager().apply(colormap=name)
        for a in self.cmap_actions.actions():
            a.setChecked(a.data() == name)
        self.settings.setValue("colormap", name)

    def set_font_size(self, pt: int) -> None:
        theme_manager().apply(font_pt=pt)
        self.settings.setValue("font_pt", theme_manager().font_pt)

    def set_explanations_visible(self, visible: bool) -> None:
        self._explanations = visible
        for p in self._built.values():
            p.set_explanation_visible(visible)
        self.settings.setValue("explanations", visible)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, SETTINGS_VERSION)
        for dock in self.docks.values():
            dock.setVisible(True)
        self._default_split()

    def _default_split(self) -> None:
        """Top row (left and right areas) 55 % of the height, the bottom row 45 %; left and
        right halves equal. Qt's own split follows size hints and gave one row 90 px."""
        Area = QtCore.Qt.DockWidgetArea
        docks = self._area_docks
        left, right, bottom = (docks.get(a) for a in (Area.LeftDockWidgetArea,
                               Area.RightDockWidgetArea, Area.BottomDockWidgetArea))  # fmt: skip
        free = max(200, self.height() - self.menuBar().height() - self.statusBar().height() - 40)
        if left is not None and bottom is not None:
            self.resizeDocks([left, bottom], [round(free * 0.55), round(free * 0.45)],
                             QtCore.Qt.Orientation.Vertical)  # fmt: skip
        if left is not None and right is not None:
            half = self.width() // 2
            self.resizeDocks([left, right], [half, half], QtCore.Qt.Orientation.Horizontal)

    def _fit_toolbars(self) -> None:
        """The toolbars in as few rows as fit the window's width, each whole: a bar that does
        not fit beside the ones before it starts a new row."""
        bars = [getattr(self, n, None) for n in ("input_toolbar", "text_toolbar", "view_toolbar")]
        if None in bars:  # a resize while the window is still being built
            return
        used = bars[0].sizeHint().width()
        for bar in bars[1:]:
            width = bar.sizeHint().width()
            new_row = used + width + 8 > self.width()
            used = width if new_row else used + width
            if self._toolbar_breaks.get(bar.objectName(), False) != new_row:
                if new_row:
                    self.insertToolBarBreak(bar)
                else:
                    self.removeToolBarBreak(bar)
                self._toolbar_breaks[bar.objectName()] = new_row

    def _fit_toolbars_later(self) -> None:
        # After the new text size has reached the widgets (their size hints follow it).
        QtCore.QTimer.singleShot(
            0, self, lambda: (self._remeasure_combo_boxes(), self._fit_toolbars())
        )

    def _remeasure_combo_boxes(self) -> None:
        """QComboBox forgets its cached sizeHint on a font change but not its minimumSizeHint
        (Qt 6.11): after presenter mode the toolbars kept presenter height. A style change
        clears both; giving each box the application's style again is one."""
        for box in self.findChildren(QtWidgets.QComboBox):
            box.setStyle(None)
        for box in (self.model_box, self.scene_box, self.head_box):
            fit_current_text(box)
        # The status bar likewise kept presenter height: it measures its strut again only in
        # reformat(), which switching its size grip runs.
        bar = self.statusBar()
        grip = bar.isSizeGripEnabled()
        bar.setSizeGripEnabled(not grip)
        bar.setSizeGripEnabled(grip)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_toolbars()
        QtCore.QTimer.singleShot(0, self, self._whole_tab_titles)

    def _whole_tab_titles(self) -> None:
        """Dock tabs keep their whole titles and scroll when they do not fit.

        Qt elides them by default: at 1280 px in presenter type the tabs read "Causal …" and
        "Softmax temper…". Qt makes these tab bars itself as docks are tabbed, so this runs
        after every layout change that can make one.
        """
        for bar in self.findChildren(QtWidgets.QTabBar):
            if bar.parent() is self and bar.elideMode() != QtCore.Qt.TextElideMode.ElideNone:
                bar.setElideMode(QtCore.Qt.TextElideMode.ElideNone)
                bar.setUsesScrollButtons(True)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        QtCore.QTimer.singleShot(0, self, self._whole_tab_titles)
        if getattr(self, "_split_pending", False):
            self._split_pending = False
            # After the first layout pass: before it, Qt ignores resizeDocks.
            QtCore.QTimer.singleShot(0, self, self._default_split)

    def _restore_settings(self) -> None:
        st = self.settings
        self.set_theme(str(st.value("theme", "light")))
        cmap = str(st.value("colormap", "viridis"))
        self.set_colormap(cmap if cmap in SEQUENTIAL_MAPS else "viridis")
        try:
            font_pt = int(st.value("font_pt", 10))
        except (TypeError, ValueError):
            font_pt = 10
        self.set_font_size(font_pt)
        explain = st.value("explanations", True)
        self.explain_action.setChecked(explain not in (False, "false", "0"))
        geometry = st.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            screen = QtGui.QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen else QtCore.QRect(0, 0, 1480, 920)
            self.resize(min(1480, avail.width()), min(920, avail.height()))
        state = st.value("window_state")
        # A layout saved with other panels (an older or newer attnviz) would strand the new
        # ones outside their tab groups: start from the default layout instead.
        same_panels = st.value("panels") == ",".join(self.docks)
        if state is not None and same_panels:
            self.restoreState(state, SETTINGS_VERSION)
            self._split_pending = False  # the user's own split

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        # The lecturer's own layout, never presenter mode's stage.
        state = self._state_before if self.staging else self.saveState(SETTINGS_VERSION)
        self.settings.setValue("window_state", state)
        self.settings.setValue("panels", ",".join(self.docks))
        self.settings.sync()
        self.controller.wait(5000)
        super().closeEvent(event)
