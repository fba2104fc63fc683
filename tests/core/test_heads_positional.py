"""Head layouts and positional encodings."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import attnviz
from attnviz.core.heads import kv_head_for, kv_heads_for_layout, merge_heads, repeat_kv, split_heads
from attnviz.core.positional import apply_rope, rope_frequencies, sinusoidal_encoding


@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4), st.integers(1, 6))
def test_split_merge_roundtrip(b, n, h, e):
    x = np.arange(b * n * h * e, dtype=np.float64).reshape(b, n, h * e)
    heads = split_heads(x, h)
    assert heads.shape == (b, h, n, e)
    # head j holds features j*e .. (j+1)*e of each token
    np.testing.assert_array_equal(heads[:, 1 % h, :, :], x[:, :, (1 % h) * e : (1 % h + 1) * e])
    np.testing.assert_array_equal(merge_heads(heads), x)


@given(st.integers(1, 4), st.integers(1, 4))
def test_repeat_kv_matches_gqa_grouping(hkv, group):
    rng = np.random.default_rng(hkv * 7 + group)
    kv = rng.standard_normal((2, hkv, 5, 3))
    rep = repeat_kv(kv, group)
    assert rep.shape == (2, hkv * group, 5, 3)
    for h in range(hkv * group):
        np.testing.assert_array_equal(rep[:, h], kv[:, kv_head_for(h, hkv * group, hkv)])
    # GQA without copying equals MHA over the repeated heads
    q = rng.standard_normal((2, hkv * group, 4, 3))
    a = attnviz.scaled_dot_product_attention(q, kv, kv, enable_gqa=True)
    b = attnviz.scaled_dot_product_attention(q, rep, rep)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_layouts():
    assert kv_heads_for_layout("MHA", 32) == 32
    assert kv_heads_for_layout("mqa", 32) == 1
    assert kv_heads_for_layout("GQA", 32, 8) == 8
    with pytest.raises(ValueError, match="divides 32"):
        kv_heads_for_layout("GQA", 32, 5)
    with pytest.raises(ValueError, match="cannot be shared evenly"):
        kv_head_for(0, 6, 4)
    with pytest.raises(ValueError, match="does not split into 5 heads"):
        split_heads(np.zeros((2, 8)), 5)


def test_sinusoidal_matches_the_paper_formula():
    pe = sinusoidal_encoding(50, 16)
    for pos in (0, 7, 49):
        for i in range(8):
            assert pe[pos, 2 * i] == pytest.approx(math.sin(pos / 10000 ** (2 * i / 16)))
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(pos / 10000 ** (2 * i / 16)))
    assert sinusoidal_encoding(3, 5).shape == (3, 5)  # odd widths work


@given(st.integers(0, 200), st.integers(0, 200), st.integers(-50, 50), st.booleans())
def test_rope_score_depends_only_on_offset(m, n, shift, interleaved):
    rng = np.random.default_rng(abs(m - n))
    q, k = rng.standard_normal((2, 1, 8))

    def score(pm, pn):
        qr = apply_rope(q, [pm], interleaved=interleaved)
        kr = apply_rope(k, [pn], interleaved=interleaved)
        return float(qr[0] @ kr[0])

    if m + shift >= 0 and n + shift >= 0:
        assert score(m, n) == pytest.approx(score(m + shift, n + shift), abs=1e-9)


def test_rope_preserves_norms_and_is_identity_at_zero():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4, 16))
    r = apply_rope(x)
    np.testing.assert_allclose(np.linalg.norm(r, axis=-1), np.linalg.norm(x, axis=-1))
    np.testing.assert_allclose(r[:, 0], x[:, 0])
    # position 1, rotate_half pairing: pair (0, 8) turns by theta_0 = 1 radian
    c, s = math.cos(1.0), math.sin(1.0)
    np.testing.assert_allclose(r[:, 1, 0], x[:, 1, 0] * c - x[:, 1, 8] * s)
    assert rope_frequencies(16)[0] == 1.0
    with pytest.raises(ValueError, match="even head dimension"):
        rope_frequencies(7)
