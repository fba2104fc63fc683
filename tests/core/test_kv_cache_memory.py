"""KV-cache sizes (the seeds' calculator) and the flash-attention memory accounting."""

import numpy as np
import pytest

import attnviz
from attnviz.core.kv_cache import KVCache, kv_cache_bytes
from attnviz.core.memory import ASSUMPTIONS, attention_cost

GiB, MiB = 2**30, 2**20


@pytest.mark.parametrize(
    ("kv_heads", "tokens", "expect"),
    [
        (32, 4096, 2 * GiB),  # MHA: d_model 4096 / d_k 128 = 32 heads
        (1, 4096, 64 * MiB),  # MQA
        (8, 4096, 512 * MiB),  # GQA-8
        (32, 128 * 1024, 64 * GiB),
        (8, 128 * 1024, 16 * GiB),
    ],
)
def test_seed_calculator(kv_heads, tokens, expect):
    assert kv_cache_bytes(32, kv_heads, 128, tokens, 2) == expect


def test_kv_cache_bytes_rejects_nonsense():
    with pytest.raises(ValueError, match="layers must be a positive integer"):
        kv_cache_bytes(0, 8, 128, 10, 2)
    with pytest.raises(ValueError, match="seq_len"):
        kv_cache_bytes(1, 8, 128, -1, 2)


def test_cache_append_and_read_back():
    rng = np.random.default_rng(0)
    cache = KVCache(layers=2, kv_heads=2, head_dim=4, batch=1, capacity=2)
    ks = rng.standard_normal((1, 2, 5, 4)).astype(np.float32)
    vs = rng.standard_normal((1, 2, 5, 4)).astype(np.float32)
    cache.append(0, ks[:, :, :3], vs[:, :, :3])  # many at once
    for t in (3, 4):  # then one step at a time, past the initial capacity
        cache.append(0, ks[:, :, t : t + 1], vs[:, :, t : t + 1])
    np.testing.assert_array_equal(cache.keys(0), ks)
    np.testing.assert_array_equal(cache.values(0), vs)
    assert cache.length(0) == 5 and cache.length(1) == 0
    assert cache.nbytes == kv_cache_bytes(1, 2, 4, 5, 4)
    with pytest.raises(ValueError, match="must have shape"):
        cache.append(1, ks[:, :1], vs[:, :1])
    cache.reset()
    assert cache.length(0) == 0


def test_cached_decoding_equals_full_recompute():
    rng = np.random.default_rng(1)
    n, hq, hkv, d = 7, 4, 2, 8
    q = rng.standard_normal((1, hq, n, d)).astype(np.float32)
    k = rng.standard_normal((1, hkv, n, d)).astype(np.float32)
    v = rng.standard_normal((1, hkv, n, d)).astype(np.float32)
    full = attnviz.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    cache = KVCache(layers=1, kv_heads=hkv, head_dim=d)
    for t in range(n):
        cache.append(0, k[:, :, t : t + 1], v[:, :, t : t + 1])
        step = attnviz.scaled_dot_product_attention(
            q[:, :, t : t + 1], cache.keys(0), cache.values(0), enable_gqa=True
        )
        np.testing.assert_allclose(step[:, :, 0], full[:, :, t], rtol=1e-5, atol=1e-6)


def test_attention_cost():
    c = attention_cost(4096, 64, heads=1, dtype_bytes=2)
    assert c.standard_extra_bytes == 32 * MiB  # the N×N matrix in fp16
    assert c.flash_extra_bytes == 4096 * 4
    assert c.flops == 4 * 4096**2 * 64
    assert attention_cost(4096, 64, causal=True).flops == c.flops // 2
    assert c.ratio > 10
    assert "4·N²·d" in ASSUMPTIONS
    with pytest.raises(ValueError, match="dtype_bytes"):
        attention_cost(10, 4, dtype_bytes=3)
