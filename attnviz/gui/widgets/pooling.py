"""Shrinking matrices for display: one function for a heatmap's matrix and a grid's stack.

A 2,048-token head is 4 Mi cells; a screen shows at most a few hundred a side. Pooling keeps
what a viewer must not miss: the block maximum for probabilities (one strong weight stays
visible), the mean of finite cells for signed scores; a block masked (-inf) throughout stays
-inf.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pool"]

# The last few pooled arrays: the heatmap and the softmax panel show the same head's weights.
_pooled: dict[tuple[int, int, bool], tuple[np.ndarray, np.ndarray]] = {}


def pool(a: np.ndarray, factor: int, peak: bool = True) -> np.ndarray:
    """Shrink the last two axes of ``a`` ((R, C) or (T, R, C)) by ``factor``, in one pass.

    ``peak``: the block maximum; else the mean of the block's finite cells. Each matrix's last
    partial block is padded with -inf. Strided elementwise operations over the whole array, not
    a loop over matrices (5× faster than ``reshape(...).max(axis=(1, 3))`` on a 2,048² matrix).
    The result for a read-only array is kept (a result's arrays are), so two views of one
    array pool it once; a writable array may change in place, so it is pooled every time.
    """
    if factor <= 1:
        return a
    a = np.asarray(a)
    if a.flags.writeable:
        return _pool(a, factor, peak)
    key = (id(a), factor, peak)
    hit = _pooled.get(key)
    if hit is not None and hit[0] is a:
        return hit[1]
    out = _pool(a, factor, peak)
    if len(_pooled) >= 4:
        _pooled.pop(next(iter(_pooled)))
    _pooled[key] = (a, out)  # holding the array keeps its id from being reused meanwhile
    return out


def _pool(a: np.ndarray, f: int, peak: bool) -> np.ndarray:
    flat = a.ndim == 2
    stack = a[None] if flat else a
    t, rows, cols = stack.shape
    pr, pc = -(-rows // f) * f, -(-cols // f) * f
    if (pr, pc) != (rows, cols) or stack.dtype != np.float32:
        padded = np.full((t, pr, pc), -np.inf, dtype=np.float32)
        padded[:, :rows, :cols] = stack
        stack = padded  # else read as it is, never written

    def reduce(m: np.ndarray, op: np.ufunc) -> np.ndarray:
        # Rows first: f whole rows combine as contiguous slabs, so the array is read once in
        # order; the strided column pass then runs on an f times smaller array.
        rows3 = m.reshape(t * pr // f, f, pc)  # R' is a multiple of f: no matrix crossing
        acc = rows3[:, 0].copy()
        for k in range(1, f):
            op(acc, rows3[:, k], out=acc)
        cols3 = acc.reshape(t * pr // f, pc // f, f)  # (T·R'/f, C'/f, f): blocks along a row
        out = cols3[:, :, 0].copy()
        for k in range(1, f):
            op(out, cols3[:, :, k], out=out)
        return out.reshape(t, pr // f, pc // f)

    if peak:
        out = reduce(stack, np.maximum)
    else:
        finite = np.isfinite(stack)
        total = reduce(np.where(finite, stack, np.float32(0)), np.add)
        count = reduce(finite.astype(np.float32), np.add)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(count > 0, total / count, -np.inf).astype(np.float32)
    return out[0] if flat else out
