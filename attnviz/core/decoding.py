"""Autoregressive decoding with a key/value cache, and the from-scratch twin it must equal.

A decoder layer here is attention only (no MLP, no normalisation), with a residual connection,
grouped key/value heads and optional rotary position embeddings:

    q = h Wq  (Hq heads),  k = h Wk,  v = h Wv  (Hkv heads),  RoPE on q and k at each position
    h <- h + merge(attention(q, k, v, causal, GQA)) Wo

:func:`decoder_forward` runs all L positions at once under the causal mask. :func:`decode_step`
runs one new token: it computes that token's keys and values, appends them to the cache and lets
the single query read every cached key. Because the causal mask lets token t see exactly tokens
0..t, feeding tokens one at a time through the cache gives the same outputs as recomputing.

References
----------
- Vaswani et al., "Attention Is All You Need", 2017 (decoder self-attention, causal mask).
- Ainslie et al., "GQA", 2023 (grouped key/value heads); Su et al., "RoFormer", 2021 (RoPE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from attnviz.core.attention import attention
from attnviz.core.heads import merge_heads, split_heads
from attnviz.core.kv_cache import KVCache
from attnviz.core.positional import apply_rope

__all__ = ["DecoderLayer", "decode_step", "decoder_forward", "new_cache"]


@dataclass(frozen=True)
class DecoderLayer:
    """One attention-only decoder layer: projections of width D to heads and back.

    wq (D, Hq*E), wk (D, Hkv*E), wv (D, Hkv*E), wo (Hq*E, D); ``rope_base`` None: no RoPE.
    """

    wq: np.ndarray
    wk: np.ndarray
    wv: np.ndarray
    wo: np.ndarray
    n_q_heads: int
    n_kv_heads: int
    rope_base: float | None = 10000.0

    def __post_init__(self) -> None:
        d = self.wq.shape[0]
        hq, hkv = self.n_q_heads, self.n_kv_heads
        if hkv < 1 or hq % hkv:
            raise ValueError(f"{hq} query heads cannot share {hkv} key/value heads evenly")
        if self.wq.shape[1] % hq:
            raise ValueError(f"wq's width {self.wq.shape[1]} does not split into {hq} heads")
        e = self.wq.shape[1] // hq
        want = {"wk": (d, hkv * e), "wv": (d, hkv * e), "wo": (hq * e, d)}
        for name, shape in want.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {getattr(self, name).shape}")

    @property
    def head_dim(self) -> int:
        return self.wq.shape[1] // self.n_q_heads


def _check_layers(layers: Sequence[DecoderLayer]) -> None:
    if not layers:
        raise ValueError("a decoder needs at least one layer")
    first = layers[0]
    for i, layer in enumerate(layers):
        if (layer.n_kv_heads, layer.head_dim) != (first.n_kv_heads, first.head_dim):
            raise ValueError(f"layer {i} has a different key/value shape from layer 0")


def new_cache(layers: Sequence[DecoderLayer], dtype: np.dtype | type = np.float64) -> KVCache:
    """An empty cache shaped for ``layers`` (batch 1)."""
    _check_layers(layers)
    return KVCache(len(layers), layers[0].n_kv_heads, layers[0].head_dim, dtype=dtype)


def _rope(x: np.ndarray, positions: np.ndarray, base: float | None) -> np.ndarray:
    return x if base is None else apply_rope(x, positions, base=base)


def decoder_forward(x: np.ndarray, layers: Sequence[DecoderLayer]) -> np.ndarray:
    """All positions at once, causal mask: x (L, D) -> (L, D). The from-scratch reference."""
    _check_layers(layers)
    h = np.asarray(x)
    positions = np.arange(h.shape[0])
    for layer in layers:
        q = split_heads(h @ layer.wq, layer.n_q_heads)  # (Hq, L, E)
        k = split_heads(h @ layer.wk, layer.n_kv_heads)  # (Hkv, L, E)
        v = split_heads(h @ layer.wv, layer.n_kv_heads)  # (Hkv, L, E)
        q = _rope(q, positions, layer.rope_base)
        k = _rope(k, positions, layer.rope_base)
        o = attention(q, k, v, is_causal=True, enable_gqa=True, method="standard")  # (Hq, L, E)
        h = h + merge_heads(o) @ layer.wo  # (L, Hq*E) @ (Hq*E, D)
    return h


def decode_step(x_t: np.ndarray, layers: Sequence[DecoderLayer], cache: KVCache) -> np.ndarray:
    """Feed one token: x_t (D,) at position len(cache) -> its output (D,).

    Appends the token's keys and values (after RoPE) to ``cache`` in every layer; the query
    attends to every cached position, which are exactly the positions the causal mask allows.
    """
    _check_layers(layers)
    if cache.layers != len(layers):
        raise ValueError(f"the cache has {cache.layers} layers, the decoder {len(layers)}")
    h = np.asarray(x_t)[None, :]  # (1, D): one new position
    position = np.array([cache.length(0)])
    for i, layer in enumerate(layers):
        if cache.length(i) != position[0]:
            raise ValueError("the cache's layers hold different numbers of tokens")
        q = split_heads(h @ layer.wq, layer.n_q_heads)  # (Hq, 1, E)
        k = split_heads(h @ layer.wk, layer.n_kv_heads)  # (Hkv, 1, E)
        v = split_heads(h @ layer.wv, layer.n_kv_heads)  # (Hkv, 1, E)
        q = _rope(q, position, layer.rope_base)
        k = _rope(k, position, layer.rope_base)
        cache.append(i, k[None], v[None])  # (1, Hkv, 1, E): batch 1
        keys, values = cache.keys(i)[0], cache.values(i)[0]  # (Hkv, T, E), T = position + 1
        o = attention(q, keys, values, enable_gqa=True, method="standard")  # (Hq, 1, E)
        h = h + merge_heads(o) @ layer.wo  # (1, D)
    return h[0]
