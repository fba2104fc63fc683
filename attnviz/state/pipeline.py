"""What to compute: a pure ``resolve(session) -> Request`` and ``run(request) -> Result``.

The controller decides *when* (throttled, on a worker thread, stale results dropped); this
module decides *what*. Both functions are pure: the same session gives the same request, the
same request the same numbers, so they are tested without Qt.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from typing import Any

import numpy as np

from attnviz.backends import (
    BackendChoice,
    recording_fallbacks,
    scaled_dot_product_attention,
    select_backend,
)
from attnviz.core import AttentionTrace, attention_trace, entropy, hardmax, softmax
from attnviz.core.head_stats import head_stats
from attnviz.core.masks import causal_mask
from attnviz.core.subset import keep_positions, renormalise_kept
from attnviz.lessons.scenes import get_scene
from attnviz.models import Model, ModelTrace, load
from attnviz.state.request import Request, Result
from attnviz.state.session import FILE_NO_QKV, Session, attention_file, model_stamp
from attnviz.state.views import ViewError, compute_views, discover
from attnviz.state.views.head_grid import HeadGridData

__all__ = ["NotFiniteError", "loaded_model", "model_trace", "resolve", "run"]


def resolve(session: Session) -> Request:
    """Freeze what the session asks for into a request (edits applied to copies)."""
    if session.model_path is not None or session.attention_path is not None:
        return _resolve_model(session)
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
        text=session.text,
    )


def _resolve_model(session: Session) -> Request:
    """A real model's request: the arrays are filled in by run() once the model has run."""
    empty = np.zeros((0, 0, 0), dtype=np.float32)
    return Request(
        scene=session.scene, tokens=session.tokens, x=np.zeros((0, 0), dtype=np.float32),
        wq=empty, wk=empty, wv=empty,
        head_names=tuple(f"head {h + 1}" for h in range(session.n_heads)), feature_names=(),
        layer=session.layer, head=session.head, selected_token=session.selected_token,
        temperature=session.temperature, causal=session.causal, window=None,
        backend=session.backend, logits=session.logits,
        view_params={pid: p.frozen() for pid, p in session.view_params.items()},
        text=session.text, model_path=session.model_path, hide_special=session.hide_special,
        attention_path=session.attention_path,
    )  # fmt: skip


# -- real models: loaded once per folder version, run once per text, on the worker thread ----
_load_lock = threading.Lock()


@functools.lru_cache(maxsize=2)
def _load(folder: str, stamp: float) -> Model:
    return load(folder)


def loaded_model(folder: str) -> Model:
    """The model in ``folder`` with its weights, loaded once per version of its files."""
    with _load_lock:  # two workers must not read the same gigabytes twice
        return _load(folder, model_stamp(folder))


# Each trace holds every layer's q, k, v and hidden states (about 77 MB for BERT-base at 512
# tokens); four are enough for going back and forth between texts, sixteen held 1.2 GB.
@functools.lru_cache(maxsize=4)
def _forward(folder: str, stamp: float, text: str) -> ModelTrace:
    return loaded_model(folder).forward(text)


def model_trace(folder: str, text: str) -> ModelTrace:
    """One forward pass of the model on ``text``, cached: sliders re-softmax, never re-run."""
    return _forward(folder, model_stamp(folder), text)


def _layer_attention(tr: ModelTrace, layer: int, r: Request, backend: str) -> tuple[Any, ...]:
    """q, k, v (H, L, E) of a layer, key/value heads repeated to the query heads, and its
    output and weights at the request's temperature and mask, through the compute core."""
    kv = [tr.kv_head(h) for h in range(tr.heads)]
    q, k, v = tr.q[layer], tr.k[layer][kv], tr.v[layer][kv]  # (H, L, E) each
    out, w = scaled_dot_product_attention(
        q, k, v, is_causal=r.causal, scale=tr.scales[layer], temperature=r.temperature,
        window=tr.windows[layer], return_weights=True, backend=backend,
    )  # fmt: skip
    return q, k, v, np.asarray(out), np.asarray(w)


def _run_model(r: Request, choice: Any, t0: float) -> Result:
    assert r.model_path is not None
    model = loaded_model(r.model_path)
    tr = model_trace(r.model_path, r.text)
    layer, h = r.layer, r.head
    layers = [_layer_attention(tr, i, r, choice.name) for i in range(tr.layers)]
    q, k, v, out, w = layers[layer]
    scale, window = tr.scales[layer], tr.windows[layer]
    trace = attention_trace(
        q[h], k[h], v[h], is_causal=r.causal, scale=scale, temperature=r.temperature,
        window=window,
    )  # fmt: skip
    _, unmasked = scaled_dot_product_attention(
        q[h], k[h], v[h], scale=scale, temperature=r.temperature, window=window,
        return_weights=True, backend=choice.name,
    )  # fmt: skip
    _, causal = scaled_dot_product_attention(
        q[h], k[h], v[h], is_causal=True, scale=scale, temperature=r.temperature, window=window,
        return_weights=True, backend=choice.name,
    )  # fmt: skip
    x = tr.hidden_states[layer]  # (L, D): what the layer reads
    all_w = np.stack([lw[4] for lw in layers])  # (layers, H, L, L)
    keep = np.ones(len(tr), dtype=bool)
    if r.hide_special:
        keep = ~np.asarray(tr.special, dtype=bool)
        w, unmasked, causal, all_w = (
            renormalise_kept(a, keep) for a in (w, unmasked, causal, all_w)
        )
        q, k, v, x = q[:, keep], k[:, keep], v[:, keep], x[keep]
        tw = renormalise_kept(trace.weights, keep)
        tv = trace.value[keep]
        trace = dataclasses.replace(
            trace, query=trace.query[keep], key=trace.key[keep], value=tv,
            scores=keep_positions(trace.scores, keep),
            scaled_scores=keep_positions(trace.scaled_scores, keep),
            masked_scores=keep_positions(trace.masked_scores, keep),
            weights=tw, output=(tw @ tv).astype(trace.output.dtype),
            visible=keep_positions(trace.visible, keep),
        )  # fmt: skip
        out = np.matmul(w, v).astype(np.float32)  # what the renormalised weights would mix
    tokens = tuple(t for t, kept in zip(tr.tokens, keep, strict=True) if kept)
    n, heads, d = len(tokens), tr.heads, x.shape[1]
    placeholder = np.zeros((heads, 0, 0), dtype=np.float32)  # W lives in the model's files
    req = dataclasses.replace(
        r, tokens=tokens, x=np.asarray(x, dtype=np.float32), wq=placeholder, wk=placeholder,
        wv=placeholder, head_names=tuple(f"head {i + 1}" for i in range(heads)),
        feature_names=tuple(f"h{i + 1}" for i in range(d)),
        selected_token=min(r.selected_token, n - 1), head=min(h, heads - 1),
        layer=min(layer, tr.layers - 1), model_summary=model.info.summary(),
        special=tuple(bool(sp) for sp, kept in zip(tr.special, keep, strict=True) if kept),
        hidden_tokens=tuple(t for t, kept in zip(tr.tokens, keep, strict=True) if not kept),
    )  # fmt: skip
    masked_causal = np.where(causal_mask(n).mask, trace.scaled_scores, -np.inf)
    views = _views(req, skip=("head_grid",))
    views["head_grid"] = HeadGridData(
        layer=layer, head_names=req.head_names, stats=head_stats(w),
        max_entropy=float(np.log(n)),
    )  # fmt: skip
    return _result(req, choice, t0, q, k, v, w, out, trace, unmasked, causal, masked_causal,
                   views, all_w)  # fmt: skip


# Views that need Q, K, V (or the layer's input) and so have nothing to show for a saved file.
_QKV_VIEWS = ("kv_cache", "flash_attention")


def _run_file(r: Request, choice: Any, t0: float) -> Result:
    """Saved probabilities, shown as saved: no temperature, mask or projections applied."""
    assert r.attention_path is not None
    att = attention_file(r.attention_path)
    all_w = att.attentions  # (layers, H, L, L)
    layer = min(r.layer, att.layers - 1)
    h = min(r.head, att.heads - 1)
    w = all_w[layer]
    n, heads = len(att.tokens), att.heads
    none = np.zeros((heads, n, 0), dtype=np.float32)  # no Q, K, V, output in the file
    nan = np.full((n, n), np.nan, dtype=np.float32)  # no scores either
    trace = AttentionTrace(
        query=none[h], key=none[h], value=none[h], scores=nan, scaled_scores=nan,
        masked_scores=nan, weights=w[h], output=none[h], visible=w[h] > 0, scale=float("nan"),
        temperature=1.0,
    )  # fmt: skip
    req = dataclasses.replace(
        r, tokens=att.tokens, x=np.zeros((n, 0), dtype=np.float32), wq=none, wk=none, wv=none,
        head_names=tuple(f"head {i + 1}" for i in range(heads)), feature_names=(),
        layer=layer, head=h, selected_token=min(r.selected_token, n - 1), temperature=1.0,
        model_summary=f"{att.path.name} (saved attention, {att.layers} layers × {heads} heads)",
    )  # fmt: skip
    views = _views(req, skip=("head_grid", *_QKV_VIEWS))
    for pid in _QKV_VIEWS:
        views[pid] = ViewError(FILE_NO_QKV)
    views["head_grid"] = HeadGridData(
        layer=layer, head_names=req.head_names, stats=head_stats(w),
        max_entropy=float(np.log(n)),
    )  # fmt: skip
    return _result(req, choice, t0, none, none, none, w, none, trace, w[h], w[h], nan, views,
                   all_w)  # fmt: skip


def _views(request: Request, skip: tuple[str, ...]) -> dict[str, Any]:
    """Every view's outcome, as compute_views, except those the pipeline fills in itself."""
    out: dict[str, Any] = {}
    for pid, view in discover().items():
        if pid in skip:
            continue
        try:
            out[pid] = view.compute(request, request.view_params.get(pid))
        except ValueError as exc:
            out[pid] = ViewError(str(exc))
    return out


def _result(
    r: Request, choice: Any, t0: float, q: np.ndarray, k: np.ndarray, v: np.ndarray,
    w: np.ndarray, out: np.ndarray, trace: AttentionTrace, unmasked: np.ndarray,
    causal: np.ndarray, masked_causal: np.ndarray, views: dict[str, Any],
    layer_weights: np.ndarray | None = None,
) -> Result:  # fmt: skip
    _check_finite(r, q=q, k=k, v=v, weights=w, output=out, layer_weights=layer_weights)
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
        backend_label=choice.label,
        views=views,
        seconds=time.perf_counter() - t0,
        layer_weights=layer_weights,
    )


class NotFiniteError(ValueError):
    """The numbers overflowed or a model's weights hold NaN; nothing of it is drawn."""


def _check_finite(r: Request, **arrays: np.ndarray | None) -> None:
    """Refuse a result with NaN or infinity in what panels draw as numbers or colours.

    The session keeps typed values small enough for float32 (session.MAX_VALUE), so for the toy
    scenes this never fires; a model folder whose weights hold NaN or huge values would.
    Masked scores (−∞) are not checked: they are drawn as masked on purpose.
    """
    for name, a in arrays.items():
        if a is not None and a.size and not np.isfinite(a).all():
            source = r.model_path or r.attention_path or "the toy model"
            raise NotFiniteError(
                f"the {name.replace('_', ' ')} hold NaN or infinity, so nothing can be drawn: "
                f"{source} gives numbers float32 cannot hold (check its weights or values)"
            )


def run(request: Request) -> Result:
    """Compute every number of every panel for ``request`` through the compute core.

    The result names the backend that computed it: after a GPU failure mid-run that is NumPy,
    and why, not the CuPy that was selected."""
    with recording_fallbacks() as fallbacks:
        result = _run(request)
    if not fallbacks:
        return result
    fell = BackendChoice("numpy", fallbacks[-1], fallback_from="cupy")
    return dataclasses.replace(result, backend=str(fell), backend_label=fell.label)


def _run(request: Request) -> Result:
    t0 = time.perf_counter()
    r = request
    choice = select_backend(r.backend)
    if r.attention_path is not None:
        return _run_file(r, choice, t0)
    if r.model_path is not None:
        return _run_model(r, choice, t0)
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
    return _result(r, choice, t0, q, k, v, w, out, trace, unmasked, causal, masked_causal,
                   compute_views(r))  # fmt: skip
