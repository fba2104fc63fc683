"""The input toolbar of the main window: model, scene, text, layer, head, mask; what it shows
follows the session."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from attnviz.gui.binding import bind
from attnviz.gui.theme import theme_manager
from attnviz.gui.worker import Outcome, start_worker
from attnviz.lessons import SCENES
from attnviz.models import discover
from attnviz.state.session import CAUSAL_HELP
from attnviz.state.source import STACKS, model_translation

__all__ = ["SPECIAL_TOKENS_HELP", "InputBar", "fit_current_text"]

TOY_LABEL = "Toy model (illustrative)"
STACK_LABELS = {"encoder": "Encoder self-attention", "decoder": "Decoder self-attention"}
TRANSLATE_HELP = (
    "Let the model write the target: greedy decoding, the most likely next token at each step, "
    "until the end of the sentence"
)
OPEN_FOLDER = "Open model folder…"
SPECIAL_TOKENS_HELP = (
    "Drop [CLS], [SEP], <s> and other special tokens from every panel and renormalise each "
    "row over the words that are left.\n\nWhy so much attention lands on them: many trained "
    "heads have nothing useful to look at for most tokens, and park their weight on a token "
    "that is always there — [CLS]/[SEP] in BERT, the first token in GPT-style models. These "
    "'attention sinks' act as a no-op: the head adds little to the token. Hiding them shows "
    "where the rest of the weight goes."
)


def fit_current_text(box: QtWidgets.QComboBox) -> None:
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


class InputBar:
    """Main-window part: the toolbars that write the session (model picker, scene, text,
    layer, head, token, temperature, causal mask), and what follows a model change."""

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
        # A second text: an encoder–decoder's target (shown only where the source reads one).
        self.text_b_label = QtWidgets.QLabel("  Target ")
        self.text_b_edit = QtWidgets.QLineEdit()
        self.text_b_edit.setObjectName("second_text_input")
        self.text_b_edit.setMinimumWidth(240)
        self.text_b_edit.returnPressed.connect(self._apply_text_b)
        self.translate_button = QtWidgets.QPushButton("Translate")
        self.translate_button.setObjectName("translate_button")
        self.translate_button.setToolTip(TRANSLATE_HELP)
        self.translate_button.clicked.connect(self.translate)
        self._second_actions = [
            tb.addWidget(w) for w in (self.text_b_label, self.text_b_edit, self.translate_button)
        ]
        self._translating: str | None = None  # the source text being translated
        s.events.text_b.connect(self._show_text_b)

        # What to look at, in a toolbar of its own: when the two do not fit side by side (a
        # projector, presenter type) it moves to a second row instead of hiding Head and
        # Causal mask behind "»".
        tb = self.view_toolbar = QtWidgets.QToolBar("View", self)
        tb.setObjectName("view_toolbar")
        tb.setMovable(False)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, tb)
        self._toolbar_breaks: dict[str, bool] = {}
        theme_manager().changed.connect(self._fit_toolbars_later)
        # An encoder–decoder's two self-attentions: which one the panels show.
        self.stack_box = QtWidgets.QComboBox()
        self.stack_box.setObjectName("stack_selector")
        for stack in STACKS:
            self.stack_box.addItem(STACK_LABELS[stack], stack)
        self.stack_box.setToolTip(
            "The encoder reads the source with every token visible; the decoder reads the "
            "target so far (causal). The cross-attention panel shows how the decoder reads "
            "the source."
        )
        bind(
            s, "stack", self.stack_box.currentIndexChanged,
            lambda v: self.stack_box.setCurrentIndex(self.stack_box.findData(v)),
            to_model=lambda i: self.stack_box.itemData(i), on_error=self.show_error,
            widget=self.stack_box,
        )  # fmt: skip
        self._stack_action = tb.addWidget(self.stack_box)
        s.events.stack.connect(lambda *_: self._show_causal_forced())
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
            box.currentIndexChanged.connect(lambda _, b=box: fit_current_text(b))
            fit_current_text(box)
        # The session sets the boxes with their signals blocked (a lesson step's scene, a
        # model's heads): fit them then too ("Q/K/V by hand: 4 tokens, 3 fe" was cut).
        for event in (s.events.scene, s.events.model_path, s.events.n_heads, s.events.head):
            event.connect(lambda *_: [fit_current_text(b) for b in
                                      (self.model_box, self.scene_box, self.head_box)])  # fmt: skip

        tb.addSeparator()
        self.causal_box = QtWidgets.QCheckBox("Causal mask")
        bind(s, "causal", self.causal_box.toggled, self.causal_box.setChecked,
             on_error=self.show_error, widget=self.causal_box)  # fmt: skip
        tb.addWidget(self.causal_box)
        self._show_causal_forced()
        self._show_second_text()

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
                box.addItem(e.label, str(e.path))
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
        self._show_second_text()
        if self.session.source.caps.cross and not self.session.text_b:
            self.translate()  # an encoder–decoder starts with its own translation as the target
        m = self.session.model
        if m is not None:
            self._loading = m.info.name
            self.say(f"Loading {m.info.name}… ")

    def _show_causal_forced(self) -> None:
        lock = self.session.causal_lock()
        self.causal_box.setEnabled(not lock)
        self.causal_box.setToolTip(lock or CAUSAL_HELP)

    # -- a second text: an encoder–decoder's target ------------------------------------------
    def _show_second_text(self) -> None:
        caps = self.session.source.caps
        label = caps.second_text
        label_action, edit_action, translate_action = self._second_actions
        label_action.setVisible(bool(label))
        edit_action.setVisible(bool(label))
        translate_action.setVisible(caps.cross)  # only a decoder can write a target
        self._stack_action.setVisible(bool(caps.stacks))
        if label:
            self.text_b_label.setText(f"  {label} ")
            self.text_b_edit.setPlaceholderText(
                "Type the target and press Enter, or let the model translate"
                if caps.cross
                else "A second sentence (press Enter)"
            )
        self._show_text_b()

    def _show_text_b(self, *_: object) -> None:
        with signals_blocked(self.text_b_edit):
            self.text_b_edit.setText(self.session.text_b)
            self.text_b_edit.setCursorPosition(0)

    def _apply_text_b(self) -> None:
        try:
            self.session.text_b = self.text_b_edit.text()
        except ValueError as exc:
            self.show_error(str(exc))
            self._show_text_b()  # the field shows what is in force
            return
        self.say(f"{len(self.session.tokens)} tokens", 4000)

    def translate(self) -> bool:
        """Let the model write the target for the source text (greedy, on a worker thread);
        False when the source has no decoder or a translation is already running."""
        s = self.session
        if not s.source.caps.cross or self._translating is not None or s.model_path is None:
            return False
        self._translating = s.text
        self.translate_button.setEnabled(False)
        self.say(f"Translating with {s.source.name}… ")
        start_worker(model_translation, s.model_path, s.text, on_done=self._on_translated,
                     tag=(s.model_path, s.text))  # fmt: skip
        return True

    def _on_translated(self, outcome: Outcome) -> None:
        self._translating = None
        self.translate_button.setEnabled(True)
        if outcome.error is not None:
            self.show_error(f"Translation failed: {outcome.detail}")
            return
        if outcome.tag != (self.session.model_path, self.session.text):
            self.say("The text changed while the model translated: press Translate again", 6000)
            return
        try:
            self.session.text_b = outcome.value
        except ValueError as exc:
            self.show_error(f"The model's translation cannot be shown: {exc}")
            return
        self.say(f"The model's translation: {outcome.value}", 8000)

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
