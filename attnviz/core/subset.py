"""Showing attention over some of the tokens: drop positions, renormalise what is left.

Why: in trained models many heads put most of a row's weight on [CLS], [SEP], <s> or the first
token — an "attention sink" the head uses as a no-op when nothing else is relevant (Clark et
al. 2019; Xiao et al. 2023). Hiding those keys and renormalising each row answers "among the
real words, where does this token look?". The result is a view of the model's attention, not
what the model computed: the dropped weight is spread over the kept keys in proportion.

References
----------
- Clark et al., "What Does BERT Look At? An Analysis of BERT's Attention", 2019.
- Xiao et al., "Efficient Streaming Language Models with Attention Sinks", 2023.
"""

from __future__ import annotations

import numpy as np

__all__ = ["keep_positions", "renormalise_kept"]


def keep_positions(m: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(..., L, S) -> (..., n, m): the rows and columns where ``keep`` is True (L == S)."""
    keep = np.asarray(keep, dtype=bool)
    return np.asarray(m)[..., keep, :][..., keep]


def renormalise_kept(weights: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Attention among the kept tokens only: drop the others' rows and columns, renormalise.

    Parameters
    ----------
    weights : (..., L, L) probabilities, each row summing to 1 (or all zeros).
    keep : (L,) bool, True for the tokens to keep.

    Returns
    -------
    (..., n, n) with n = keep.sum(); each row sums to 1, or is all zeros when the row put no
    weight on any kept key (the core's convention for a row that sees nothing).
    """
    w = keep_positions(weights, keep)
    total = w.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, w / np.where(total > 0, total, 1), 0)
    return out.astype(np.asarray(weights).dtype, copy=False)
