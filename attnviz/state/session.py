"""The session: everything the user has chosen, as one evented, validated model.

Widgets write to it; the controller listens to its events and recomputes. Every assignment is
checked first: a bad value raises ``ValueError`` with a message for the user, and nothing
changes (no event, no half-applied update). Events are named after the fields
(``session.events.temperature``), as psygnal's evented dataclasses do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from psygnal import evented

from attnviz.backends import BACKENDS
from attnviz.core.softmax import check_temperature
from attnviz.lessons.scenes import SCENES, TextError, get_scene

__all__ = ["MATRICES", "SEED_LOGITS", "Edit", "Session"]

SEED_LOGITS = (2.0, 1.0, 0.1, -0.5, 3.2, 0.8)
MATRICES = ("X", "Wq", "Wk", "Wv")
MAX_LOGITS = 32
TEMPERATURE_RANGE = (1e-3, 1e3)

Edit = tuple[str, int, int, int, float]  # (matrix, head, row, col, value); head ignored for X


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
    # One live parameter object per panel view (attnviz.state.views); set their fields.
    view_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from attnviz.state.views import discover

        for pid, view in discover().items():
            if view.params is not None and pid not in self.view_params:
                self.view_params[pid] = view.params()
        built = self._build(self.scene, self.text)
        object.__setattr__(self, "tokens", built.tokens)
        object.__setattr__(self, "n_heads", len(built.head_names))
        object.__setattr__(self, "_ready", True)
        for f in fields(self):
            if f.name not in ("scene", "text", "tokens", "n_heads", "view_params"):
                self._validate(f.name, getattr(self, f.name))

    # -- validation -------------------------------------------------------------------------
    @staticmethod
    def _build(scene_id: str, text: str) -> Any:
        scene = get_scene(scene_id)
        try:
            return scene.build(text)
        except TextError as exc:
            raise ValueError(str(exc)) from None

    def _validate(self, name: str, value: Any) -> Any:
        if name in ("tokens", "n_heads"):
            raise ValueError(f"{name} follows the text and scene; set text or scene instead")
        if name == "view_params":
            raise ValueError("set the fields of session.view_params[panel_id] instead")
        if name == "scene":
            get_scene(value)
            return value
        if name == "text":
            if not isinstance(value, str):
                raise ValueError("text must be a string")
            self._build(self._text_scene(), value)
            return value
        if name == "layer":
            return self._index(name, value, 1)
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
            return bool(value)
        if name == "window":
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"window must be a whole number of tokens >= 0, got {value!r}")
            return value
        if name == "backend":
            if value not in BACKENDS:
                raise ValueError(f"backend must be one of {BACKENDS}, got {value!r}")
            return value
        if name == "logits":
            vals = tuple(float(v) for v in value)
            if not 1 <= len(vals) <= MAX_LOGITS:
                raise ValueError(f"give between 1 and {MAX_LOGITS} logits, got {len(vals)}")
            if not all(math.isfinite(v) for v in vals):
                raise ValueError("every logit must be a finite number (no NaN or infinity)")
            return vals
        if name == "edits":
            return tuple(self._check_edit(e) for e in value)
        return value

    @staticmethod
    def _index(name: str, value: Any, n: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        if not 0 <= value < n:
            raise ValueError(f"{name} must lie in [0, {n - 1}], got {value}")
        return value

    @staticmethod
    def _check_edit(edit: Any) -> Edit:
        try:
            matrix, head, row, col, value = edit
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"an edit is (matrix, head, row, col, value), got {edit!r}") from None
        if matrix not in MATRICES:
            raise ValueError(f"matrix must be one of {MATRICES}, got {matrix!r}")
        if not math.isfinite(value):
            raise ValueError(f"{matrix}[{row}, {col}] must be a finite number, got {value}")
        return (matrix, int(head), int(row), int(col), value)

    def __setattr__(self, name: str, value: Any) -> None:
        # psygnal wraps this method and emits the field's event after it returns.
        if not getattr(self, "_ready", False) or getattr(self, "_trusted", False):
            super().__setattr__(name, value)  # dataclass __init__, or _set_input's own writes
            return
        value = self._validate(name, value)
        if name in ("scene", "text"):
            self._set_input(name, value)
            return
        super().__setattr__(name, value)

    def _text_scene(self) -> str:
        """Typing text into a fixed example turns it into free text."""
        return self.scene if get_scene(self.scene).editable_text else "free"

    def _set_input(self, name: str, value: str) -> None:
        """Change scene or text, and the fields that follow from them, as one update.

        The field being assigned is written here without an event; psygnal's wrapper around
        ``__setattr__`` emits it once this returns. The fields that follow are set through
        ``setattr`` so each emits its own event.
        """
        if name == "scene":
            scene = get_scene(value)
            text = scene.text if scene.text is not None else self.text
        else:
            scene, text = get_scene(self._text_scene()), value
        built = self._build(scene.scene_id, text)
        n_heads, n_tokens = len(built.head_names), len(built.tokens)
        head = scene.default_head if name == "scene" else self.head
        token = scene.default_token if name == "scene" else self.selected_token
        updates = {
            "edits": (),
            "scene": scene.scene_id,
            "text": text,
            "tokens": built.tokens,
            "n_heads": n_heads,
            "head": min(head, n_heads - 1),
            "selected_token": min(token, n_tokens - 1),
        }
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
        edit = self._check_edit((matrix, head, row, col, value))
        key = edit[:4] if matrix != "X" else ("X", 0, row, col)
        kept = tuple(e for e in self.edits if (e[:4] if e[0] != "X" else ("X", 0, *e[2:4])) != key)
        self.edits = (*kept, edit)
