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
    xp.exp(z, out=z)
    total = xp.sum(z, axis=axis, keepdims=True)
    xp.divide(z, xp.where(total > 0, total, 1.0), out=z)
    return z


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
    """
    xp = array_namespace(p)
    p = xp.asarray(p)
    logp = xp.log(xp.where(p > 0, p, 1.0))
    h = -xp.sum(p * logp, axis=axis)
    if base is not None:
        h = h / math.log(base)
    return h
