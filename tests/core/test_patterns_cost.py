"""Cost formulas of the attention patterns against brute-force counts of the masks."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnviz.core import masks, patterns

sizes = st.integers(1, 70)
windows = st.integers(0, 80)


def count(pattern):
    return int(np.count_nonzero(pattern.mask))


def brute_window(n, left, right):
    return sum(
        1
        for i in range(n)
        for j in range(n)
        if (left is None or j >= i - left) and (right is None or j <= i + right)
    )


@given(sizes, st.one_of(st.none(), windows), st.one_of(st.none(), windows))
def test_window_pairs_is_a_count_of_index_pairs(n, left, right):
    assert patterns.window_pairs(n, left, right) == brute_window(n, left, right)


@given(sizes)
def test_full_and_causal(n):
    assert patterns.full_cost(n).pairs == n * n
    assert patterns.causal_cost(n).pairs == count(masks.causal_mask(n))


@given(sizes, windows, windows)
def test_sliding_window(n, left, right):
    assert patterns.sliding_window_cost(n, left, right).pairs == count(
        masks.sliding_window_mask(n, left, right)
    )


@given(sizes, windows, st.integers(1, 9), st.booleans())
def test_dilated(n, w, dilation, causal):
    assert patterns.dilated_cost(n, w, dilation, causal).pairs == count(
        masks.dilated_mask(n, w, dilation, causal)
    )


@given(st.data(), sizes, windows)
def test_global_local_with_a_count_or_with_indices(data, n, w):
    g = data.draw(st.integers(0, n))
    assert patterns.global_local_cost(n, w, g).pairs == count(masks.global_local_mask(n, w, g))
    idx = data.draw(st.lists(st.integers(0, n - 1), max_size=6, unique=True))
    assert patterns.global_local_cost(n, w, idx).pairs == count(masks.global_local_mask(n, w, idx))


@given(sizes, windows, st.integers(0, 3), st.integers(0, 5), st.integers(0, 1000))
def test_bigbird_count_lies_between_its_window_and_its_bound(n, w, g, r, seed):
    g = min(g, n)
    bound = patterns.bigbird_cost(n, w, g, r)
    kept = count(masks.bigbird_mask(n, w, g, r, seed=seed))
    assert not bound.exact
    assert patterns.global_local_cost(n, w, g).pairs <= kept <= bound.pairs <= n * n


@given(sizes, st.integers(1, 80))
def test_block(n, b):
    assert patterns.block_cost(n, b).pairs == count(masks.block_sparse_mask(n, b))


def test_growth_is_stated_and_the_large_case_holds():
    n, w = 4096, 64
    assert patterns.full_cost(n).big_o == "O(n²)"
    assert patterns.sliding_window_cost(n, w, w).big_o == "O(n·w)"
    assert patterns.sliding_window_cost(n, w, w).pairs == count(masks.sliding_window_mask(n, w, w))
    assert patterns.sliding_window_cost(n, w, w).pairs == n * (2 * w + 1) - w * (w + 1)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match=">= 1"):
        patterns.full_cost(0)
    with pytest.raises(TypeError, match="integer"):
        patterns.block_cost(8, 2.5)
    with pytest.raises(ValueError, match="do not fit"):
        patterns.global_local_cost(4, 1, 5)


@given(st.integers(1, 300), st.integers(1, 40), st.integers(0, 1000))
def test_coverage_keeps_the_share_of_every_cell(n, max_cells, seed):
    mask = np.random.default_rng(seed).random((n, n)) < 0.3
    pic = patterns.coverage(mask, max_cells)
    f = -(-n // max_cells)
    assert pic.shape == (-(-n // f),) * 2 and max(pic.shape) <= max_cells
    for a in range(pic.shape[0]):
        for b in range(pic.shape[1]):
            cell = mask[a * f : (a + 1) * f, b * f : (b + 1) * f]
            assert pic[a, b] == pytest.approx(cell.mean(), abs=1e-6)


def test_coverage_is_the_mask_itself_when_it_fits():
    mask = masks.causal_mask(16).mask
    np.testing.assert_array_equal(patterns.coverage(mask, 16), mask.astype(np.float32))
