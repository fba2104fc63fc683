"""Lesson scenes: the example inputs a lecture starts from.

A scene fixes the tokens' embeddings X and each head's Wq, Wk, Wv. Three are written down (the
cat sentence, the game sentence, and the four-token, three-feature example); "free text" embeds
whatever the user types with the toy model's features. All numbers are illustrative, and every
later number is computed from them by the compute core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.lessons.toy_model import FEATURES, FREQS, MAX_TOKENS, build_toy_model, embed, tokenize

__all__ = ["SCENES", "Scene", "SceneInput", "TextError", "get_scene"]


class TextError(ValueError):
    """The text cannot be shown; the message says why and what to do."""


@dataclass(frozen=True)
class SceneInput:
    """What one scene gives the pipeline for a text: tokens, X (n, d) and per-head weights."""

    tokens: tuple[str, ...]
    x: np.ndarray  # (n, d_model)
    wq: np.ndarray  # (H, d_model, d_k)
    wk: np.ndarray  # (H, d_model, d_k)
    wv: np.ndarray  # (H, d_model, d_v)
    head_names: tuple[str, ...]
    feature_names: tuple[str, ...]


@dataclass(frozen=True)
class Scene:
    """A named starting point: its text (None: the user types it), and the default view."""

    scene_id: str
    title: str
    text: str | None
    default_head: int
    default_token: int
    editable_text: bool

    def build(self, text: str | None = None) -> SceneInput:
        """Tokens, embeddings and projections for ``text`` (the scene's own text by default)."""
        text = self.text if text is None or not self.editable_text else text
        if self.scene_id == "qkv4":
            return _qkv4()
        return _toy_input(text or "")


# The explainer's 4 x 3 input matrix; Wq, Wk, Wv below are ours, chosen small and readable.
_X4 = np.array([[1.0, 0.5, 0.3], [0.2, 0.8, 0.6], [0.7, 0.1, 0.9], [0.4, 0.6, 0.2]])
_WQ4 = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.0], [0.5, 0.0, 1.0]])
_WK4 = np.array([[0.8, 0.2, 0.0], [0.0, 1.0, 0.3], [0.2, 0.0, 1.0]])
_WV4 = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def _qkv4() -> SceneInput:
    return SceneInput(
        tokens=("I", "love", "this", "game"),
        x=_X4.copy(),
        wq=_WQ4[None].copy(),
        wk=_WK4[None].copy(),
        wv=_WV4[None].copy(),
        head_names=("example head",),
        feature_names=("f1", "f2", "f3"),
    )


def _toy_input(text: str) -> SceneInput:
    tokens = tokenize(text)
    if not tokens:
        raise TextError("The text is empty: type at least one word.")
    if len(tokens) > MAX_TOKENS:
        raise TextError(
            f"This text has {len(tokens):,} tokens; attnviz shows at most {MAX_TOKENS:,}, "
            f"because every view of it is an L×L matrix ({len(tokens) ** 2:,} cells here). "
            "Shorten the text."
        )
    model = build_toy_model()
    pos_names = tuple(f"{fn}(p·{w:g})" for w in FREQS for fn in ("cos", "sin"))
    return SceneInput(
        tokens=tuple(tokens),
        x=embed(tokens),
        wq=model.wq,
        wk=model.wk,
        wv=model.wv,
        head_names=model.head_names,
        feature_names=FEATURES + pos_names,
    )


SCENES: dict[str, Scene] = {
    s.scene_id: s
    for s in (
        Scene("cat", "The cat sat on the mat", "The cat sat on the mat because it was tired",
              default_head=2, default_token=7, editable_text=False),
        Scene("game", "I love this game !", "I love this game !",
              default_head=3, default_token=1, editable_text=False),
        Scene("qkv4", "Q/K/V by hand: 4 tokens, 3 features", "I love this game",
              default_head=0, default_token=1, editable_text=False),
        Scene("free", "Free text", None, default_head=0, default_token=0, editable_text=True),
    )
}  # fmt: skip


def get_scene(scene_id: str) -> Scene:
    """The scene called ``scene_id``, or a ValueError naming the ones there are."""
    try:
        return SCENES[scene_id]
    except KeyError:
        raise ValueError(f"unknown scene {scene_id!r}; choose one of {list(SCENES)}") from None
