"""Per-head summaries against direct float64 formulas written out row by row."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnviz.core.head_stats import (
    first_token_share,
    head_stats,
    induction_score,
    mean_diagonal_distance,
    mean_row_entropy,
    previous_token_score,
)


def reference_stats(w):
    """(entropy, distance, first-token share) of one (L, S) matrix, one loop per row."""
    w = np.asarray(w, dtype=np.float64)
    n_q, n_k = w.shape
    ent = dist = first = 0.0
    for i in range(n_q):
        ent += -sum(p * math.log(p) for p in w[i] if p > 0)
        dist += sum(w[i, j] * abs(i - j) for j in range(n_k))
        first += w[i, 0]
    return ent / n_q, dist / n_q, first / n_q


@st.composite
def weight_stacks(draw):
    """(H, L, S) row-stochastic weights; some entries zeroed (a mask), some rows all zero."""
    h = draw(st.integers(1, 3))
    n_q = draw(st.integers(1, 9))
    n_k = draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    w = rng.random((h, n_q, n_k)) ** draw(st.sampled_from([1.0, 4.0]))  # some peaked
    w *= rng.random((h, n_q, n_k)) > draw(st.sampled_from([0.0, 0.5]))  # masked keys
    sums = w.sum(axis=-1, keepdims=True)
    w = np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)  # empty rows stay zero
    return w.astype(draw(st.sampled_from([np.float32, np.float64])))


@given(weight_stacks())
def test_stats_match_the_row_by_row_formulas(w):
    stats = head_stats(w)
    tol = 1e-5 if w.dtype == np.float32 else 1e-12
    for h in range(w.shape[0]):
        ent, dist, first = reference_stats(w[h])
        assert stats.entropy[h] == pytest.approx(ent, abs=tol * 10)
        assert stats.diagonal_distance[h] == pytest.approx(dist, abs=tol * w.shape[-1])
        assert stats.first_token[h] == pytest.approx(first, abs=tol)


def test_known_heads():
    n = 6
    uniform = np.full((n, n), 1 / n)
    eye = np.eye(n)
    previous = np.eye(n, k=-1)
    previous[0, 0] = 1.0  # the first token has no predecessor: it looks at itself
    sink = np.zeros((n, n))
    sink[:, 0] = 1.0
    w = np.stack([uniform, eye, previous, sink])
    stats = head_stats(w)
    np.testing.assert_allclose(stats.entropy, [math.log(n), 0, 0, 0], atol=1e-12)
    # uniform: mean over i of (1/n) Σ_j |i - j|; previous token: 1 for every row but the first
    expect_uniform = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).mean()
    np.testing.assert_allclose(
        stats.diagonal_distance, [expect_uniform, 0, (n - 1) / n, (n - 1) / 2], atol=1e-12
    )
    np.testing.assert_allclose(stats.first_token, [1 / n, 1 / n, 2 / n, 1.0], atol=1e-12)
    np.testing.assert_allclose(previous_token_score(w), [1 / n, 0, 1, 1 / (n - 1)], atol=1e-12)


def test_rectangular_weights_measure_distance_from_the_top_left_diagonal():
    w = np.zeros((2, 5))
    w[0, 4] = 1.0  # |0 - 4|
    w[1, 0] = 1.0  # |1 - 0|
    assert mean_diagonal_distance(w) == pytest.approx(2.5)
    assert mean_row_entropy(w) == 0.0
    assert first_token_share(w) == pytest.approx(0.5)


def reference_induction(w, period, start):
    rows = range(start + period, w.shape[0])
    return sum(w[i, i - period + 1] for i in rows) / len(rows)


@given(st.integers(2, 8), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_induction_score_matches_its_definition(period, start, seed):
    n = start + 2 * period
    rng = np.random.default_rng(seed)
    w = np.tril(rng.random((n, n)))
    w /= w.sum(axis=1, keepdims=True)
    assert induction_score(w, period, start) == pytest.approx(reference_induction(w, period, start))


def test_induction_score_is_one_for_the_stripe_and_low_for_uniform_attention():
    period, start = 5, 1
    n = start + 2 * period
    stripe = np.tril(np.ones((n, n)))
    stripe /= stripe.sum(axis=1, keepdims=True)  # causal uniform
    uniform_score = induction_score(stripe, period, start)
    expected = np.mean([1 / (i + 1) for i in range(start + period, n)])
    assert uniform_score == pytest.approx(expected)
    for i in range(start + period, n):
        stripe[i] = 0.0
        stripe[i, i - period + 1] = 1.0
    assert induction_score(stripe, period, start) == pytest.approx(1.0)
    assert induction_score(np.stack([stripe, np.eye(n)]), period, start).tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("shape", "period", "start", "message"),
    [
        ((6, 6), 1, 0, "period"),
        ((6, 6), 3, -1, "start"),
        ((6, 6), 6, 0, "second copy"),
        ((4, 4), 2, 2, "second copy"),
    ],
)
def test_induction_score_refuses_what_it_cannot_measure(shape, period, start, message):
    with pytest.raises(ValueError, match=message):
        induction_score(np.zeros(shape), period, start)


def test_empty_or_flat_inputs_are_refused():
    with pytest.raises(ValueError, match="2 axes"):
        head_stats(np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        head_stats(np.zeros((2, 0, 3)))
    with pytest.raises(ValueError, match="two query"):
        previous_token_score(np.ones((1, 1)))
