"""softmax, hardmax and entropy: the seeds' published numbers and float64 formulas."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attnviz.core.softmax import entropy, hardmax, softmax

SEED_LOGITS = [2.0, 1.0, 0.1, -0.5, 3.2, 0.8]


def test_seed_figure_at_t1():
    # The explainer's published softmax of these logits at T = 1, to 3 decimals.
    np.testing.assert_array_equal(
        np.round(softmax(SEED_LOGITS), 3), [0.192, 0.070, 0.029, 0.016, 0.636, 0.058]
    )


finite = st.floats(-50, 50, allow_nan=False, width=64)


@given(arrays(np.float64, st.integers(1, 20), elements=finite), st.floats(0.05, 20))
def test_matches_direct_formula(x, t):
    e = np.array([math.exp(xi / t - max(x) / t) for xi in x])
    np.testing.assert_allclose(softmax(x, temperature=t), e / e.sum(), rtol=1e-12, atol=1e-300)


@given(arrays(np.float64, st.integers(2, 10), elements=finite, unique=True))
def test_temperature_orders_entropy(x):
    h = [float(entropy(softmax(x, temperature=t))) for t in (0.2, 1.0, 5.0)]
    # Nearly equal logits give entropies equal to rounding: allow a few ulps of log(n).
    tol = 1e-12
    assert h[0] <= h[1] + tol and h[1] <= h[2] + tol
    assert h[2] <= math.log(len(x)) + 1e-12


def test_limits():
    x = np.array(SEED_LOGITS)
    np.testing.assert_allclose(softmax(x, temperature=1e-3), hardmax(x), atol=1e-12)
    np.testing.assert_allclose(softmax(x, temperature=1e6), np.full(6, 1 / 6), atol=1e-6)
    np.testing.assert_array_equal(hardmax([1.0, 3.0, 3.0]), [0.0, 0.5, 0.5])


def test_minus_inf_takes_no_part_and_empty_rows_are_zero():
    out = softmax(np.array([[0.0, -np.inf, 0.0], [-np.inf, -np.inf, -np.inf]]))
    np.testing.assert_array_equal(out, [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(hardmax(np.full(3, -np.inf)), np.zeros(3))


def test_axis_and_huge_logits():
    x = np.array([[1000.0, 1000.0], [0.0, -1000.0]])
    np.testing.assert_allclose(softmax(x, axis=0), [[1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(softmax(x), [[0.5, 0.5], [1.0, 0.0]])


def test_entropy_units():
    p = np.full(8, 1 / 8)
    assert entropy(p) == pytest.approx(math.log(8))
    assert entropy(p, base=2) == pytest.approx(3.0)
    assert entropy(np.array([1.0, 0.0])) == 0.0


@pytest.mark.parametrize("t", [0, 0.0, -1.0])
def test_temperature_zero_names_the_limit(t):
    with pytest.raises(ValueError, match=r"temperature must be > 0.*one-hot.*hardmax"):
        softmax([1.0, 2.0], temperature=t)


@pytest.mark.parametrize("t", [float("nan"), float("inf"), "warm"])
def test_temperature_must_be_a_finite_number(t):
    with pytest.raises(ValueError, match="temperature must be"):
        softmax([1.0, 2.0], temperature=t)
