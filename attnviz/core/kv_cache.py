"""The key/value cache of autoregressive decoding, and what it costs by head layout.

When a decoder generates token t it needs the keys and values of tokens 0..t-1 again. Keeping them
(the KV cache) turns each step from recomputing t rows into computing one. Its size is

    bytes = 2 (K and V) * layers * kv_heads * head_dim * seq_len * dtype_bytes * batch

which is why MQA (1 KV head) and GQA (a few KV heads) exist: the query heads stay, the cache
shrinks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["KVCache", "kv_cache_bytes"]


def kv_cache_bytes(
    layers: int,
    kv_heads: int,
    head_dim: int,
    seq_len: int,
    dtype_bytes: int | float,
    batch: int = 1,
) -> int:
    """Bytes of a KV cache holding ``seq_len`` tokens (keys and values, every layer).

    Exact integer arithmetic, so 128K-token figures need no floating point.
    """
    for name, v in (
        ("layers", layers),
        ("kv_heads", kv_heads),
        ("head_dim", head_dim),
        ("batch", batch),
    ):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if int(seq_len) != seq_len or seq_len < 0:
        raise ValueError(f"seq_len must be a non-negative integer, got {seq_len!r}")
    if dtype_bytes <= 0:
        raise ValueError(f"dtype_bytes must be > 0, got {dtype_bytes!r}")
    elems = 2 * int(layers) * int(kv_heads) * int(head_dim) * int(seq_len) * int(batch)
    return int(elems * dtype_bytes)


class KVCache:
    """Growable per-layer cache of keys and values, shape (batch, kv_heads, T, head_dim).

    ``append`` takes one step (T=1) or many; ``keys(layer)`` / ``values(layer)`` read back what is
    stored (views, no copy). Storage grows by doubling, so appending one token at a time is
    amortised O(1).
    """

    def __init__(
        self,
        layers: int,
        kv_heads: int,
        head_dim: int,
        dtype: Any = np.float32,
        batch: int = 1,
        capacity: int = 16,
    ) -> None:
        if min(layers, kv_heads, head_dim, batch, capacity) < 1:
            raise ValueError("layers, kv_heads, head_dim, batch and capacity must all be >= 1")
        self.layers, self.kv_heads, self.head_dim, self.batch = layers, kv_heads, head_dim, batch
        self.dtype = np.dtype(dtype)
        shape = (layers, batch, kv_heads, capacity, head_dim)
        self._k = np.zeros(shape, dtype=self.dtype)
        self._v = np.zeros(shape, dtype=self.dtype)
        self._len = [0] * layers

    def __len__(self) -> int:
        """Tokens held by the last layer (every layer holds the same after a full step)."""
        return self._len[-1]

    def length(self, layer: int) -> int:
        """Tokens held for ``layer``."""
        return self._len[layer]

    def _grow(self, needed: int) -> None:
        cap = self._k.shape[3]
        if needed <= cap:
            return
        new_cap = max(needed, 2 * cap)
        for name in ("_k", "_v"):
            old = getattr(self, name)
            new = np.zeros((*old.shape[:3], new_cap, old.shape[4]), dtype=self.dtype)
            new[:, :, :, :cap] = old
            setattr(self, name, new)

    def append(self, layer: int, k: Any, v: Any) -> None:
        """Store keys and values of new tokens: k, v of shape (batch, kv_heads, T, head_dim)."""
        k = np.asarray(k)
        v = np.asarray(v)
        want = (self.batch, self.kv_heads, self.head_dim)
        for name, a in (("k", k), ("v", v)):
            if a.ndim != 4 or (a.shape[0], a.shape[1], a.shape[3]) != want:
                raise ValueError(
                    f"{name} must have shape (batch={self.batch}, kv_heads={self.kv_heads}, "
                    f"T, head_dim={self.head_dim}), got {a.shape}"
                )
        if k.shape[2] != v.shape[2]:
            raise ValueError(f"k holds {k.shape[2]} tokens but v holds {v.shape[2]}")
        start = self._len[layer]
        stop = start + k.shape[2]
        self._grow(stop)
        self._k[layer, :, :, start:stop] = k
        self._v[layer, :, :, start:stop] = v
        self._len[layer] = stop

    def keys(self, layer: int) -> np.ndarray:
        """(batch, kv_heads, T, head_dim) keys held for ``layer`` (a view)."""
        return self._k[layer, :, :, : self._len[layer]]

    def values(self, layer: int) -> np.ndarray:
        """(batch, kv_heads, T, head_dim) values held for ``layer`` (a view)."""
        return self._v[layer, :, :, : self._len[layer]]

    @property
    def nbytes(self) -> int:
        """Bytes of the keys and values actually held (not the spare capacity)."""
        per_token = 2 * self.batch * self.kv_heads * self.head_dim * self.dtype.itemsize
        return per_token * sum(self._len)

    def reset(self) -> None:
        """Forget every token (keep the storage)."""
        self._len = [0] * self.layers
