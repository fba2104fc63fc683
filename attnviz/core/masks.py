"""Attention masks: which query may look at which key.

Every mask is a boolean array, True where a (query, key) pair takes part, which is the convention of
``torch.nn.functional.scaled_dot_product_attention``'s boolean ``attn_mask``. Each builder returns a
:class:`Pattern`: the mask and its density (the share of pairs that are scored), so the cost of a
pattern can be read off next to its picture.

References
----------
- Beltagy et al., "Longformer: The Long-Document Transformer", 2020 (sliding window + global).
- Zaheer et al., "Big Bird: Transformers for Longer Sequences", 2020 (random + window + global).
- Child et al., "Generating Long Sequences with Sparse Transformers", 2019 (strided, block).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "Pattern",
    "bigbird_mask",
    "block_sparse_mask",
    "causal_mask",
    "density",
    "dilated_mask",
    "effective_window",
    "global_local_mask",
    "padding_mask",
    "sliding_window_mask",
    "strided_mask",
    "window_visible",
]


class Pattern(NamedTuple):
    """A boolean mask (True = the pair takes part) and the share of pairs it keeps."""

    mask: np.ndarray
    density: float


def density(mask: np.ndarray) -> float:
    """Share of True entries: 1.0 for full attention, about 1/2 for causal."""
    mask = np.asarray(mask, dtype=bool)
    return float(mask.mean()) if mask.size else 0.0


def _pattern(mask: np.ndarray) -> Pattern:
    return Pattern(mask, density(mask))


def _check_size(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def effective_window(
    window: tuple[int | None, int | None] | None, is_causal: bool
) -> tuple[int | None, int | None]:
    """What a query sees as one (left, right) window: key j visible when i - left <= j <= i +
    right (None: unlimited). The causal mask is a window whose right side is at most 0; every
    path (standard, flash, the GPU kernel) folds it in through this one function."""
    left, right = (None, None) if window is None else window
    if is_causal:
        right = 0 if right is None else min(right, 0)
    return left, right


def window_visible(n_queries: int, n_keys: int, left: int | None, right: int | None) -> np.ndarray:
    """Keys j with i - left <= j <= i + right (None: unlimited on that side), as an (L, S) mask."""
    # np.tri compares index vectors straight into booleans: no (L, S) integer temporary.
    keep = (
        np.tri(n_queries, n_keys, right, dtype=bool)
        if right is not None
        else np.ones((n_queries, n_keys), dtype=bool)
    )
    if left is not None:
        keep &= ~np.tri(n_queries, n_keys, -left - 1, dtype=bool)
    return keep


def _diagonals(n: int, offsets: range | list[int]) -> np.ndarray:
    """(n, n) mask with the diagonals j - i = offset set: O(n) work per diagonal, no n² ints."""
    mask = np.zeros((n, n), dtype=bool)
    for off in offsets:
        i = np.arange(max(0, -off), min(n, n - off))
        mask[i, i + off] = True
    return mask


def causal_mask(n_queries: int, n_keys: int | None = None) -> Pattern:
    """Lower triangle, top-left aligned as torch's ``is_causal``: key j visible iff j <= i."""
    n_queries = _check_size("n_queries", n_queries)
    n_keys = n_queries if n_keys is None else _check_size("n_keys", n_keys)
    return _pattern(window_visible(n_queries, n_keys, None, 0))


def padding_mask(lengths: Sequence[int], n_keys: int) -> Pattern:
    """Key-padding mask of shape (B, 1, 1, S): key j of batch b is real iff j < lengths[b].

    The two singleton axes broadcast over heads and queries of a (B, H, L, S) score tensor.
    """
    n_keys = _check_size("n_keys", n_keys)
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if lengths.size == 0:
        raise ValueError("lengths must name at least one sequence")
    if (lengths < 0).any() or (lengths > n_keys).any():
        raise ValueError(f"every length must lie in [0, {n_keys}], got {lengths.tolist()}")
    mask = np.arange(n_keys)[None, :] < lengths[:, None]  # (B, S)
    return _pattern(mask[:, None, None, :])  # (B, 1, 1, S)


def sliding_window_mask(n: int, left: int, right: int = 0) -> Pattern:
    """Each query sees ``left`` keys before it, itself, and ``right`` after (Mistral: right=0)."""
    n = _check_size("n", n)
    left = _check_size("left", left, 0)
    right = _check_size("right", right, 0)
    return _pattern(window_visible(n, n, left, right))


def dilated_mask(n: int, window: int, dilation: int, causal: bool = False) -> Pattern:
    """A window of ``window`` keys on each side spaced ``dilation`` apart (|i - j| = k * dilation).

    With ``dilation=1`` this is the sliding window. ``causal`` keeps only keys j <= i.
    """
    n = _check_size("n", n)
    window = _check_size("window", window, 0)
    dilation = _check_size("dilation", dilation)
    mask = _diagonals(
        n, range(-window * dilation, (0 if causal else window * dilation) + 1, dilation)
    )
    return _pattern(mask)


def strided_mask(n: int, stride: int, causal: bool = True) -> Pattern:
    """Sparse Transformer strided pattern: the last ``stride`` keys, plus every ``stride``-th key.

    Query i sees key j when |i - j| < stride (local) or (i - j) is a multiple of ``stride``.
    """
    n = _check_size("n", n)
    stride = _check_size("stride", stride)
    hi = 0 if causal else n - 1
    offsets = sorted(
        {
            *range(-(stride - 1), min(stride - 1, hi) + 1),
            *range(-(n - 1) // stride * stride, hi + 1, stride),
        }
    )
    return _pattern(_diagonals(n, [o for o in offsets if -n < o <= hi]))


def _global_indices(n: int, global_tokens: Sequence[int] | int) -> np.ndarray:
    if isinstance(global_tokens, int | np.integer):
        idx = np.arange(_check_size("global_tokens", int(global_tokens), 0))
    else:
        idx = np.asarray(list(global_tokens), dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"global token indices must lie in [0, {n - 1}], got {idx.tolist()}")
    return idx


def global_local_mask(n: int, window: int, global_tokens: Sequence[int] | int = 1) -> Pattern:
    """Longformer: a sliding window of ``window`` keys each side, plus global tokens.

    A global token attends to every key and every query attends to it. ``global_tokens`` is a
    count (the first k tokens, e.g. [CLS]) or a list of indices.
    """
    n = _check_size("n", n)
    mask = sliding_window_mask(n, window, window).mask
    g = _global_indices(n, global_tokens)
    mask[g, :] = True
    mask[:, g] = True
    return _pattern(mask)


def bigbird_mask(
    n: int,
    window: int,
    global_tokens: Sequence[int] | int = 1,
    random_keys: int = 2,
    seed: int = 0,
) -> Pattern:
    """BigBird: global + sliding window + ``random_keys`` random keys per query (seeded).

    The same seed always gives the same mask, so a lecture shows the same picture twice.
    """
    n = _check_size("n", n)
    random_keys = _check_size("random_keys", random_keys, 0)
    mask = global_local_mask(n, window, global_tokens).mask
    rng = np.random.default_rng(seed)
    k = min(random_keys, n)
    if k:
        # argpartition of uniform noise picks k distinct keys per row without a Python loop.
        picks = np.argpartition(rng.random((n, n)), k - 1, axis=1)[:, :k]  # (n, k)
        mask[np.arange(n)[:, None], picks] = True
    return _pattern(mask)


def block_sparse_mask(n: int, block: int, layout: np.ndarray | None = None) -> Pattern:
    """Block-sparse mask: the (n/block)² grid of blocks, each on or off as ``layout`` says.

    ``layout`` defaults to the block diagonal (each block attends within itself). ``n`` need
    not be a multiple of ``block``: the last block is cut short.
    """
    n = _check_size("n", n)
    block = _check_size("block", block)
    nb = -(-n // block)
    if layout is None:
        layout = np.eye(nb, dtype=bool)
    layout = np.asarray(layout, dtype=bool)
    if layout.shape != (nb, nb):
        raise ValueError(f"layout must have shape ({nb}, {nb}) for n={n}, block={block}")
    mask = np.kron(layout, np.ones((block, block), dtype=bool))[:n, :n]
    return _pattern(mask)
