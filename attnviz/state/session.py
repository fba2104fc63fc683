"""The session: everything the user has chosen, as one evented, validated model.

Widgets write to it; the controller listens to its events and recomputes. Every assignment is
checked first: a bad value raises ``ValueError`` with a message for the user, and nothing
changes (no event, no half-applied update). Events are named after the fields
(``session.events.temperature``), as psygnal's evented dataclasses do.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from psygnal import evented

from attnviz.backends import BACKENDS
from attnviz.core.softmax import check_temperature
from attnviz.lessons.scenes import SCENES, TextError, get_scene
from attnviz.models import Generation, Model
from attnviz.models.attention_file import AttentionFile
from attnviz.models.encoder_decoder import is_encoder_decoder
from attnviz.state.source import (
    STACKS,
    GenerationSource,
    ModelSource,
    Source,
    TrainingSource,
    attention_file,
    model_stamp,
    source_of,
    tokenizing_model,
)
from attnviz.train import Trainer

__all__ = [
    "MATRICES",
    "MAX_EDITS",
    "MAX_TEXT_CHARS",
    "MAX_VALUE",
    "SEED_LOGITS",
    "Edit",
    "Session",
    "attention_file",
    "model_stamp",
]

SEED_LOGITS = (2.0, 1.0, 0.1, -0.5, 3.2, 0.8)
MATRICES = ("X", "Wq", "Wk", "Wv")
MAX_LOGITS = 32
TEMPERATURE_RANGE = (1e-3, 1e3)
# The one rule for typed numbers (cells of X and W, logits): |value| <= MAX_VALUE. With every
# cell at the limit, a score is at most d_model² · MAX_VALUE⁴ / √d_k ≈ 1e26 and, divided by the
# smallest temperature, 1e29: finite in float32 (3.4e38). One more decade in each of the four
# factors would not be.
MAX_VALUE = 1e6
MAX_TEXT_CHARS = 100_000  # far more than MAX_TOKENS words; bounds what a scene file holds
MAX_EDITS = 10_000
MAX_WINDOW = 1_000_000  # tokens; any window at least the text's length means "unlimited"
NO_EDITS = (
    "X and W belong to the real model (its hidden states and trained weights); editing them is "
    "for the toy model — choose “Toy model” to edit"
)
FILE_TEXT = "the tokens come from the saved-attention file; choose “Toy model” to type text"
FILE_TEMPERATURE = (
    "temperature rescales scores before the softmax, and a saved-attention file holds only the "
    "probabilities after it: choose “Toy model” or a real model to change the temperature"
)
CAUSAL_HELP = "Hide every later token from each query"  # what the causal toggle does, when free
FILE_CAUSAL = (
    "the saved probabilities already contain whatever mask was used when they were saved; "
    "the causal mask cannot be changed for a saved-attention file"
)
FILE_EDITS = "a saved-attention file has no X or W to edit; choose “Toy model” to edit"
INPUTS = ("scene", "text", "model_path", "hide_special", "attention_path", "text_b", "stack",
          "gen_step", "train_view")  # fmt: skip
ONE_TEXT = (
    "a second text is for real models that read two: an encoder–decoder's target, or a "
    "sentence pair for a model with token types; {name} reads one"
)
_FIXED_BY_SOURCE = ("text", "hide_special", "edits", "causal", "temperature")

Edit = tuple[str, int, int, int, float]  # (matrix, head, row, col, value); head ignored for X


def check_value(label: str, value: Any) -> float:
    """A typed number as a float, or ValueError unless finite and within ±MAX_VALUE."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{label} must be a finite number (no NaN or infinity), got {v}")
    if abs(v) > MAX_VALUE:
        raise ValueError(
            f"{label} must lie within ±{MAX_VALUE:,.0f}, got {v:g}: larger values overflow "
            "the float32 scores"
        )
    return v


def check_text(label: str, value: Any) -> None:
    """ValueError unless ``value`` is a string of at most MAX_TEXT_CHARS characters."""
    if not isinstance(value, str):
        raise ValueError(f"{label} must be a string")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(
            f"{label} is too long ({len(value):,} characters; at most {MAX_TEXT_CHARS:,}): "
            "shorten it"
        )


def _bare(token: str) -> str:
    """A token without its tokenizer's word markers (Ġ, ▁, ##), lower case."""
    return token.lstrip("Ġ▁").removeprefix("##").strip().lower()


def same_word(tokens: tuple[str, ...], special: Any, word: str) -> int:
    """Index of ``word`` among a model's ``tokens``; else its first content word (not a special
    token, a word of letters), else 0."""
    want = _bare(word)
    bare = [_bare(t) for t in tokens]
    if want in bare:
        return bare.index(want)
    for i, (t, sp) in enumerate(zip(bare, special, strict=False)):
        if not sp and t.isalpha():
            return i
    return 0


def looks_causal(att: AttentionFile) -> bool:
    """True when no query in any layer or head puts weight on a later key."""
    rows, cols = np.triu_indices(att.attentions.shape[-1], 1)
    return not bool(att.attentions[..., rows, cols].any())


@evented
@dataclass
class Session:
    """The app's state. Assign fields to change it; listen on ``session.events.<field>``."""

    scene: str = "cat"
    text: str = SCENES["cat"].text or ""
    tokens: tuple[str, ...] = ()
    n_heads: int = 0
    layer: int = 0
    head: int = SCENES["cat"].default_head
    selected_token: int = SCENES["cat"].default_token
    temperature: float = 1.0
    causal: bool = False
    window: int | None = None
    backend: str = "auto"
    logits: tuple[float, ...] = SEED_LOGITS
    edits: tuple[Edit, ...] = field(default_factory=tuple)
    # A real model's folder (None: the toy scenes). Tokens, layers and heads then follow it.
    model_path: str | None = None
    # Drop [CLS]/[SEP]/<s> … rows and columns and renormalise (real models only).
    hide_special: bool = False
    # Saved attention probabilities (.npz/.npy, attnviz.models.attention_file); None: not used.
    # Tokens, layers and heads then follow the file; temperature and mask cannot change.
    attention_path: str | None = None
    # A second text: an encoder–decoder's target (the decoder's input), or sentence B of a pair.
    text_b: str = ""
    # Which self-attention an encoder–decoder shows: its "encoder" or its "decoder" (STACKS).
    stack: str = "encoder"
    # Which step of the session's generation is shown (1 … steps; see show_generation): the
    # prompt and the tokens generated before it, the last one the query. 0: the text itself.
    gen_step: int = 0
    # Which checkpoint of the session's training run is shown (1 … checkpoints; see
    # show_training), on the run's probe. 0: not a training run.
    train_view: int = 0
    n_layers: int = 1
    # One live parameter object per panel view (attnviz.state.views); set their fields.
    view_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from attnviz.state.views import discover

        for pid, view in discover().items():
            if view.params is not None and pid not in self.view_params:
                self.view_params[pid] = view.params()
        built = self._build(self.scene, self.text)
        object.__setattr__(self, "_model", None)
        object.__setattr__(self, "tokens", built.tokens)
        object.__setattr__(self, "n_heads", len(built.head_names))
        object.__setattr__(self, "n_layers", 1)
        object.__setattr__(self, "_attention", None)
        object.__setattr__(self, "_generation", None)
        object.__setattr__(self, "gen_step", 0)
        object.__setattr__(self, "_training", None)
        object.__setattr__(self, "train_view", 0)
        model_path, hide, att_path = self.model_path, self.hide_special, self.attention_path
        text_b, stack = self.text_b, self.stack
        object.__setattr__(self, "model_path", None)
        object.__setattr__(self, "hide_special", False)
        object.__setattr__(self, "attention_path", None)
        object.__setattr__(self, "text_b", "")
        object.__setattr__(self, "stack", "encoder")
        object.__setattr__(self, "_ready", True)
        if model_path is not None:
            self.model_path = model_path
        self.hide_special = hide
        if text_b:
            self.text_b = text_b
        if stack != "encoder":
            self.stack = stack
        if att_path is not None:
            self.attention_path = att_path
        derived = ("scene", "text", "tokens", "n_heads", "n_layers", "view_params", "model_path",
                   "attention_path", "text_b", "stack", "gen_step", "train_view")  # fmt: skip
        for f in fields(self):
            if f.name not in (*derived, "hide_special"):
                self._validate(f.name, getattr(self, f.name))

    @property
    def model(self) -> Model | None:
        """The active model's tokenizer and description (weights are loaded by the pipeline)."""
        return self._model  # type: ignore[attr-defined]

    @property
    def generation(self) -> Generation | None:
        """The generation shown by the timeline (``gen_step``), or None."""
        return self._generation  # type: ignore[attr-defined]

    def show_generation(self, gen: Generation | None) -> None:
        """Show ``gen`` (generated from this session's model and text) at its last step, or
        go back to the text itself (None). The timeline then moves with ``gen_step``."""
        if gen is None:
            self.gen_step = 0
            object.__setattr__(self, "_generation", None)
            return
        if self.model_path is None or str(gen.model.info.path) != self.model_path:
            raise ValueError("this generation is of another model than the one shown")
        if gen.prompt_text != self.text:
            raise ValueError("the text changed while generating: generate again")
        if not gen.steps:
            raise ValueError("the generation has no step to show")
        self.gen_step = 0  # a new generation replaces the old one from its start
        object.__setattr__(self, "_generation", gen)
        self.gen_step = len(gen.steps)

    @property
    def training(self) -> Trainer | None:
        """The training run shown (``train_view``), or None."""
        return self._training  # type: ignore[attr-defined]

    def show_training(self, trainer: Trainer | None, index: int | None = None) -> None:
        """Show checkpoint ``index`` (default: the latest) of ``trainer`` in every panel, or
        go back to what was shown before training (None)."""
        if trainer is None:
            self.train_view = 0
            object.__setattr__(self, "_training", None)
            return
        index = len(trainer.checkpoints) if index is None else index
        if self.training is not trainer:
            self.train_view = 0
            object.__setattr__(self, "_training", trainer)
        self.train_view = index

    @property
    def source(self) -> Source:
        """What the session shows (a toy scene, a model, a saved file): its tokens, and what it
        can provide (``source.caps``). Made again only when the input changes."""
        key = (self.scene, self.text, self.edits, self.model_path, self.hide_special,
               self.attention_path, self.text_b, self.stack, self.gen_step,
               id(self.generation), self.train_view, id(self.training))  # fmt: skip
        made = getattr(self, "_source", None)
        if made is None or made[0] != key:
            made = (key, source_of(self))
            object.__setattr__(self, "_source", made)
        return made[1]

    @property
    def attention(self) -> AttentionFile | None:
        """The saved-attention file in use (its probabilities and tokens), or None."""
        return self._attention  # type: ignore[attr-defined]

    # -- validation -------------------------------------------------------------------------
    @staticmethod
    def _build(scene_id: str, text: str) -> Any:
        scene = get_scene(scene_id)
        try:
            return scene.build(text)
        except TextError as exc:
            raise ValueError(str(exc)) from None

    def _validate(self, name: str, value: Any) -> Any:
        if name in ("tokens", "n_heads", "n_layers"):
            raise ValueError(f"{name} follows the text and scene; set text or scene instead")
        model = self.model
        if name == "attention_path":
            if value is None:
                return None
            if not isinstance(value, (str, os.PathLike)):
                raise ValueError(f"attention_path must be a file path, got {value!r}")
            return str(attention_file(value).path.resolve())
        # What the source cannot change (saved probabilities: text, mask and temperature are
        # as they were saved; there are no tokens to hide, nothing to edit).
        caps = self.source.caps if name in _FIXED_BY_SOURCE else None
        if caps is not None:
            if name == "text" and not caps.typed_text and value != self.text:
                raise ValueError(FILE_TEXT)
            if name == "hide_special" and not caps.has_qkv and value:
                raise ValueError(
                    "hiding special tokens is for real models; a saved-attention file is shown "
                    "as saved"
                )
            if name == "edits" and not caps.has_qkv and value:
                raise ValueError(FILE_EDITS)
            if name == "causal" and not caps.adjustable and bool(value) != self.causal:
                raise ValueError(FILE_CAUSAL)
            if name == "temperature" and not caps.adjustable and value != self.temperature:
                raise ValueError(FILE_TEMPERATURE)
        if name == "model_path":
            if value is None:
                return None
            if not isinstance(value, (str, os.PathLike)):
                raise ValueError(f"model_path must be a folder path, got {value!r}")
            m = tokenizing_model(value)  # ModelError (a ValueError) says what is wrong
            # The text (and a target the new model reads) must fit its positions.
            self._model_source(path=str(m.info.path), text_b=self._kept_text_b(m), stack="encoder")
            return str(m.info.path)
        if name == "hide_special":
            value = bool(value)
            if model is not None:
                self._model_source(hide=value)
            return value
        if name in ("text_b", "stack"):
            if name == "text_b":
                check_text("the second text", value)
            elif value not in STACKS:
                raise ValueError(f"stack must be one of {STACKS}, got {value!r}")
            if model is not None:
                self._model_source(**{name: value})
            elif name == "text_b" and value:
                raise ValueError(ONE_TEXT.format(name=self.source.name))
            elif name == "stack" and value != "encoder":
                raise ValueError("only an encoder–decoder model has a decoder stack to show")
            return value
        if name == "train_view":
            run = self.training
            n = 0 if run is None else len(run.checkpoints)
            if not (n or value == 0):
                raise ValueError("there is no training run to show: press Train first")
            return self._index("the checkpoint", value, n + 1)
        if name == "gen_step":
            gen = self.generation
            steps = 0 if gen is None else len(gen.steps)
            if not (steps or value == 0):
                raise ValueError("there is no generation to step through: generate first")
            return self._index("the generation step", value, steps + 1)
        if name == "view_params":
            raise ValueError("set the fields of session.view_params[panel_id] instead")
        if name == "scene":
            get_scene(value)
            return value
        if name == "text":
            check_text("the text", value)
            if model is not None:
                self._model_source(text=value)
            else:
                self._build(self._text_scene(), value)
            return value
        if name == "layer":
            return self._index(name, value, self.n_layers)
        if name == "head":
            return self._index(name, value, self.n_heads)
        if name == "selected_token":
            return self._index(name, value, len(self.tokens))
        if name == "temperature":
            t = check_temperature(value)
            lo, hi = TEMPERATURE_RANGE
            if not lo <= t <= hi:
                raise ValueError(f"temperature must lie in [{lo:g}, {hi:g}], got {t:g}")
            return t
        if name == "causal":
            if bool(value) != self.causal and self.causal_lock():
                raise ValueError(self.causal_lock())
            return bool(value)
        if name == "window":
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"window must be a whole number of tokens >= 0, got {value!r}")
            if value > MAX_WINDOW:
                raise ValueError(
                    f"window must be at most {MAX_WINDOW:,} tokens, got {value:,} (no window: "
                    "every key is visible)"
                )
            return value
        if name == "backend":
            if value not in BACKENDS:
                raise ValueError(f"backend must be one of {BACKENDS}, got {value!r}")
            return value
        if name == "logits":
            vals = tuple(float(v) for v in value)
            if not 1 <= len(vals) <= MAX_LOGITS:
                raise ValueError(f"give between 1 and {MAX_LOGITS} logits, got {len(vals)}")
            for v in vals:
                check_value("a logit", v)
            return vals
        if name == "edits":
            edits = tuple(value)
            if edits and model is not None:
                raise ValueError(NO_EDITS)
            if len(edits) > MAX_EDITS:
                raise ValueError(f"at most {MAX_EDITS:,} edited cells, got {len(edits):,}")
            if not edits:
                return ()
            shapes = self.matrix_shapes()
            return tuple(self._check_edit(e, shapes) for e in edits)
        return value

    def causal_lock(self) -> str:
        """Why the causal mask cannot be switched now ("" when it can): a decoder trained with
        it, or saved probabilities that hold whatever mask they were saved with."""
        caps = self.source.caps
        if not caps.adjustable:
            return FILE_CAUSAL[0].upper() + FILE_CAUSAL[1:]
        if self.model is not None and caps.trained_causal:
            what = "its decoder" if self.stack == "decoder" else "it"
            return (
                f"{self.model.info.name} is a decoder: {what} was trained to see only earlier "
                "tokens, so the causal mask stays on"
            )
        return ""

    def _model_source(self, **changes: Any) -> ModelSource:
        """The model source the session would show with ``changes`` (path, text, hide, text_b,
        stack); ValueError (a ModelError) saying what does not fit."""
        args = {"path": self.model_path, "text": self.text, "hide": self.hide_special,
                "text_b": self.text_b, "stack": self.stack, **changes}  # fmt: skip
        return ModelSource(args["path"], args["text"], args["hide"], args["text_b"], args["stack"])

    def _kept_text_b(self, model: Model) -> str:
        """The second text a newly chosen model keeps: a target or sentence B, where it reads
        one of them (a sentence B is not a target: switching between the two kinds clears it)."""
        if is_encoder_decoder(model) and self.source.caps.second_text in ("", "Target"):
            return self.text_b
        if model.reads_pairs and self.source.caps.second_text == "Sentence B":
            return self.text_b
        return ""

    @staticmethod
    def _index(name: str, value: Any, n: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        if not 0 <= value < n:
            raise ValueError(f"{name} must lie in [0, {n - 1}], got {value}")
        return value

    def matrix_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the toy scene's X (n, d_model) and W (H, d_model, d_k): what edits may name."""
        built = self._build(self.scene, self.text)
        return {"X": built.x.shape, "Wq": built.wq.shape, "Wk": built.wk.shape,
                "Wv": built.wv.shape}  # fmt: skip

    @staticmethod
    def _check_edit(edit: Any, shapes: dict[str, tuple[int, ...]]) -> Edit:
        """One edit, checked against the scene's matrices; X's head is stored as 0."""
        try:
            matrix, head, row, col, value = edit
        except (TypeError, ValueError):
            raise ValueError(f"an edit is (matrix, head, row, col, value), got {edit!r}") from None
        if matrix not in MATRICES:
            raise ValueError(f"matrix must be one of {MATRICES}, got {matrix!r}")
        for label, index in (("head", head), ("row", row), ("column", col)):
            if isinstance(index, bool) or not isinstance(index, int | np.integer):
                raise ValueError(f"the {label} of an edit must be a whole number, got {index!r}")
        head, row, col = int(head), int(row), int(col)
        value = check_value(f"{matrix}[{row}, {col}]", value)
        shape = shapes[matrix]
        if matrix != "X":
            if not 0 <= head < shape[0]:
                raise ValueError(
                    f"{matrix} of head {head} does not exist: this scene has heads 0 to "
                    f"{shape[0] - 1}"
                )
            shape = shape[1:]
        else:
            head = 0  # X is shared by every head
        rows, cols = shape
        if not (0 <= row < rows and 0 <= col < cols):
            raise ValueError(
                f"{matrix}[{row}, {col}] is outside the matrix ({rows} rows × {cols} columns)"
            )
        return (matrix, head, row, col, value)

    def __setattr__(self, name: str, value: Any) -> None:
        # psygnal wraps this method and emits the field's event after it returns.
        if not getattr(self, "_ready", False) or getattr(self, "_trusted", False):
            super().__setattr__(name, value)  # dataclass __init__, or _set_input's own writes
            return
        value = self._validate(name, value)
        if name in INPUTS:
            self._set_input(name, value)
            return
        super().__setattr__(name, value)

    def _text_scene(self) -> str:
        """Typing text into a fixed example turns it into free text."""
        return self.scene if get_scene(self.scene).editable_text else "free"

    def _toy_input(self, scene_id: str, text: str) -> tuple[str, str, Any]:
        """Back to the toy scenes: the scene with this text, else its own, else the first one."""
        scene = get_scene(scene_id)
        for sid, t in ((scene.scene_id, scene.text or text), (scene.scene_id, scene.text),
                       ("cat", SCENES["cat"].text)):  # fmt: skip
            if t is None:
                continue
            try:
                return sid, t, self._build(sid, t)
            except ValueError:
                continue
        raise ValueError("no toy scene can show this text")  # pragma: no cover

    def _set_input(self, name: str, value: Any) -> None:
        """Change scene, text, model or hidden special tokens, and the fields that follow from
        them, as one update.

        The field being assigned is written here without an event; psygnal's wrapper around
        ``__setattr__`` emits it once this returns. The fields that follow are set through
        ``setattr`` so each emits its own event.
        """
        model, path = self.model, self.model_path
        att, att_path = self.attention, self.attention_path
        scene_id, text, hide = self.scene, self.text, self.hide_special
        text_b, stack = self.text_b, self.stack
        head, token = self.head, self.selected_token
        temperature = self.temperature
        gen_step, generation = self.gen_step, self.generation
        train_view, training = self.train_view, self.training
        if name == "scene":
            scene = get_scene(value)
            model, path, att, att_path = None, None, None, None
            scene_id, text = scene.scene_id, scene.text if scene.text is not None else self.text
            head, token = scene.default_head, scene.default_token
        elif name == "text":
            text = value
            if model is None:
                scene_id = self._text_scene()
        elif name == "model_path":
            path = value
            model = None if value is None else tokenizing_model(value)
            att, att_path = None, None
            text_b = "" if model is None else self._kept_text_b(model)
            stack = "encoder"
        elif name == "attention_path":
            att_path = value
            att = None if value is None else attention_file(value)
            model, path, text_b, stack = None, None, "", "encoder"
        elif name == "text_b":
            text_b = value
        elif name == "stack":
            stack = value
        elif name == "gen_step":
            gen_step = value
        elif name == "train_view":
            train_view = value
        else:
            hide = value
        if name not in ("gen_step", "hide_special"):  # another input: the generation is over
            gen_step, generation = 0, None
        if name != "train_view":  # … and so is showing a training run
            train_view, training = 0, None
        causal = self.causal
        if train_view and training is not None:
            src_t = TrainingSource(training, train_view)
            tokens, n_heads, n_layers = src_t.tokens, src_t.caps.heads, src_t.caps.layers
            if not self.train_view:  # as trained: causal, the repeat's first letter selected
                causal, token = True, training.task.length + 1
        elif att is not None:
            tokens, n_heads, n_layers = att.tokens, att.heads, att.layers
            if name == "attention_path":
                causal, temperature, hide = looks_causal(att), 1.0, False  # as saved
        elif model is None:
            if name in ("model_path", "attention_path"):
                scene_id, text, built = self._toy_input(scene_id, text)
            else:
                built = self._build(scene_id, text)
            tokens, n_heads, n_layers = built.tokens, len(built.head_names), 1
        elif gen_step and generation is not None:
            assert path is not None
            src = GenerationSource(path, generation, gen_step, hide)
            tokens, n_heads, n_layers = src.tokens, src.caps.heads, src.caps.layers
            token = len(tokens) - 1  # the query: the last token read
        else:
            assert path is not None
            src = ModelSource(path, text, hide, text_b, stack)
            tokens, n_heads, n_layers = src.tokens, src.caps.heads, src.caps.layers
            if name == "gen_step":  # back from a generation: the text's own last token
                token = len(tokens) - 1
            if name in ("model_path", "stack"):
                causal = src.caps.trained_causal  # the model (or stack) as it was trained
                # The same word stays selected ([CLS] would move the index one word on).
                word = self.tokens[self.selected_token] if self.tokens else ""
                token = same_word(tokens, src.special, word)
        updates = {
            "edits": () if name != "hide_special" else self.edits,
            "scene": scene_id,
            "text": text,
            "model_path": path,
            "hide_special": hide,
            "attention_path": att_path,
            "text_b": text_b,
            "stack": stack,
            "gen_step": gen_step,
            "train_view": train_view,
            "tokens": tokens,
            "n_heads": n_heads,
            "n_layers": n_layers,
            "layer": min(self.layer, n_layers - 1),
            "head": min(head, n_heads - 1),
            "selected_token": min(token, len(tokens) - 1),
            "causal": causal,
            "temperature": temperature,
        }
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_attention", att)
        object.__setattr__(self, "_generation", generation)
        object.__setattr__(self, "_training", training)
        # Everything was checked above; now write it all, each write emitting its event.
        super().__setattr__(name, updates.pop(name))
        object.__setattr__(self, "_trusted", True)
        try:
            for key, val in updates.items():
                setattr(self, key, val)
        finally:
            object.__setattr__(self, "_trusted", False)

    def add_edit(self, matrix: str, head: int, row: int, col: int, value: float) -> None:
        """Set one cell of X or of a head's W; replaces an earlier edit of the same cell."""
        if self.model is not None:
            raise ValueError(NO_EDITS)
        if self.attention is not None:
            raise ValueError(FILE_EDITS)
        edit = self._check_edit((matrix, head, row, col, value), self.matrix_shapes())
        self.edits = (*(e for e in self.edits if e[:4] != edit[:4]), edit)

    def adopt(self, other: Session) -> None:
        """Take ``other``'s input and view settings (not its backend) as one update.

        Everything is written first and the events are emitted after, one per changed field:
        a listener that fails cannot leave the session half-changed. Used to open a scene that
        was checked by replaying it on a fresh session.
        """
        names = ("edits", "scene", "text", "model_path", "hide_special", "attention_path",
                 "text_b", "stack", "tokens", "n_heads", "n_layers", "layer", "head",
                 "selected_token", "causal", "temperature", "window", "logits")  # fmt: skip
        changed = []
        for name in names:
            old, new = getattr(self, name), getattr(other, name)
            if old != new:
                changed.append((name, new, old))
        if self.gen_step:  # an opened scene starts from its text, not a generation
            changed.append(("gen_step", 0, self.gen_step))
        if self.train_view:
            changed.append(("train_view", 0, self.train_view))
        object.__setattr__(self, "_training", None)
        object.__setattr__(self, "_model", other.model)
        object.__setattr__(self, "_attention", other.attention)
        object.__setattr__(self, "_generation", None)
        for name, new, _ in changed:
            object.__setattr__(self, name, new)
        for name, new, old in changed:
            getattr(self.events, name).emit(new, old)
        for pid, params in other.view_params.items():
            self.view_params[pid].assign(params)
