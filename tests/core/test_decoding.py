"""Cached decoding equals recomputing, and both equal a plain loop written from the formulas."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnviz.core.decoding import DecoderLayer, decode_step, decoder_forward, new_cache
from attnviz.core.kv_cache import kv_cache_bytes
from tests.reference import reference_attention


def make_layers(rng, d, hq, hkv, e, n_layers, rope_base=10000.0):
    return [
        DecoderLayer(
            wq=rng.standard_normal((d, hq * e)) / math.sqrt(d),
            wk=rng.standard_normal((d, hkv * e)) / math.sqrt(d),
            wv=rng.standard_normal((d, hkv * e)) / math.sqrt(d),
            wo=rng.standard_normal((hq * e, d)) / math.sqrt(hq * e),
            n_q_heads=hq,
            n_kv_heads=hkv,
            rope_base=rope_base,
        )
        for _ in range(n_layers)
    ]


def rotate(vec, pos, base):
    """RoPE written out: pair (i, i + E/2) turned by pos * base^(-2i/E), one 2×2 at a time."""
    e = len(vec)
    out = np.array(vec, dtype=np.float64)
    for i in range(e // 2):
        a = pos * base ** (-2 * i / e)
        c, s = math.cos(a), math.sin(a)
        x, y = vec[i], vec[i + e // 2]
        out[i], out[i + e // 2] = c * x - s * y, s * x + c * y
    return out


def reference_decoder(x, layers):
    """Per token, per head, from the formulas; attention through tests.reference."""
    h = np.array(x, dtype=np.float64)
    n = h.shape[0]
    for layer in layers:
        hq, hkv, e = layer.n_q_heads, layer.n_kv_heads, layer.head_dim
        q = np.zeros((hq, n, e))
        k = np.zeros((hkv, n, e))
        v = np.zeros((hkv, n, e))
        for t in range(n):
            qt, kt, vt = h[t] @ layer.wq, h[t] @ layer.wk, h[t] @ layer.wv
            for a in range(hq):
                q[a, t] = qt[a * e : (a + 1) * e]
                if layer.rope_base is not None:
                    q[a, t] = rotate(q[a, t], t, layer.rope_base)
            for b in range(hkv):
                k[b, t] = kt[b * e : (b + 1) * e]
                v[b, t] = vt[b * e : (b + 1) * e]
                if layer.rope_base is not None:
                    k[b, t] = rotate(k[b, t], t, layer.rope_base)
        o, _ = reference_attention(q, k, v, causal=True)  # (Hq, n, E)
        concat = np.concatenate([o[a] for a in range(hq)], axis=1)  # (n, Hq*E)
        h = h + concat @ layer.wo
    return h


@given(
    n=st.integers(1, 9),
    d=st.integers(2, 10),
    groups=st.sampled_from([(1, 1), (2, 1), (4, 2), (3, 3)]),
    e=st.sampled_from([2, 4, 6]),
    n_layers=st.integers(1, 3),
    rope=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_cached_decode_equals_recompute_equals_reference(n, d, groups, e, n_layers, rope, seed):
    rng = np.random.default_rng(seed)
    hq, hkv = groups
    layers = make_layers(rng, d, hq, hkv, e, n_layers, 10000.0 if rope else None)
    x = rng.standard_normal((n, d))
    ref = reference_decoder(x, layers)
    full = decoder_forward(x, layers)
    np.testing.assert_allclose(full, ref, rtol=1e-10, atol=1e-10)
    cache = new_cache(layers)
    for t in range(n):
        out = decode_step(x[t], layers, cache)
        assert np.abs(out - full[t]).max() <= 1e-6
        assert len(cache) == t + 1
    assert cache.nbytes == kv_cache_bytes(n_layers, hkv, e, n, 8)


def test_the_cache_holds_the_rotated_keys_of_every_position():
    rng = np.random.default_rng(3)
    layers = make_layers(rng, 6, 4, 2, 4, 1)
    x = rng.standard_normal((5, 6))
    cache = new_cache(layers)
    for t in range(5):
        decode_step(x[t], layers, cache)
    keys = cache.keys(0)[0]  # (Hkv, T, E)
    for t in range(5):
        raw = x[t] @ layers[0].wk
        for b in range(2):
            np.testing.assert_allclose(keys[b, t], rotate(raw[b * 4 : (b + 1) * 4], t, 10000.0))


def test_a_token_cannot_see_the_future():
    """Changing a later token leaves every earlier output unchanged (the causal mask)."""
    rng = np.random.default_rng(5)
    layers = make_layers(rng, 4, 2, 1, 2, 2)
    x = rng.standard_normal((6, 4))
    y = x.copy()
    y[4] += 10.0
    a, b = decoder_forward(x, layers), decoder_forward(y, layers)
    np.testing.assert_allclose(a[:4], b[:4], rtol=0, atol=1e-12)  # BLAS may round differently
    assert np.abs(a[4] - b[4]).max() > 1e-3


def test_bad_shapes_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="cannot share 3 key/value heads"):
        make_layers(rng, 4, 4, 3, 2, 1)
    good = make_layers(rng, 4, 4, 2, 2, 1)[0]
    with pytest.raises(ValueError, match="wo must have shape"):
        DecoderLayer(good.wq, good.wk, good.wv, good.wo[:, :3], 4, 2)
    with pytest.raises(ValueError, match="at least one layer"):
        decoder_forward(np.zeros((2, 4)), [])
    cache = new_cache([good, good])
    with pytest.raises(ValueError, match="the cache has 2 layers, the decoder 1"):
        decode_step(np.zeros(4), [good], cache)
