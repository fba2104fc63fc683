"""One number per head: how spread its rows are, how far they look, where they park attention.

For a head's weights w (L, S), each row a distribution over the keys (a row that may see no key
is all zeros), with query i and key j indexed from the top left:

    mean row entropy        H = (1/L) Σ_i  −Σ_j w_ij log w_ij             (nats)
    mean diagonal distance  D = (1/L) Σ_i   Σ_j w_ij |i − j|              (tokens)
    first-token share       F = (1/L) Σ_i   w_i0
    previous-token score    P = mean over i ≥ 1 of w_{i, i−1}
    induction score         I = mean over the second copy's rows of w_{i, i − period + 1}

The induction score is read on a sequence of random tokens repeated twice: at position i of the
second copy the same token stood at i − period, and an induction head looks at the token that
followed it, i − period + 1 (Olsson et al.).

All functions take (..., L, S) and return (...): one number per head for a (H, L, S) stack.

References
----------
- Clark et al., "What Does BERT Look At? An Analysis of BERT's Attention", 2019 (entropy of a
  head's rows, attention parked on the first token / [CLS]).
- Olsson et al., "In-context Learning and Induction Heads", 2022 (previous-token heads,
  induction heads, the repeated-random-tokens score).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from attnviz.core.softmax import entropy

__all__ = [
    "HeadStats",
    "first_token_share",
    "head_stats",
    "induction_score",
    "mean_diagonal_distance",
    "mean_row_entropy",
    "previous_token_score",
]


class HeadStats(NamedTuple):
    """The three summaries of :func:`head_stats`, each of shape (...) (one number per head)."""

    entropy: np.ndarray  # nats
    diagonal_distance: np.ndarray  # tokens
    first_token: np.ndarray  # share of a row's weight, 0..1


def _weights(w: object) -> np.ndarray:
    w = np.asarray(w)
    if w.ndim < 2:
        raise ValueError(f"weights must have at least 2 axes (L, S), got shape {w.shape}")
    if w.shape[-2] == 0 or w.shape[-1] == 0:
        raise ValueError(f"weights must have at least one query and one key, got {w.shape}")
    return w


def mean_row_entropy(w: object) -> np.ndarray:
    """Entropy of each row (nats), averaged over the rows: log S for uniform rows, 0 for one-hot."""
    w = _weights(w)
    return np.asarray(entropy(w), dtype=np.float64).mean(axis=-1)


def mean_diagonal_distance(w: object) -> np.ndarray:
    """Σ_j w_ij |i − j| averaged over rows i: the typical distance a head looks, in tokens."""
    w = _weights(w)
    *lead, n_q, n_k = w.shape
    dist = np.abs(np.arange(n_k)[None, :] - np.arange(n_q)[:, None]).astype(np.float64)  # (L, S)
    flat = w.reshape(-1, n_q, n_k)  # (B, L, S), B = product of the leading axes
    # One dot product per head: no (B, L, S) temporary, float64 sums however large S is.
    out = np.array([np.vdot(head.astype(np.float64, copy=False), dist) for head in flat])
    return (out / n_q).reshape(lead)


def first_token_share(w: object) -> np.ndarray:
    """Mean weight on key 0: high for heads that park attention on the first token."""
    w = _weights(w)
    return np.asarray(w[..., :, 0], dtype=np.float64).mean(axis=-1)


def head_stats(w: object) -> HeadStats:
    """Entropy, diagonal distance and first-token share of every head of a (..., L, S) stack."""
    return HeadStats(mean_row_entropy(w), mean_diagonal_distance(w), first_token_share(w))


def previous_token_score(w: object) -> np.ndarray:
    """Mean weight of query i on key i − 1, over i ≥ 1: 1 for a perfect previous-token head."""
    w = _weights(w)
    n_q, n_k = w.shape[-2:]
    rows = np.arange(1, min(n_q, n_k + 1))
    if rows.size == 0:
        raise ValueError("the previous-token score needs at least two query positions")
    return np.asarray(w[..., rows, rows - 1], dtype=np.float64).mean(axis=-1)


def induction_score(w: object, period: int, start: int = 0) -> np.ndarray:
    """Mean weight from each query of the second copy to the token after its earlier occurrence.

    Parameters
    ----------
    w : array (..., L, S)
        Attention weights of a sequence whose tokens ``start .. start + period - 1`` are repeated
        right after them (a first token such as <s> may come before, hence ``start``).
    period : int
        Length of the repeated block, >= 2 (with 1 the "next token" is the query itself).
    start : int, default 0
        Position of the first repeated token.

    Returns
    -------
    ndarray (...)
        Mean over rows i = start + period .. L − 1 of w[i, i − period + 1]; 1 for a perfect
        induction head, about 1 / (keys visible) for a head that spreads evenly.
    """
    w = _weights(w)
    if isinstance(period, bool) or not isinstance(period, int | np.integer) or period < 2:
        raise ValueError(f"period must be a whole number >= 2, got {period!r}")
    if isinstance(start, bool) or not isinstance(start, int | np.integer) or start < 0:
        raise ValueError(f"start must be a whole number >= 0, got {start!r}")
    n_q, n_k = w.shape[-2:]
    rows = np.arange(start + period, n_q)
    rows = rows[rows - period + 1 < n_k]
    if rows.size == 0:
        raise ValueError(
            f"no query of a second copy: {n_q} queries, {n_k} keys, start {start}, "
            f"period {period} (the sequence needs at least start + period + 1 tokens)"
        )
    return np.asarray(w[..., rows, rows - period + 1], dtype=np.float64).mean(axis=-1)
