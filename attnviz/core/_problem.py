"""Argument checking shared by every attention path: one place that turns the torch-style call
into a normalised problem (shapes, heads, scale, masks), so the standard and flash paths, and
the backends, all accept and refuse exactly the same inputs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

from attnviz.core._xp import array_namespace, compute_dtype
from attnviz.core.masks import effective_window, window_visible
from attnviz.core.softmax import check_temperature

# |logit| <= this bound lets softmax skip the max subtraction: exp(80) ~ 5.5e34 stays below
# float32's 3.4e38 even summed over 2**10 keys' worth of headroom, exp(-80) stays normal.
SAFE_LOGIT = 80.0


@lru_cache(maxsize=256)
def tile_invisible_structural(
    offset: int, nq: int, nk: int, causal: bool, left: int | None, right: int | None
) -> np.ndarray | None:
    """(nq, nk) True where causal/window hide the pair, None when nothing is hidden.

    ``offset`` is j0 - i0, the first key index minus the first query index of the tile, so
    entry (a, b) has relative offset d = j - i = offset + b - a.
    """
    left, right = effective_window((left, right), causal)
    d_min, d_max = offset - (nq - 1), offset + nk - 1
    if (left is None or d_min >= -left) and (right is None or d_max <= right):
        return None
    d = offset + (np.arange(nk)[None, :] - np.arange(nq)[:, None])  # (nq, nk)
    inv = np.zeros((nq, nk), dtype=bool)
    if left is not None:
        inv |= d < -left
    if right is not None:
        inv |= d > right
    inv.flags.writeable = False
    return inv


@dataclass(frozen=True)
class Problem:
    """A checked attention call. Arrays carry a head axis and the compute dtype.

    q (*batch, Hq, L, E), k (*batch, Hkv, S, E), v (*batch, Hkv, S, Ev) are broadcast views;
    ``visible`` (bool) and ``bias`` (float) broadcast to the scores' shape (*batch, Hq, L, S).
    """

    xp: ModuleType
    q: Any
    k: Any
    v: Any
    batch: tuple[int, ...]
    hq: int
    hkv: int
    length_q: int
    length_k: int
    e: int
    ev: int
    scale: float
    temperature: float
    causal: bool
    window: tuple[int | None, int | None]
    softcap: float | None  # logits become softcap · tanh(logits / softcap) (Gemma 2)
    visible: Any | None
    bias: Any | None
    out_dtype: np.dtype
    had_heads: bool

    @property
    def group(self) -> int:
        """Query heads per key/value head."""
        return self.hq // self.hkv

    @property
    def logit_factor(self) -> float:
        """scale / temperature: what multiplies q·k (without soft-capping)."""
        return self.scale / self.temperature

    @property
    def q_factor(self) -> float:
        """What the queries are multiplied by before q·k: scale / temperature, or only the
        scale when the logits are soft-capped (the cap comes first, the temperature after)."""
        return self.scale if self.softcap is not None else self.scale / self.temperature

    def cap_logits(self, s: Any) -> Any:
        """In place, on q·k · q_factor: softcap · tanh(s / softcap) / temperature when capped
        (Gemma 2's attention-logit soft-capping); unchanged otherwise. Returns ``s``."""
        if self.softcap is None:
            return s
        s /= self.softcap
        self.xp.tanh(s, out=s)
        s *= self.softcap / self.temperature
        return s

    @property
    def scores_shape(self) -> tuple[int, ...]:
        return (*self.batch, self.hq, self.length_q, self.length_k)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (*self.batch, self.hq, self.length_q, self.ev)

    @property
    def effective_window(self) -> tuple[int | None, int | None]:
        """(left, right) with the causal mask folded in (see masks.effective_window)."""
        return effective_window(self.window, self.causal)

    @property
    def structural(self) -> bool:
        """Whether causal or window hide keys (masks the flash path can skip tile by tile)."""
        return self.causal or self.window != (None, None)

    def key_range(self, i0: int, i1: int) -> tuple[int, int]:
        """Keys [lo, hi) that causal/window leave visible to some query in [i0, i1)."""
        left, right = self.effective_window
        hi = self.length_k
        if right is not None:
            hi = min(hi, i1 + right)
        lo = 0 if left is None else max(0, i0 - left)
        return lo, max(lo, hi)

    def structural_visible(self) -> np.ndarray | None:
        """(L, S) bool mask of causal and window together, or None when neither applies."""
        if not self.structural:
            return None
        return window_visible(self.length_q, self.length_k, *self.effective_window)

    def tile_invisible(self, i0: int, i1: int, j0: int, j1: int) -> np.ndarray | None:
        """(i1-i0, j1-j0) bool, True where causal/window hide the pair; None if none are."""
        if not self.structural:
            return None
        left, right = self.window
        return tile_invisible_structural(j0 - i0, i1 - i0, j1 - j0, self.causal, left, right)

    def invisible(self) -> Any | None:
        """Bool array, broadcastable to the scores, True where a pair is masked; or None."""
        xp = self.xp
        inv = None
        struct = self.structural_visible()
        if struct is not None:
            inv = xp.asarray(~struct)
        if self.visible is not None:
            inv = ~self.visible if inv is None else inv | ~self.visible
        return inv

    def logits_bounded(self) -> bool:
        """True when every finite logit provably lies in [-SAFE_LOGIT, SAFE_LOGIT].

        Cauchy-Schwarz: |q_i · k_j| * f <= max|q_i| * max|k_j| * f. Costs O((L + S) E).
        """
        if self.bias is not None or self.length_q == 0 or self.length_k == 0:
            return False
        if self.softcap is not None:  # |logit| <= softcap / T whatever q and k are
            return self.softcap / self.temperature <= SAFE_LOGIT
        xp = self.xp
        qn = float(xp.sqrt(xp.max(xp.sum(self.q * self.q, axis=-1))))
        kn = float(xp.sqrt(xp.max(xp.sum(self.k * self.k, axis=-1))))
        bound = qn * kn * abs(self.logit_factor)
        return math.isfinite(bound) and bound <= SAFE_LOGIT

    def scores(self, factor: float) -> Any:
        """(*b, Hq, L, S) = (q * factor) @ kᵀ; each KV head serves its query group, uncopied."""
        xp = self.xp
        qs = self.q * factor if factor != 1.0 else self.q
        qg = qs.reshape(*self.batch, self.hkv, self.group, self.length_q, self.e)  # (*b,Hkv,G,L,E)
        kt = xp.swapaxes(self.k, -1, -2)[..., None, :, :]  # (*b, Hkv, 1, E, S)
        s = qg @ kt  # (*b, Hkv, G, L, S)
        return s.reshape(self.scores_shape)  # (*b, Hq, L, S)

    def weighted_values(self, weights: Any) -> Any:
        """(*b, Hq, L, Ev) = weights @ v, grouped like :meth:`scores`."""
        wg = weights.reshape(*self.batch, self.hkv, self.group, self.length_q, self.length_k)
        out = wg @ self.v[..., None, :, :]  # (*b, Hkv, G, L, Ev)
        return out.reshape(self.out_shape)  # (*b, Hq, L, Ev)

    def mask_scores(self, s: Any) -> Any:
        """Add the float mask and put -inf where a pair is hidden, in place; returns ``s``."""
        if self.bias is not None:
            s += self.bias
        inv = self.invisible()
        if inv is not None:
            self.xp.copyto(s, self.xp.asarray(-np.inf, dtype=s.dtype), where=inv)
        return s

    def finish(self, out: Any) -> Any:
        """Cast to the caller's dtype and drop the head axis we added for 2-D input."""
        out = out.astype(self.out_dtype, copy=False)
        return out if self.had_heads else out[..., 0, :, :]


def _check_window(window: Any) -> tuple[int | None, int | None]:
    if window is None:
        return (None, None)
    msg = (
        "window must be (left, right): how many keys before and after each query stay visible, "
        f"each a non-negative integer or None for unlimited; got {window!r}"
    )
    try:
        left, right = window
    except (TypeError, ValueError):
        raise ValueError(msg) from None
    out = []
    for side in (left, right):
        if side is None:
            out.append(None)
        elif isinstance(side, bool) or not isinstance(side, int | np.integer) or side < 0:
            raise ValueError(msg)
        else:
            out.append(int(side))
    return (out[0], out[1])


def _check_softcap(softcap: Any) -> float | None:
    if softcap is None:
        return None
    try:
        c = float(softcap)
    except (TypeError, ValueError):
        raise ValueError(f"softcap must be a number, got {softcap!r}") from None
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"softcap must be a finite number > 0 (or None for no cap), got {c}")
    return c


def _check_scale(scale: Any, e: int) -> float:
    if scale is None:
        return 1.0 / math.sqrt(e)
    try:
        s = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a number, got {scale!r}") from None
    if not math.isfinite(s):
        raise ValueError(f"scale must be finite, got {s}")
    return s


def prepare(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    is_causal: bool = False,
    scale: Any = None,
    enable_gqa: bool = False,
    temperature: float = 1.0,
    window: Any = None,
    softcap: Any = None,
) -> Problem:
    """Check a torch-style attention call and normalise it; see scaled_dot_product_attention."""
    xp = array_namespace(query, key, value, attn_mask)
    q, k, v = xp.asarray(query), xp.asarray(key), xp.asarray(value)
    for name, a in (("query", q), ("key", k), ("value", v)):
        if a.ndim < 2:
            raise ValueError(f"{name} must have shape (..., length, features); got shape {a.shape}")
    if not q.ndim == k.ndim == v.ndim:
        raise ValueError(
            f"query, key and value must have the same number of dimensions; got shapes "
            f"{q.shape}, {k.shape}, {v.shape}"
        )
    out_dtype = np.result_type(q.dtype, k.dtype, v.dtype)
    if any(a.dtype.kind != "f" for a in (q, k, v)):
        raise TypeError(
            f"query, key and value must be floating point; got {q.dtype}, {k.dtype}, {v.dtype}"
        )
    cdt = compute_dtype(out_dtype)
    had_heads = q.ndim >= 3
    if not had_heads:  # (L, E) -> (1, L, E): one head
        q, k, v = q[None], k[None], v[None]
    length_q, e = q.shape[-2:]
    length_k, ek = k.shape[-2:]
    length_v, ev = v.shape[-2:]
    if e < 1:
        raise ValueError("query and key need at least one feature (E >= 1)")
    if ek != e:
        raise ValueError(f"query and key must have the same feature size E; got {e} and {ek}")
    if length_v != length_k:
        raise ValueError(
            f"key and value must have the same length S; got {length_k} and {length_v}"
        )
    hq, hkv, hv = q.shape[-3], k.shape[-3], v.shape[-3]
    if hv != hkv:
        raise ValueError(f"key and value must have the same number of heads; got {hkv} and {hv}")
    if hq != hkv:
        if hkv == 0 or hq % hkv:
            raise ValueError(
                f"the query heads (Hq={hq}) must be a whole multiple of the key/value heads "
                f"(Hkv={hkv}) so that each key/value head serves a group of query heads"
            )
        if not enable_gqa and hkv != 1:
            raise ValueError(
                f"query has {hq} heads but key/value have {hkv}: pass enable_gqa=True to share "
                f"each key/value head among {hq // hkv} query heads"
            )
    try:
        batch = tuple(np.broadcast_shapes(q.shape[:-3], k.shape[:-3], v.shape[:-3]))
    except ValueError:
        raise ValueError(
            f"the batch dimensions of query {q.shape[:-3]}, key {k.shape[:-3]} and value "
            f"{v.shape[:-3]} do not broadcast together"
        ) from None
    q = xp.broadcast_to(q.astype(cdt, copy=False), (*batch, hq, length_q, e))
    k = xp.broadcast_to(k.astype(cdt, copy=False), (*batch, hkv, length_k, e))
    v = xp.broadcast_to(v.astype(cdt, copy=False), (*batch, hkv, length_k, ev))

    visible = bias = None
    if attn_mask is not None:
        m = xp.asarray(attn_mask)
        scores_shape = (*batch, hq, length_q, length_k)
        try:
            np.broadcast_shapes(m.shape, scores_shape)
            if np.broadcast_shapes(m.shape, scores_shape) != scores_shape:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"attn_mask of shape {m.shape} does not broadcast to the scores' shape "
                f"{scores_shape} (batch, heads, L, S)"
            ) from None
        if m.dtype == bool:
            visible = m
        elif m.dtype.kind == "f":
            bias = m.astype(cdt, copy=False)
        else:
            raise TypeError(
                f"attn_mask must be bool (True = take part) or float (added to the scores); "
                f"got {m.dtype}"
            )
    return Problem(
        xp=xp,
        q=q,
        k=k,
        v=v,
        batch=batch,
        hq=hq,
        hkv=hkv,
        length_q=length_q,
        length_k=length_k,
        e=e,
        ev=ev,
        scale=_check_scale(scale, e),
        temperature=check_temperature(temperature),
        causal=bool(is_causal),
        window=_check_window(window),
        softcap=_check_softcap(softcap),
        visible=visible,
        bias=bias,
        out_dtype=out_dtype,
        had_heads=had_heads,
    )
