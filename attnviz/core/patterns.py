"""What each attention pattern costs: the number of (query, key) pairs it scores.

Every function counts exactly the True entries of the mask of the same name in
:mod:`attnviz.core.masks` (the tests compare them with brute-force counts), as a closed formula
in n (tokens), w (window or block) and the pattern's other sizes; BigBird's random keys may land
on pairs already kept, so for it the formula is an upper bound. Work and score memory grow with
this count: n² for full attention, n·w for a window.

Sliding window (w keys each side, |d| = |j − i| ≤ w, clipped at the ends): every offset d with
|d| < n keeps n − |d| pairs, so with m = min(w, n − 1)

    pairs = Σ_{d=−m..m} (n − |d|) = n(2m + 1) − m(m + 1).

References
----------
- Beltagy et al., "Longformer: The Long-Document Transformer", 2020.
- Zaheer et al., "Big Bird: Transformers for Longer Sequences", 2020.
- Child et al., "Generating Long Sequences with Sparse Transformers", 2019.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "PatternCost",
    "bigbird_cost",
    "block_cost",
    "causal_cost",
    "coverage",
    "dilated_cost",
    "full_cost",
    "global_local_cost",
    "sliding_window_cost",
    "window_pairs",
]


class PatternCost(NamedTuple):
    """Pairs scored by a pattern: the count, how it grows, and the exact formula behind it."""

    pairs: int  # exact count, or an upper bound when ``exact`` is False
    big_o: str  # growth with n, e.g. "O(n·w)"
    formula: str  # the count as a formula, e.g. "n(2w+1) − w(w+1)"
    exact: bool = True


def _size(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def window_pairs(n: int, left: int | None, right: int | None) -> int:
    """Pairs with −left <= j − i <= right in an n × n grid (None: unlimited on that side).

    Offset d keeps n − |d| pairs while |d| < n; summing over d = −a..b with a = min(left, n−1),
    b = min(right, n−1) gives n(a + b + 1) − a(a + 1)/2 − b(b + 1)/2.
    """
    n = _size("n", n, 0)
    a = n - 1 if left is None else min(_size("left", left, 0), n - 1)
    b = n - 1 if right is None else min(_size("right", right, 0), n - 1)
    if n == 0:
        return 0
    return n * (a + b + 1) - a * (a + 1) // 2 - b * (b + 1) // 2


def full_cost(n: int) -> PatternCost:
    """Every query scores every key."""
    n = _size("n", n)
    return PatternCost(n * n, "O(n²)", "n²")


def causal_cost(n: int) -> PatternCost:
    """Key j <= i: the lower triangle with its diagonal."""
    n = _size("n", n)
    return PatternCost(n * (n + 1) // 2, "O(n²)", "n(n+1)/2")


def sliding_window_cost(n: int, left: int, right: int = 0) -> PatternCost:
    """``masks.sliding_window_mask(n, left, right)``: ``left`` keys back, ``right`` ahead."""
    n = _size("n", n)
    left, right = _size("left", left, 0), _size("right", right, 0)
    if left == right:
        formula = "n(2w+1) − w(w+1)"
    elif right == 0:
        formula = "n(w+1) − w(w+1)/2"
    else:
        formula = "n(l+r+1) − l(l+1)/2 − r(r+1)/2"
    return PatternCost(window_pairs(n, left, right), "O(n·w)", formula)


def dilated_cost(n: int, window: int, dilation: int, causal: bool = False) -> PatternCost:
    """``masks.dilated_mask``: offsets k·r for |k| <= w (k <= 0 when causal), r = dilation.

    Offset k·r keeps n − |k|·r pairs while |k|·r < n; with m = min(w, ⌊(n−1)/r⌋) the sum is
    n(2m + 1) − r·m(m + 1), or n(m + 1) − r·m(m + 1)/2 when causal.
    """
    n = _size("n", n)
    window, r = _size("window", window, 0), _size("dilation", dilation)
    m = min(window, (n - 1) // r)
    if causal:
        return PatternCost(n * (m + 1) - r * m * (m + 1) // 2, "O(n·w)", "n(w+1) − r·w(w+1)/2")
    return PatternCost(n * (2 * m + 1) - r * m * (m + 1), "O(n·w)", "n(2w+1) − r·w(w+1)")


def _globals(n: int, global_tokens: Sequence[int] | int) -> np.ndarray:
    if isinstance(global_tokens, int | np.integer) and not isinstance(global_tokens, bool):
        g = _size("global_tokens", global_tokens, 0)
        if g > n:
            raise ValueError(f"{g} global tokens do not fit in {n} tokens")
        return np.arange(g)
    idx = np.unique(np.asarray(list(global_tokens), dtype=np.int64))
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"global token indices must lie in [0, {n - 1}], got {idx.tolist()}")
    return idx


def global_local_cost(n: int, window: int, global_tokens: Sequence[int] | int = 1) -> PatternCost:
    """``masks.global_local_mask``: a window of w each side, plus g global rows and columns.

    The global rows and columns hold 2gn − g² pairs. Window pairs outside them are the window's
    n(2m+1) − m(m+1) minus those touching a global row or column (inclusion–exclusion: each
    global position's window row, twice, less the window pairs among global positions). For the
    first g tokens as globals this is the window over the other n − g tokens.
    """
    n = _size("n", n)
    w = _size("window", window, 0)
    g_idx = _globals(n, global_tokens)
    g = int(g_idx.size)
    row = np.minimum(g_idx + w, n - 1) - np.maximum(g_idx - w, 0) + 1  # window keys of each row
    among = int(np.count_nonzero(np.abs(g_idx[:, None] - g_idx[None, :]) <= w))
    pairs = 2 * g * n - g * g + window_pairs(n, w, w) - 2 * int(row.sum()) + among
    return PatternCost(pairs, "O(n·(w+g))", "2gn − g² + (n−g)(2w+1) − w(w+1)")


def bigbird_cost(
    n: int, window: int, global_tokens: Sequence[int] | int = 1, random_keys: int = 2
) -> PatternCost:
    """``masks.bigbird_mask``: global + window + r random keys per query, as an upper bound.

    A random key may fall on a pair the window or a global token already keeps, so the exact
    count depends on the seed; it lies between the global + window count and that count plus
    r keys for each non-global query.
    """
    base = global_local_cost(n, window, global_tokens)
    r = min(_size("random_keys", random_keys, 0), n)
    g = int(_globals(n, global_tokens).size)
    return PatternCost(
        min(n * n, base.pairs + (n - g) * r), "O(n·(w+g+r))", "≤ 2gn − g² + (n−g)(2w+1+r) − w(w+1)",
        exact=False,
    )  # fmt: skip


def block_cost(n: int, block: int) -> PatternCost:
    """``masks.block_sparse_mask`` with its default block-diagonal layout, blocks of b tokens.

    ⌊n/b⌋ full blocks of b² pairs and a last block of (n mod b)² pairs.
    """
    n, b = _size("n", n), _size("block", block)
    q, rem = divmod(n, b)
    return PatternCost(q * b * b + rem * rem, "O(n·b)", "⌊n/b⌋·b² + (n mod b)²")


def coverage(mask: np.ndarray, max_cells: int = 128) -> np.ndarray:
    """A picture of a mask at most ``max_cells`` a side: the share of pairs kept in each cell.

    Up to ``max_cells`` tokens the picture is the mask itself (0 or 1); beyond, each cell covers
    f × f pairs (f = ⌈n / max_cells⌉, the last cells cut short) and holds the kept share, so a
    4,096-token window is still seen as a band of the right width.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (L, S), got shape {mask.shape}")
    max_cells = _size("max_cells", max_cells)
    rows, cols = mask.shape
    f = max(1, -(-max(rows, cols) // max_cells))
    if f == 1:
        return mask.astype(np.float32)
    pr, pc = -(-rows // f) * f, -(-cols // f) * f
    padded = np.zeros((pr, pc), dtype=bool)
    padded[:rows, :cols] = mask
    real = np.zeros((pr, pc), dtype=bool)
    real[:rows, :cols] = True
    # (R/f, f, C/f, f) -> counts per cell; int32 sums, no float temporary of the full mask.
    kept = padded.reshape(pr // f, f, pc // f, f).sum(axis=(1, 3), dtype=np.int32)
    total = real.reshape(pr // f, f, pc // f, f).sum(axis=(1, 3), dtype=np.int32)
    return (kept / np.maximum(total, 1)).astype(np.float32)
