"""The main window: a dock per panel, a toolbar that writes the session, a status bar that
says which backend computes (and, after a fall-back, why)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from attnviz.backends import backend_status
from attnviz.export import ExportError, FigureSpec
from attnviz.gui.binding import bind
from attnviz.gui.controller import Controller
from attnviz.gui.export_dialog import FigureDialog, ask_data_path
from attnviz.gui.exporters import (
    export_deck,
    export_panel_data,
    export_panel_figure,
    export_widget_figure,
    lesson_slides,
)
from attnviz.gui.lesson_dock import LessonDock
from attnviz.gui.panels import Panel, all_panels
from attnviz.gui.presenter import PRESENTER_FONT_PT, thicken_lines
from attnviz.gui.theme import SEQUENTIAL_MAPS, THEMES, theme_manager
from attnviz.lessons import SCENES
from attnviz.models import discover
from attnviz.state.request import Result
from attnviz.state.scene_file import (
    SCENE_SUFFIX,
    SceneFileError,
    apply_scene,
    load_scene,
    save_scene,
)
from attnviz.state.session import Session

__all__ = ["MainWindow"]

SETTINGS_VERSION = 1
# The lesson bar beside the stage, as a share of the window's width: at 1280 px the sparse
# patterns' formulas need the rest (a quarter left them 19 px short).
SIDEBAR_SHARE = 0.22
MAX_RECENT = 8
SCENE_FILTER = f"attnviz scenes (*{SCENE_SUFFIX});;All files (*)"
TOY_LABEL = "Toy model (illustrative)"
OPEN_FOLDER = "Open model folder…"
SPECIAL_TOKENS_HELP = (
    "Drop [CLS], [SEP], <s> and other special tokens from every panel and renormalise each "
    "row over the words that are left.\n\nWhy so much attention lands on them: many trained "
    "heads have nothing useful to look at for most tokens, and park their weight on a token "
    "that is always there — [CLS]/[SEP] in BERT, the first token in GPT-style models. These "
    "'attention sinks' act as a no-op: the head adds little to the token. Hiding them shows "
    "where the rest of the weight goes."
)


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


def _fit_current_text(box: QtWidgets.QComboBox) -> None:
    """At least as wide as its current entry needs (its own minimum width as a floor)."""
    floor = box.property("floor_width")
    if floor is None:
        floor = box.minimumWidth()
        box.setProperty("floor_width", floor)
    opt = QtWidgets.QStyleOptionComboBox()
    box.initStyleOption(opt)
    text = QtCore.QSize(box.fontMetrics().horizontalAdvance(box.currentText()) + 4, 1)
    need = (
        box.style()
        .sizeFromContents(QtWidgets.QStyle.ContentsType.CT_ComboBox, opt, text, box)
        .width()
    )
    box.setMinimumWidth(max(int(floor), need))


class _BackendLine(QtWidgets.QLabel):
    """The status bar's backend line: what computed, and "Computing…" in front while busy.

    Always as wide as the busy line, so the words never move or get cut when the prefix
    comes and goes (it was cut at the label's old width until the status bar laid out)."""

    BUSY = "Computing… · "

    def __init__(self) -> None:
        super().__init__()
        self.line, self.busy = "", False
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)

    def show_line(self, line: str | None = None, busy: bool | None = None) -> None:
        self.line = self.line if line is None else line
        self.busy = self.busy if busy is None else busy
        self.setText((self.BUSY if self.busy else "") + self.line)
        self.updateGeometry()

    def minimumSizeHint(self) -> QtCore.QSize:
        hint = super().minimumSizeHint()
        need = self.fontMetrics().horizontalAdvance(self.BUSY + self.line) + 2 * self.margin() + 12
        return QtCore.QSize(max(hint.width(), need), hint.height())

    def sizeHint(self) -> QtCore.QSize:
        return self.minimumSizeHint().expandedTo(super().sizeHint())


class MainWindow(QtWidgets.QMainWindow):
    """attnviz's main window."""

    def __init__(
        self,
        controller: Controller | None = None,
        settings: QtCore.QSettings | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("attnviz_main_window")
        self.setWindowTitle("attnviz — attention, step by step")
        self.controller = controller or Controller(parent=self)
        self.session = self.controller.session
        self.settings = settings or QtCore.QSettings("attnviz", "attnviz")
        self._built: dict[str, Panel] = {}
        self._explanations = True
        self._lesson_open = False  # the lesson bar shown by the user or a lesson (not a tab)
        self._side_by_side: list[QtWidgets.QDockWidget] = []  # staged panels, not tabbed
        self._stage_check = QtCore.QTimer(self, singleShot=True, interval=0)
        self._stage_check.timeout.connect(self._settle_stage)
        self._stage_first: QtWidgets.QDockWidget | None = None
        self.panels = _LazyPanels(self)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QtWidgets.QMainWindow.DockOption.AnimatedDocks
            | QtWidgets.QMainWindow.DockOption.AllowNestedDocks
            | QtWidgets.QMainWindow.DockOption.AllowTabbedDocks
        )
        self._build_toolbar()
        self._build_docks()
        self.lesson_dock = LessonDock(self, on_quiz=self.open_quiz)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, self.lesson_dock)
        self.lesson_dock.hide()
        self._presenter = False
        self._build_menus()
        self._build_lecture_keys()
        self._default_state = self.saveState(SETTINGS_VERSION)
        self.status_backend = _BackendLine()
        self.status_backend.setObjectName("status_backend")
        self.statusBar().addPermanentWidget(self.status_backend)
        self.controller.needs = self._visible_needs
        self.controller.result_ready.connect(self._on_result)
        self.controller.failed.connect(self._on_failed)
        self.controller.busy_changed.connect(self._on_busy)
        choice = backend_status()
        self.backend_text = f"{choice.name} — {choice.reason}"
        self.status_backend.show_line(choice.label)
        self.status_backend.setToolTip(f"Computing on {self.backend_text}")
        self._restore_settings()
        self.controller.compute_now()

    # -- toolbar ---------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        tb = self.input_toolbar = QtWidgets.QToolBar("Input", self)
        tb.setObjectName("input_toolbar")
        tb.setMovable(False)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, tb)
        s = self.session

        tb.addWidget(QtWidgets.QLabel(" Model "))
        self.model_box = QtWidgets.QComboBox()
        self.model_box.setObjectName("model_picker")
        self.model_box.setMinimumWidth(200)
        self.model_box.setToolTip("The toy model, or a real model from a local folder")
        self._extra_models: list[str] = []
        self.refresh_models()
        self.model_box.activated.connect(self._model_chosen)
        s.events.model_path.connect(self._on_model_path)
        s.events.attention_path.connect(self._on_model_path)
        tb.addWidget(self.model_box)

        tb.addWidget(QtWidgets.QLabel("  Scene "))
        self.scene_box = QtWidgets.QComboBox()
        for scene in SCENES.values():
            self.scene_box.addItem(scene.title, scene.scene_id)
        bind(
            s, "scene", self.scene_box.currentIndexChanged,
            lambda v: self.scene_box.setCurrentIndex(self.scene_box.findData(v)),
            to_model=lambda i: self.scene_box.itemData(i), on_error=self.show_error,
            widget=self.scene_box,
        )  # fmt: skip
        tb.addWidget(self.scene_box)

        # The text in a toolbar of its own: at 1280 px in presenter type model, scene and text
        # did not fit one row, and the text box ran off the window's edge.
        tb = self.text_toolbar = QtWidgets.QToolBar("Text", self)
        tb.setObjectName("text_toolbar")
        tb.setMovable(False)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, tb)
        tb.addWidget(QtWidgets.QLabel("  Text "))
        self.text_edit = QtWidgets.QLineEdit()
        self.text_edit.setObjectName("text_input")
        self.text_edit.setPlaceholderText("Type a sentence and press Enter")
        self.text_edit.setMinimumWidth(320)
        self.text_edit.returnPressed.connect(self._apply_text)
        s.events.tokens.connect(self._show_text)
        self._show_text()
        tb.addWidget(self.text_edit)

        # What to look at, in a toolbar of its own: when the two do not fit side by side (a
        # projector, presenter type) it moves to a second row instead of hiding Head and
        # Causal mask behind "»".
        tb = self.view_toolbar = QtWidgets.QToolBar("View", self)
        tb.setObjectName("view_toolbar")
        tb.setMovable(False)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, tb)
        self._toolbar_breaks: dict[str, bool] = {}
        theme_manager().changed.connect(self._fit_toolbars_later)
        tb.addWidget(QtWidgets.QLabel("  Layer "))
        self.layer_box = QtWidgets.QSpinBox()
        self.layer_box.setObjectName("layer_selector")
        self.layer_box.setRange(1, max(1, s.n_layers))
        s.events.n_layers.connect(lambda n: self.layer_box.setRange(1, max(1, n)))
        bind(s, "layer", self.layer_box.valueChanged, lambda v: self.layer_box.setValue(v + 1),
             to_model=lambda v: v - 1, on_error=self.show_error, widget=self.layer_box)  # fmt: skip
        tb.addWidget(self.layer_box)

        tb.addWidget(QtWidgets.QLabel("  Head "))
        self.head_box = QtWidgets.QComboBox()
        self.head_box.setObjectName("head_selector")
        self.head_box.setMinimumWidth(190)
        s.events.n_heads.connect(self._fill_heads)
        self._fill_heads()
        bind(s, "head", self.head_box.currentIndexChanged, self.head_box.setCurrentIndex,
             on_error=self.show_error, widget=self.head_box)  # fmt: skip
        tb.addWidget(self.head_box)
        # The chosen entry whole, at any text size ("Toy model (illustr" in presenter type);
        # the lists themselves may hold longer names.
        for box in (self.model_box, self.scene_box, self.head_box):
            box.currentIndexChanged.connect(lambda _, b=box: _fit_current_text(b))
            _fit_current_text(box)
        # The session sets the boxes with their signals blocked (a lesson step's scene, a
        # model's heads): fit them then too ("Q/K/V by hand: 4 tokens, 3 fe" was cut).
        for event in (s.events.scene, s.events.model_path, s.events.n_heads, s.events.head):
            event.connect(lambda *_: [_fit_current_text(b) for b in
                                      (self.model_box, self.scene_box, self.head_box)])  # fmt: skip

        tb.addSeparator()
        self.causal_box = QtWidgets.QCheckBox("Causal mask")
        bind(s, "causal", self.causal_box.toggled, self.causal_box.setChecked,
             on_error=self.show_error, widget=self.causal_box)  # fmt: skip
        tb.addWidget(self.causal_box)
        self._show_causal_forced()

    # -- models ----------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Fill the model picker: the toy, local models found on disk, then "Open…"."""
        box = self.model_box
        with signals_blocked(box):
            box.clear()
            box.addItem(TOY_LABEL, None)
            try:
                entries = discover(self._extra_models)
            except OSError:
                entries = []
            listed = set()
            for e in entries:
                if not e.current:
                    continue
                listed.add(str(e.path))
                box.addItem(e.name, str(e.path))
                i = box.count() - 1
                box.setItemData(i, e.reason, QtCore.Qt.ItemDataRole.ToolTipRole)
                if not e.compatible:
                    item = box.model().item(i)
                    item.setEnabled(False)
            att = self.session.attention_path
            if att is not None:
                box.addItem(f"{Path(att).name} (saved attention)", f"file:{att}")
                box.setItemData(box.count() - 1, att, QtCore.Qt.ItemDataRole.ToolTipRole)
            path = self.session.model_path
            if path is not None and path not in listed:
                m = self.session.model
                box.addItem(m.info.name if m is not None else Path(path).name, path)
            box.addItem(OPEN_FOLDER, "open")
            box.setCurrentIndex(max(0, box.findData(self._picker_key())))

    def _picker_key(self) -> str | None:
        """The picker's data for what the session uses now."""
        att = self.session.attention_path
        return f"file:{att}" if att is not None else self.session.model_path

    def _model_chosen(self, index: int) -> None:
        data = self.model_box.itemData(index)
        if data == "open":
            self.open_model_folder()
            return
        if isinstance(data, str) and data.startswith("file:"):
            return  # the file in use, chosen again
        self.set_model(data)

    def open_model_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(
            self, "Open a model folder (config.json, *.safetensors, tokenizer)"
        )
        if folder:
            self.set_model(folder)
        else:
            self._on_model_path()  # put the picker back

    def set_model(self, path: str | None) -> bool:
        """Switch to a real model (checked now, loaded on the worker) or back to the toy."""
        try:
            self.session.model_path = path
        except ValueError as exc:
            self.show_error(f"Cannot use that model: {exc}")
            self._on_model_path()
            return False
        return True

    def import_attention(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Import saved attention (layers, heads, L, S) or (heads, L, S) with tokens",
            "", "Saved attention (*.npz *.npy);;All files (*)",
        )  # fmt: skip
        if path:
            self.set_attention_file(path)

    def set_attention_file(self, path: str | None) -> bool:
        """Show saved attention probabilities (checked and read now), or leave them."""
        try:
            self.session.attention_path = path
        except ValueError as exc:
            self.show_error(f"Cannot import that attention: {exc}")
            return False
        att = self.session.attention
        if att is not None:
            self.say(
                f"Imported {att.path.name}: {att.layers} layers × {att.heads} heads, "
                f"{len(att.tokens)} tokens",
                8000,
            )
        return True

    def _on_model_path(self, *_: object) -> None:
        key = self._picker_key()
        box = self.model_box
        stale_file = any(
            str(box.itemData(i)).startswith("file:") and box.itemData(i) != key
            for i in range(box.count())
        )
        if (key is not None and box.findData(key) < 0) or stale_file:
            self.refresh_models()
        with signals_blocked(self.model_box):
            self.model_box.setCurrentIndex(max(0, self.model_box.findData(key)))
        toy = key is None
        self.scene_box.setEnabled(toy)
        self.scene_box.setToolTip(
            "" if toy else "Scenes are toy-model lessons; choose “Toy model” to use them"
        )
        saved = not self.session.source.caps.typed_text
        self.text_edit.setReadOnly(saved)
        self.text_edit.setToolTip(
            "The tokens come from the saved-attention file; choose “Toy model” to type text"
            if saved
            else ""
        )
        self._show_causal_forced()
        m = self.session.model
        if m is not None:
            self._loading = m.info.name
            self.say(f"Loading {m.info.name}… ")

    def _show_causal_forced(self) -> None:
        m = self.session.model
        forced = m is not None and m.info.causal
        if not self.session.source.caps.adjustable:
            self.causal_box.setEnabled(False)
            self.causal_box.setToolTip(
                "The saved probabilities already contain whatever mask was used; the causal "
                "mask cannot be changed for a saved-attention file"
            )
            return
        self.causal_box.setEnabled(not forced)
        self.causal_box.setToolTip(
            f"{m.info.name} is a decoder: it was trained to see only earlier tokens, so the "
            "causal mask stays on"
            if forced
            else "Hide every later token from each query"
        )

    def _fill_heads(self, *_: object) -> None:
        r = self.controller.latest
        names = r.request.head_names if r is not None else ()
        self._shown_head_names = names
        with signals_blocked(self.head_box):
            self.head_box.clear()
            for h in range(self.session.n_heads):
                label = f"{h + 1}: {names[h]}" if h < len(names) else f"head {h + 1}"
                self.head_box.addItem(label)
            self.head_box.setCurrentIndex(self.session.head)

    def _show_text(self, *_: object) -> None:
        with signals_blocked(self.text_edit):
            # A model's tokens carry [CLS]/Ġ markers: show the text it reads, not the tokens.
            s = self.session
            caps = s.source.caps
            self.text_edit.setText(
                s.text if caps.trained and caps.typed_text else " ".join(s.tokens)
            )
            self.text_edit.setCursorPosition(0)  # its start in view, not "e mat because…"

    def _apply_text(self) -> None:
        try:
            self.session.text = self.text_edit.text()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.say(f"{len(self.session.tokens)} tokens", 4000)

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
            _fit_current_text(box)
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

    # -- results and errors ----------------------------------------------------------------
    def _visible_needs(self) -> tuple[str, ...]:
        """What the panels on screen draw: computed before a result is delivered; a hidden
        panel's needs are computed when it is shown."""
        return tuple(
            dict.fromkeys(n for p in self._built.values() if p.showing() for n in p.wanted())
        )

    def _on_result(self, result: Result) -> None:
        if result.request.head_names != self._shown_head_names:
            self._fill_heads()
        model = f"{result.request.model_summary} · " if result.request.source.caps.trained else ""
        # A few words on screen (the whole CuPy install hint, in presenter type, filled the
        # status bar); the backend's reason in the tooltip.
        self.status_backend.show_line(
            f"{model}{result.backend_label or result.backend} · "
            f"{len(result.request.tokens)} tokens · {result.seconds * 1000:.0f} ms"
        )
        self.status_backend.setToolTip(f"Computing on {result.backend}")
        if getattr(self, "_loading", None) is not None:
            self.say(f"Loaded {result.request.model_summary}", 6000)
        self._loading = None

    def _on_failed(self, message: str) -> None:
        if getattr(self, "_loading", None) is not None and self.session.model_path is not None:
            # The model passed the quick checks but could not be loaded or run: go back.
            self._loading = None
            self.set_model(None)
            self.show_error(f"Could not load the model: {message}")
            return
        self.show_error(f"Could not compute: {message}")

    def _on_busy(self, busy: bool) -> None:
        # Beside the backend, not in the message line: "Computing…" used to replace the
        # message it followed (a refusal, "Loaded …") and clear it when done.
        self.status_backend.show_line(busy=busy)

    def say(self, message: str, timeout_ms: int = 0) -> None:
        """The one message line of the status bar: the newest message replaces the last."""
        self.statusBar().showMessage(message, timeout_ms)

    def show_error(self, message: str) -> None:
        """A refusal: said in the status bar; nothing else changes."""
        self.say(message, 10_000)
