"""What to compute: a pure ``resolve(session) -> Request`` and ``run(request) -> Result``.

The controller decides *when* (throttled, on a worker thread, stale results dropped); this
module decides *what*. Both functions are pure: the same session gives the same request, the
same request the same numbers, so they are tested without Qt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnviz.backends import scaled_dot_product_attention, select_backend
from attnviz.core import AttentionTrace, attention_trace, entropy, hardmax, softmax
from attnviz.core.masks import causal_mask
from attnviz.lessons.scenes import get_scene
from attnviz.state.session import Session
from attnviz.state.views import compute_views

__all__ = ["Request", "Result", "resolve", "run"]


@dataclass(frozen=True)
class Request:
    """A frozen description of one computation (arrays are copies, never the session's)."""

    scene: str
    tokens: tuple[str, ...]
    x: np.ndarray  # (n, d_model), edits applied
    wq: np.ndarray  # (H, d_model, d_k), edits applied
    wk: np.ndarray
    wv: np.ndarray
    head_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    layer: int
    head: int
    selected_token: int
    temperature: float
    causal: bool
    window: int | None
    backend: str
    logits: tuple[float, ...]
    view_params: dict[str, Any]  # frozen copies, one per panel view that has parameters

    @property
    def window_pair(self) -> tuple[int, int | None] | None:
        """Sliding window as the core's (left, right): ``window`` keys back, none ahead."""
        return None if self.window is None else (self.window, None if not self.causal else 0)


@dataclass(frozen=True)
class Result:
    """Every number the panels draw, computed for one request. Host NumPy arrays only."""

    request: Request
    q: np.ndarray  # (H, n, d_k)
    k: np.ndarray  # (H, n, d_k)
    v: np.ndarray  # (H, n, d_v)
    weights: np.ndarray  # (H, n, n) at the session's temperature and mask
    output: np.ndarray  # (H, n, d_v)
    head_entropy: np.ndarray  # (H, n) entropy of each row, nats
    trace: AttentionTrace  # the selected head, every step, at the session's settings
    weights_unmasked: np.ndarray  # (n, n) selected head, no causal mask
    weights_causal: np.ndarray  # (n, n) selected head, causal mask
    masked_scores_causal: np.ndarray  # (n, n) scores with -inf above the diagonal
    causal_shift: np.ndarray  # (n, n) weights_causal - weights_unmasked: where weight moved
    logit_probs: np.ndarray  # softmax(logits / T)
    logit_probs_t1: np.ndarray  # softmax(logits) at T = 1
    logit_argmax: np.ndarray  # the T -> 0 limit
    logit_entropy: float
    logit_entropy_t1: float
    backend: str  # which backend computed, and why
    seconds: float
    views: dict[str, Any]  # panel id -> that panel's own data, or a ViewError


def resolve(session: Session) -> Request:
    """Freeze what the session asks for into a request (edits applied to copies)."""
    built = get_scene(session.scene).build(session.text)
    x, wq, wk, wv = built.x.copy(), built.wq.copy(), built.wk.copy(), built.wv.copy()
    mats = {"X": x, "Wq": wq, "Wk": wk, "Wv": wv}
    for matrix, head, row, col, value in session.edits:
        target = mats[matrix] if matrix == "X" else mats[matrix][head]
        if 0 <= row < target.shape[0] and 0 <= col < target.shape[1]:
            target[row, col] = value
    return Request(
        scene=session.scene,
        tokens=built.tokens,
        x=x,
        wq=wq,
        wk=wk,
        wv=wv,
        head_names=built.head_names,
        feature_names=built.feature_names,
        layer=session.layer,
        head=session.head,
        selected_token=session.selected_token,
        temperature=session.temperature,
        causal=session.causal,
        window=session.window,
        backend=session.backend,
        logits=session.logits,
        view_params={pid: p.frozen() for pid, p in session.view_params.items()},
    )


def run(request: Request) -> Result:
    """Compute every number of every panel for ``request`` through the compute core."""
    t0 = time.perf_counter()
    r = request
    choice = select_backend(r.backend)
    # Projections: (n, d) @ (H, d, d_k) -> (H, n, d_k).
    q = np.matmul(r.x, r.wq).astype(np.float32)
    k = np.matmul(r.x, r.wk).astype(np.float32)
    v = np.matmul(r.x, r.wv).astype(np.float32)
    out, w = scaled_dot_product_attention(
        q, k, v, is_causal=r.causal, temperature=r.temperature, window=r.window_pair,
        return_weights=True, backend=choice.name,
    )  # fmt: skip
    h = r.head
    trace = attention_trace(
        q[h], k[h], v[h], is_causal=r.causal, temperature=r.temperature, window=r.window_pair
    )
    # The causal-mask panel compares the same head with and without the mask.
    _, unmasked = scaled_dot_product_attention(
        q[h], k[h], v[h], temperature=r.temperature, return_weights=True, backend=choice.name
    )
    _, causal = scaled_dot_product_attention(
        q[h], k[h], v[h], is_causal=True, temperature=r.temperature, return_weights=True,
        backend=choice.name,
    )  # fmt: skip
    causal_visible = causal_mask(len(r.tokens)).mask
    masked_causal = np.where(causal_visible, trace.scaled_scores, -np.inf)
    logits = np.asarray(r.logits, dtype=np.float64)
    probs = softmax(logits, temperature=r.temperature)
    probs1 = softmax(logits)
    return Result(
        request=r,
        q=q,
        k=k,
        v=v,
        weights=w,
        output=out,
        head_entropy=entropy(w),
        trace=trace,
        weights_unmasked=unmasked,
        weights_causal=causal,
        masked_scores_causal=masked_causal,
        causal_shift=causal - unmasked,
        logit_probs=probs,
        logit_probs_t1=probs1,
        logit_argmax=hardmax(logits),
        logit_entropy=float(entropy(probs)),
        logit_entropy_t1=float(entropy(probs1)),
        backend=str(choice),
        views=compute_views(r),
        seconds=time.perf_counter() - t0,
    )
