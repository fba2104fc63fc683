"""A two-layer toy transformer with an induction head, built by hand.

An induction head completes "… A B … A" with "B": at the second A it looks at the token that
followed the first A, and copies it. It needs two heads in two layers (Olsson et al., 2022):

- layer 1, *previous token*: each position attends to the one before it and writes that token
  into a "previous token" slot of its residual stream;
- layer 2, *induction*: the query asks for the current token; the keys read the previous-token
  slot that layer 1 wrote (K-composition), so position i matches every j whose predecessor is
  the token at i. Its value copies token j into a "next token" slot: the prediction.

On a block of random tokens repeated twice, the second copy's position i finds the token after
its earlier occurrence at i − period + 1: a stripe parallel to the diagonal, ``period`` − 1
below it. Each layer also has a head with random Wq, Wk, Wv for comparison; its output is not
written back (its W_O is zero), so the lesson's path through the residual stream stays clean.

The residual stream is one-hot and readable: [token | position | previous token | next token].
A first token <s> never occurs in the random block, so nothing matches it by accident. Gains are
given in logits after the 1/√E scaling of scaled dot-product attention. Illustrative numbers,
not a trained model.

References
----------
- Olsson et al., "In-context Learning and Induction Heads", Transformer Circuits Thread, 2022.
- Elhage et al., "A Mathematical Framework for Transformer Circuits", 2021 (K-composition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BOS",
    "MAX_PERIOD",
    "MIN_PERIOD",
    "VOCAB",
    "InductionToy",
    "ToyLayer",
    "build_induction_toy",
    "check_period",
]

BOS = "<s>"
VOCAB = (BOS, "apple", "river", "stone", "cloud", "lamp", "tiger", "violin", "maple", "harbor",
         "pencil", "comet", "garden", "window", "salt", "rocket", "candle", "desert", "mirror",
         "orbit", "velvet", "anchor", "thunder", "marble", "cactus")  # fmt: skip
MIN_PERIOD = 3  # with 2, "the token after its earlier occurrence" is just the previous token
MAX_PERIOD = len(VOCAB) - 1  # the block's tokens are distinct
V = len(VOCAB)
N_POS = 1 + 2 * MAX_PERIOD  # <s> and two copies of the longest block
TOK = slice(0, V)
POS = slice(V, V + N_POS)
PREV = slice(V + N_POS, 2 * V + N_POS)
NEXT = slice(2 * V + N_POS, 3 * V + N_POS)
D_MODEL = 3 * V + N_POS
HEAD_DIM = N_POS  # one query/key column per position (layer 1) or per token (layer 2)
PREVIOUS_LOGIT = 10.0  # scaled score of a query on the position just before it
INDUCTION_LOGIT = 10.0  # scaled score of a query on a key whose predecessor is the same token
RANDOM_STD = 0.5  # entries of the comparison heads' Wq, Wk, Wv


def check_period(period: object) -> int:
    """``period`` as an int, or a ValueError saying which periods the toy can show."""
    if isinstance(period, bool) or not isinstance(period, int | np.integer):
        raise ValueError(f"period must be a whole number of tokens, got {period!r}")
    if not MIN_PERIOD <= period <= MAX_PERIOD:
        raise ValueError(
            f"period must lie in [{MIN_PERIOD}, {MAX_PERIOD}] (the repeated block uses distinct "
            f"words from a vocabulary of {MAX_PERIOD}), got {period}"
        )
    return int(period)


@dataclass(frozen=True)
class ToyLayer:
    """One attention layer: per-head projections and the output map back to the stream."""

    wq: np.ndarray  # (H, D_MODEL, HEAD_DIM)
    wk: np.ndarray  # (H, D_MODEL, HEAD_DIM)
    wv: np.ndarray  # (H, D_MODEL, HEAD_DIM)
    wo: np.ndarray  # (H, HEAD_DIM, D_MODEL): the residual stream gets Σ_h out_h @ wo_h
    head_names: tuple[str, ...]


@dataclass(frozen=True)
class InductionToy:
    """The repeated sequence, its embeddings and the two layers."""

    tokens: tuple[str, ...]  # <s>, the block, the block again: 2·period + 1 tokens
    token_ids: np.ndarray  # (n,) indices into VOCAB
    x: np.ndarray  # (n, D_MODEL): token and position one-hots
    layers: tuple[ToyLayer, ToyLayer]
    period: int
    start: int  # position of the block's first token (1: after <s>)


def _random_head(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shape = (D_MODEL, HEAD_DIM)
    return tuple(RANDOM_STD * rng.standard_normal(shape) for _ in range(3))  # type: ignore[return-value]


def _layers() -> tuple[ToyLayer, ToyLayer]:
    h, d, e = 2, D_MODEL, HEAD_DIM
    root_e = math.sqrt(e)  # undoes the 1/√E of scaled dot-product attention
    tok, pos, prev, nxt = (np.arange(s.start, s.stop) for s in (TOK, POS, PREV, NEXT))
    rng = np.random.default_rng(20220308)  # the comparison heads: fixed, whatever the sequence
    layers = []
    for layer in range(2):
        wq, wk, wv = np.zeros((h, d, e)), np.zeros((h, d, e)), np.zeros((h, d, e))
        wo = np.zeros((h, e, d))
        if layer == 0:
            # Previous token: position i asks for position i − 1; keys offer their position.
            wq[0, pos[1:], np.arange(N_POS - 1)] = PREVIOUS_LOGIT * root_e
            wk[0, pos, np.arange(N_POS)] = 1.0
            wv[0, tok, np.arange(V)] = 1.0  # pass on the attended token ...
            wo[0, np.arange(V), prev] = 1.0  # ... into the previous-token slot
            names = ("previous token", "random")
        else:
            # Induction: query = current token; key = the previous-token slot of layer 1.
            wq[0, tok, np.arange(V)] = INDUCTION_LOGIT * root_e
            wk[0, prev, np.arange(V)] = 1.0
            wv[0, tok, np.arange(V)] = 1.0  # copy the attended token ...
            wo[0, np.arange(V), nxt] = 1.0  # ... as the prediction of the next one
            names = ("induction", "random")
        wq[1], wk[1], wv[1] = _random_head(rng)  # wo[1] stays 0: read, never written back
        layers.append(ToyLayer(wq, wk, wv, wo, names))
    return layers[0], layers[1]


def build_induction_toy(period: int = 8, seed: int = 0) -> InductionToy:
    """<s> then ``period`` distinct random words, repeated once; the same seed, the same words."""
    period = check_period(period)
    rng = np.random.default_rng(seed)
    block = rng.choice(np.arange(1, V), size=period, replace=False)  # never <s>
    ids = np.concatenate([[0], block, block]).astype(np.int64)  # (n,)
    n = ids.size
    x = np.zeros((n, D_MODEL))
    x[np.arange(n), ids] = 1.0  # token one-hot
    x[np.arange(n), POS.start + np.arange(n)] = 1.0  # position one-hot
    return InductionToy(
        tokens=tuple(VOCAB[i] for i in ids),
        token_ids=ids,
        x=x,
        layers=_layers(),
        period=period,
        start=1,
    )
