"""Mask builders: each against a brute-force definition, with its density."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnviz.core import masks


def brute(n, rule, s=None):
    s = n if s is None else s
    return np.array([[rule(i, j) for j in range(s)] for i in range(n)], dtype=bool)


@given(st.integers(1, 30), st.integers(1, 30))
def test_causal(n, s):
    m, d = masks.causal_mask(n, s)
    np.testing.assert_array_equal(m, brute(n, lambda i, j: j <= i, s))
    assert d == pytest.approx(m.mean())
    if n == s:
        assert d == pytest.approx((n + 1) / (2 * n))


@given(st.integers(1, 30), st.integers(0, 8), st.integers(0, 8))
def test_sliding_window(n, left, right):
    m, _ = masks.sliding_window_mask(n, left, right)
    np.testing.assert_array_equal(m, brute(n, lambda i, j: i - left <= j <= i + right))


@given(st.integers(1, 30), st.integers(0, 5), st.integers(1, 4), st.booleans())
def test_dilated(n, w, dil, causal):
    m, _ = masks.dilated_mask(n, w, dil, causal=causal)
    expect = brute(
        n, lambda i, j: abs(i - j) <= w * dil and (i - j) % dil == 0 and (not causal or j <= i)
    )
    np.testing.assert_array_equal(m, expect)
    np.testing.assert_array_equal(masks.dilated_mask(n, w, 1).mask,
                                  masks.sliding_window_mask(n, w, w).mask)  # fmt: skip


@given(st.integers(1, 30), st.integers(1, 6))
def test_strided(n, stride):
    m, _ = masks.strided_mask(n, stride)
    expect = brute(n, lambda i, j: j <= i and (i - j < stride or (i - j) % stride == 0))
    np.testing.assert_array_equal(m, expect)


@given(st.integers(2, 30), st.integers(0, 4), st.integers(0, 2))
def test_global_local(n, w, g):
    m, _ = masks.global_local_mask(n, w, g)
    expect = brute(n, lambda i, j: abs(i - j) <= w or i < g or j < g)
    np.testing.assert_array_equal(m, expect)


def test_global_local_with_indices():
    m, _ = masks.global_local_mask(10, 1, [0, 9])
    assert m[9].all() and m[:, 9].all() and m[0].all()
    assert not m[4, 7]


@given(st.integers(4, 40), st.integers(0, 3), st.integers(0, 4), st.integers(0, 100))
def test_bigbird_is_seeded_superset(n, w, r, seed):
    a = masks.bigbird_mask(n, w, 1, r, seed=seed).mask
    b = masks.bigbird_mask(n, w, 1, r, seed=seed).mask
    np.testing.assert_array_equal(a, b)
    base = masks.global_local_mask(n, w, 1).mask
    assert np.all(a >= base)
    extra_per_row = (a & ~base).sum(axis=1)
    assert np.all(extra_per_row <= r)
    # each row has at least min(r, n) keys beyond nothing: random picks are distinct keys
    assert np.all(a.sum(axis=1) >= min(r, n))


def test_bigbird_seed_changes_the_picture():
    a = masks.bigbird_mask(64, 1, 1, 3, seed=1).mask
    b = masks.bigbird_mask(64, 1, 1, 3, seed=2).mask
    assert not np.array_equal(a, b)


@given(st.integers(1, 30), st.integers(1, 8))
def test_block_sparse_default_is_block_diagonal(n, block):
    m, d = masks.block_sparse_mask(n, block)
    np.testing.assert_array_equal(m, brute(n, lambda i, j: i // block == j // block))
    assert 0 < d <= 1


def test_block_sparse_layout_and_errors():
    layout = np.array([[1, 0], [1, 1]], dtype=bool)
    _, d = masks.block_sparse_mask(4, 2, layout)
    assert d == pytest.approx(12 / 16)
    with pytest.raises(ValueError, match=r"layout must have shape \(2, 2\)"):
        masks.block_sparse_mask(4, 2, np.ones((3, 3)))


def test_padding_mask_broadcasts_over_heads_and_queries():
    m, d = masks.padding_mask([2, 4], 4)
    assert m.shape == (2, 1, 1, 4)
    np.testing.assert_array_equal(m[:, 0, 0], [[1, 1, 0, 0], [1, 1, 1, 1]])
    assert d == pytest.approx(6 / 8)
    with pytest.raises(ValueError, match=r"lie in \[0, 4\]"):
        masks.padding_mask([5], 4)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: masks.causal_mask(0), "n_queries must be >= 1"),
        (lambda: masks.sliding_window_mask(5, -1), "left must be >= 0"),
        (lambda: masks.dilated_mask(5, 1, 0), "dilation must be >= 1"),
        (lambda: masks.global_local_mask(5, 1, [7]), "global token indices"),
    ],
)
def test_bad_sizes_say_what_is_wrong(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_masks_plug_into_attention():
    import attnviz

    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    for pat in (masks.bigbird_mask(16, 2, 1, 2), masks.block_sparse_mask(16, 4),
                masks.strided_mask(16, 4), masks.dilated_mask(16, 2, 2)):  # fmt: skip
        a = attnviz.scaled_dot_product_attention(x, x, x, attn_mask=pat.mask, method="standard")
        b = attnviz.scaled_dot_product_attention(x, x, x, attn_mask=pat.mask, method="flash")
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
