"""Scaled dot-product attention and its every intermediate.

    Attention(Q, K, V) = softmax(mask(Q Kᵀ · scale / T)) V,    scale = 1/√E by default

Shapes follow ``torch.nn.functional.scaled_dot_product_attention``: query (..., Hq, L, E),
key (..., Hkv, S, E), value (..., Hkv, S, Ev) -> output (..., Hq, L, Ev).

References
----------
- Vaswani et al., "Attention Is All You Need", 2017, eq. (1).
- PyTorch, ``torch.nn.functional.scaled_dot_product_attention`` (mask, causal and GQA conventions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from attnviz.core._problem import Problem, prepare
from attnviz.core._xp import to_numpy
from attnviz.core.flash import flash_forward, weights_from_lse
from attnviz.core.softmax import softmax_

__all__ = [
    "AUTO_FLASH_THRESHOLD",
    "AttentionTrace",
    "attention",
    "attention_trace",
    "run_problem",
]

Method = Literal["standard", "flash", "auto"]
METHODS = ("standard", "flash", "auto")

# "auto" switches to the tiled path once one head's L×S matrix passes this many entries
# (4 Mi entries = 16 MiB in float32): below it the standard path is as fast and simpler.
AUTO_FLASH_THRESHOLD = 4 * 1024 * 1024


# Rows per block of the standard path: the score block stays in cache, and for causal or windowed
# attention the keys no query of the block can see are never scored.
STANDARD_BLOCK_Q = 256


def standard_forward(p: Problem, block_q: int = STANDARD_BLOCK_Q) -> tuple[Any, Any]:
    """The plain path: every row's full softmax, the L×S probabilities kept. (out, weights)."""
    xp = p.xp
    weights = xp.zeros(p.scores_shape, dtype=p.q.dtype)  # (*b, Hq, L, S); untouched pages stay 0
    out = xp.zeros(p.out_shape, dtype=p.q.dtype)  # (*b, Hq, L, Ev)
    if p.length_k == 0 or p.length_q == 0:
        return out, weights
    shift = not p.logits_bounded()
    b, g = p.batch, p.group
    qg = (p.q * p.q_factor).reshape(*b, p.hkv, g, p.length_q, p.e)  # (*b, Hkv, G, L, E)
    kt = xp.swapaxes(p.k, -1, -2)[..., None, :, :]  # (*b, Hkv, 1, E, S)
    vg = p.v[..., None, :, :]  # (*b, Hkv, 1, S, Ev)
    visible = None if p.visible is None else xp.broadcast_to(p.visible, p.scores_shape)
    bias = None if p.bias is None else xp.broadcast_to(p.bias, p.scores_shape)
    for i0 in range(0, p.length_q, block_q):
        i1 = min(i0 + block_q, p.length_q)
        lo, hi = p.key_range(i0, i1)  # keys outside [lo, hi) are hidden from every row here
        if lo >= hi:
            continue
        s = qg[..., i0:i1, :] @ kt[..., lo:hi]  # (*b, Hkv, G, bq, hk)
        s = s.reshape(*b, p.hq, i1 - i0, hi - lo)  # (*b, Hq, bq, hk)
        p.cap_logits(s)
        if bias is not None:
            s += bias[..., i0:i1, lo:hi]
        hidden = p.tile_invisible(i0, i1, lo, hi)
        if visible is not None:
            vis = visible[..., i0:i1, lo:hi]
            hidden = ~vis if hidden is None else ~vis | xp.asarray(hidden)
        if hidden is not None:  # (the structural part is a host array: moved to xp's device)
            xp.copyto(s, xp.asarray(-np.inf, dtype=s.dtype), where=xp.asarray(hidden))
        softmax_(s, axis=-1, shift=shift)
        weights[..., i0:i1, lo:hi] = s
        sg = s.reshape(*b, p.hkv, g, i1 - i0, hi - lo)  # (*b, Hkv, G, bq, hk)
        out[..., i0:i1, :] = (sg @ vg[..., lo:hi, :]).reshape(*b, p.hq, i1 - i0, p.ev)
    return out, weights


def run_problem(
    p: Problem, method: Method = "auto", return_weights: bool = False
) -> tuple[Any, Any | None]:
    """Compute a checked problem by ``method``; returns (output, weights or None), caller dtype."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        big = p.length_q * p.length_k > AUTO_FLASH_THRESHOLD
        method = "flash" if big and not return_weights else "standard"
    if method == "standard":
        out, w = standard_forward(p)
    else:
        r = flash_forward(p)
        out = r.output
        w = weights_from_lse(p, r.lse) if return_weights else None
    out = p.finish(out)
    if w is not None:
        w = p.finish(w)
    return out, w


def attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    *,
    temperature: float = 1.0,
    window: tuple[int | None, int | None] | None = None,
    softcap: float | None = None,
    return_weights: bool = False,
    method: Method = "auto",
) -> Any:
    """Scaled dot-product attention on whatever array library the inputs come from.

    This is the compute core's implementation; :func:`attnviz.scaled_dot_product_attention`
    chooses a backend and calls it (or the CUDA kernel). Arguments as documented there.
    """
    p = prepare(
        query, key, value, attn_mask, is_causal, scale, enable_gqa, temperature, window, softcap
    )
    out, w = run_problem(p, method, return_weights)
    return (out, w) if return_weights else out


@dataclass(frozen=True)
class AttentionTrace:
    """Every intermediate of one attention call, as host NumPy arrays.

    Shapes: query (..., Hq, L, E); key and value repeated to the query heads (..., Hq, S, E/Ev);
    scores, scaled_scores, masked_scores, weights (..., Hq, L, S); output (..., Hq, L, Ev);
    visible (..., Hq, L, S) bool. 2-D inputs give 2-D results (no head axis).
    """

    query: np.ndarray
    key: np.ndarray
    value: np.ndarray
    scores: np.ndarray  # q · kᵀ
    scaled_scores: np.ndarray  # · scale (soft-capped when softcap is set) / temperature
    masked_scores: np.ndarray  # + float mask, -inf where hidden
    weights: np.ndarray  # softmax over keys
    output: np.ndarray  # weights · v
    visible: np.ndarray
    scale: float
    temperature: float
    softcap: float | None = None  # the logits were softcap · tanh(· / softcap) before ÷T


def attention_trace(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    *,
    temperature: float = 1.0,
    window: tuple[int | None, int | None] | None = None,
    softcap: float | None = None,
) -> AttentionTrace:
    """The same computation as ``scaled_dot_product_attention``, keeping every step.

    For the Q/K/V panel: scores Q·Kᵀ, scaled scores, masked scores (-inf where masked), weights
    and output. Materialises L×S several times over; meant for teaching sizes.
    """
    p = prepare(
        query, key, value, attn_mask, is_causal, scale, enable_gqa, temperature, window, softcap
    )
    xp = p.xp
    scores = p.scores(1.0)
    scaled = p.cap_logits(scores * p.q_factor)  # soft-capped, then ÷T, when the model caps
    masked = p.mask_scores(scaled.copy())
    weights = softmax_(masked.copy(), axis=-1)
    output = p.weighted_values(weights)
    inv = p.invisible()
    visible = xp.ones(p.scores_shape, dtype=bool)
    if inv is not None:
        visible = visible & ~inv

    def fin(a: Any) -> np.ndarray:
        a = to_numpy(a)
        return a if p.had_heads else a[..., 0, :, :]

    return AttentionTrace(
        query=fin(p.q),
        key=fin(xp.repeat(p.k, p.group, axis=-3)),
        value=fin(xp.repeat(p.v, p.group, axis=-3)),
        scores=fin(scores),
        scaled_scores=fin(scaled),
        masked_scores=fin(masked),
        weights=fin(weights),
        output=fin(output),
        visible=fin(visible),
        scale=p.scale,
        temperature=p.temperature,
        softcap=p.softcap,
    )
