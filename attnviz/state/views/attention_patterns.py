"""The attention-patterns panel's own numbers: a gallery of masks with their costs, and the
induction-head lesson.

Gallery: every pattern is built by :mod:`attnviz.core.masks` at the chosen n and w, pictured at
most 128 cells a side (:func:`attnviz.core.patterns.coverage`), counted, and paired with its
cost formula from :mod:`attnviz.core.patterns`. Induction: the two-layer toy of
:mod:`attnviz.lessons.induction` run through scaled dot-product attention, with each head's
previous-token and induction scores from :mod:`attnviz.core.head_stats`.

Both depend only on this view's parameters, not on the session's text, so they are cached: a
temperature drag elsewhere costs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from psygnal import evented

from attnviz.backends import scaled_dot_product_attention
from attnviz.core import masks, patterns
from attnviz.core.head_stats import induction_score, previous_token_score
from attnviz.core.patterns import PatternCost
from attnviz.lessons.induction import (
    NEXT,
    VOCAB,
    InductionToy,
    ToyLayer,
    build_induction_toy,
    check_period,
)
from attnviz.state.request import Result
from attnviz.state.views import Params, register_view

__all__ = [
    "GalleryEntry",
    "InductionData",
    "PatternParams",
    "PatternsData",
    "compute",
    "gallery",
    "induction_forward",
    "induction_lesson",
]

N_RANGE = (4, 4096)
GLOBAL_TOKENS = 1  # Longformer / BigBird: the first token is global (a [CLS]-like token)
RANDOM_KEYS = 2  # BigBird: random keys per query
DILATION = 2
SEED = 0
PICTURE_CELLS = 128  # the largest picture side; above it each cell shows a share of pairs


@evented
@dataclass
class PatternParams(Params):
    """n tokens, window / block size w, and the induction lesson's repeated-block length."""

    n: int = 64
    w: int = 4
    period: int = 8

    def validate(self, name: str, value: Any) -> Any:
        whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
        if name in ("n", "w") and not whole:
            raise ValueError(f"{name} must be a whole number of tokens, got {value!r}")
        if name == "n":
            lo, hi = N_RANGE
            if not lo <= value <= hi:
                raise ValueError(f"n must lie in [{lo}, {hi:,}] tokens, got {value:,}")
            if getattr(self, "_ready", False) and self.w > value:
                self.w = int(value)  # a window never exceeds the sequence
            return int(value)
        if name == "w":
            n = self.n
            if not 1 <= value <= n:
                raise ValueError(f"w must lie in [1, n = {n:,}] tokens, got {value:,}")
            return int(value)
        if name == "period":
            return check_period(value)
        return value


@dataclass(frozen=True)
class GalleryEntry:
    name: str
    rule: str  # which pairs it scores, in words
    picture: np.ndarray  # (c, c) float32, c <= PICTURE_CELLS: share of pairs kept per cell
    pairs: int  # pairs the built mask scores (counted)
    density: float  # pairs / n²
    cost: PatternCost  # the formula's count (an upper bound for BigBird)


@dataclass(frozen=True)
class InductionData:
    tokens: tuple[str, ...]  # <s>, the block, the block again
    period: int
    start: int
    weights: tuple[np.ndarray, np.ndarray]  # per layer, (H, n, n)
    head_labels: tuple[str, ...]  # "L1 · previous token", … one per (layer, head)
    previous_scores: np.ndarray  # (layers · H,)
    induction_scores: np.ndarray  # (layers · H,)
    predicted: tuple[str, ...]  # the induction head's guess of the token after each position
    correct: int  # right guesses in the second copy (where the next token is known)
    checked: int


@dataclass(frozen=True)
class PatternsData:
    n: int
    w: int
    entries: tuple[GalleryEntry, ...]
    induction: InductionData


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False  # cached and shared between results
    return a


@lru_cache(maxsize=8)
def gallery(n: int, w: int) -> tuple[GalleryEntry, ...]:
    """Every pattern at n tokens and window / block w, pictured, counted and costed."""
    g, r = GLOBAL_TOKENS, RANDOM_KEYS
    specs = (
        ("full", "every key", np.ones((n, n), dtype=bool), patterns.full_cost(n)),
        ("causal", "keys j ≤ i", masks.causal_mask(n).mask, patterns.causal_cost(n)),
        ("window", f"sliding window: |i − j| ≤ {w}",
         masks.sliding_window_mask(n, w, w).mask, patterns.sliding_window_cost(n, w, w)),
        ("dilated", f"|i − j| = {DILATION}·k, k ≤ {w}",
         masks.dilated_mask(n, w, DILATION).mask, patterns.dilated_cost(n, w, DILATION)),
        ("Longformer", f"global + local: window {w}, token 1 global",
         masks.global_local_mask(n, w, g).mask, patterns.global_local_cost(n, w, g)),
        ("BigBird", f"random + window + global: {r} random keys per query",
         masks.bigbird_mask(n, w, g, r, seed=SEED).mask, patterns.bigbird_cost(n, w, g, r)),
        ("block", f"diagonal blocks of {w} tokens",
         masks.block_sparse_mask(n, w).mask, patterns.block_cost(n, w)),
    )  # fmt: skip
    entries = []
    for name, rule, mask, cost in specs:
        pairs = int(np.count_nonzero(mask))
        picture = _read_only(patterns.coverage(mask, PICTURE_CELLS))
        entries.append(GalleryEntry(name, rule, picture, pairs, pairs / (n * n), cost))
    return tuple(entries)


def _attend(h: np.ndarray, layer: ToyLayer) -> tuple[np.ndarray, np.ndarray]:
    """One causal attention layer on the residual stream h (n, D): (new h, weights (H, n, n))."""
    # (n, D) @ (H, D, E) -> (H, n, E) per head.
    q = np.matmul(h, layer.wq).astype(np.float32)
    k = np.matmul(h, layer.wk).astype(np.float32)
    v = np.matmul(h, layer.wv).astype(np.float32)
    out, w = scaled_dot_product_attention(q, k, v, is_causal=True, return_weights=True)
    # Residual: h + Σ_h out_h @ W_O,h ; (H, n, E) @ (H, E, D) -> (H, n, D), summed over heads.
    return h + np.matmul(out.astype(np.float64), layer.wo).sum(axis=0), np.asarray(w)


def induction_forward(toy: InductionToy) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Both layers on the toy's sequence: (weights of each layer (H, n, n), final stream (n, D))."""
    h, weights = toy.x, []
    for layer in toy.layers:
        h, w = _attend(h, layer)
        weights.append(w)
    return tuple(weights), h


@lru_cache(maxsize=8)
def induction_lesson(period: int, seed: int = SEED) -> InductionData:
    """Run the two-layer toy on a repeated random block; score every head."""
    toy = build_induction_toy(period, seed)
    (w1, w2), h2 = induction_forward(toy)
    labels, prev, ind = [], [], []
    for li, (layer, w) in enumerate(zip(toy.layers, (w1, w2), strict=True)):
        labels += [f"L{li + 1} · {name}" for name in layer.head_names]
        prev.append(previous_token_score(w))
        ind.append(induction_score(w, toy.period, start=toy.start))
    guess = np.argmax(h2[:, NEXT], axis=1)  # the next-token slot the induction head wrote
    second = np.arange(toy.start + toy.period, len(toy.tokens) - 1)  # next token known
    correct = int(np.count_nonzero(guess[second] == toy.token_ids[second + 1]))
    return InductionData(
        tokens=toy.tokens,
        period=toy.period,
        start=toy.start,
        weights=(_read_only(w1), _read_only(w2)),
        head_labels=tuple(labels),
        previous_scores=_read_only(np.concatenate(prev)),
        induction_scores=_read_only(np.concatenate(ind)),
        predicted=tuple(VOCAB[i] for i in guess),
        correct=correct,
        checked=int(second.size),
    )


@register_view("attention_patterns", params=PatternParams)
def compute(result: Result, params: PatternParams) -> PatternsData:
    return PatternsData(
        n=params.n,
        w=params.w,
        entries=gallery(params.n, params.w),
        induction=induction_lesson(params.period),
    )
