"""Independent float64 reference for attention: one (batch, head) at a time, masks built from
index comparisons, softmax written out. Shares no code with attnviz.core."""

from __future__ import annotations

import itertools
import math

import numpy as np


def reference_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    bool_mask: np.ndarray | None = None,
    float_mask: np.ndarray | None = None,
    causal: bool = False,
    scale: float | None = None,
    temperature: float = 1.0,
    window: tuple[int | None, int | None] | None = None,
    softcap: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """q (*B, Hq, L, E), k (*B, Hkv, S, E), v (*B, Hkv, S, Ev) with equal batch dims.

    Returns (output (*B, Hq, L, Ev), weights (*B, Hq, L, S)) in float64.
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    *batch, hq, n_q, e = q.shape
    hkv, n_k = k.shape[-3], k.shape[-2]
    ev = v.shape[-1]
    group = hq // hkv
    scale = 1.0 / math.sqrt(e) if scale is None else scale
    full = (*batch, hq, n_q, n_k)
    bm = None if bool_mask is None else np.broadcast_to(bool_mask, full)
    fm = None if float_mask is None else np.broadcast_to(float_mask, full).astype(np.float64)
    out = np.zeros((*batch, hq, n_q, ev))
    weights = np.zeros(full)
    for b in itertools.product(*(range(n) for n in batch)):
        for h in range(hq):
            kh = h // group
            for i in range(n_q):
                logits = []
                for j in range(n_k):
                    ok = True
                    if causal and j > i:
                        ok = False
                    if window is not None:
                        left, right = window
                        if left is not None and j < i - left:
                            ok = False
                        if right is not None and j > i + right:
                            ok = False
                    if bm is not None and not bm[(*b, h, i, j)]:
                        ok = False
                    x = float(np.dot(q[(*b, h, i)], k[(*b, kh, j)])) * scale
                    if softcap is not None:  # Gemma 2: cap · tanh(logit / cap), then ÷T
                        x = softcap * math.tanh(x / softcap)
                    x /= temperature
                    if fm is not None:
                        x += fm[(*b, h, i, j)]
                    logits.append(x if ok else -math.inf)
                finite = [x for x in logits if x != -math.inf]
                if not finite:
                    continue  # no visible key: zeros
                top = max(finite)
                ex = [math.exp(x - top) if x != -math.inf else 0.0 for x in logits]
                total = sum(ex)
                for j in range(n_k):
                    weights[(*b, h, i, j)] = ex[j] / total
                out[(*b, h, i)] = weights[(*b, h, i)] @ v[(*b, kh)]
    return out, weights
