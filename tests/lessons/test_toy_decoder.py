"""The toy decoder reads the lesson's sentence token by token; cached equals recomputed."""

import numpy as np
import pytest

from attnviz.core.kv_cache import kv_cache_bytes
from attnviz.lessons import SCENES
from attnviz.lessons.toy_decoder import (
    N_KV_HEADS,
    N_LAYERS,
    TOY_HEAD_DIM,
    build_toy_decoder,
    run_toy_decode,
)
from attnviz.lessons.toy_model import embed, tokenize

CAT = embed(tokenize(SCENES["cat"].text))


def test_cached_outputs_equal_recomputing_at_every_step():
    for steps in range(len(CAT) + 1):
        tr = run_toy_decode(CAT, steps)
        assert tr.cached.shape == tr.recomputed.shape == (steps, CAT.shape[1])
        assert tr.max_abs_diff <= 1e-6
        if steps:
            assert np.abs(tr.cached).max() > 0.1  # real numbers, not zeros compared to zeros


def test_the_cache_grows_one_token_per_step():
    before = run_toy_decode(CAT, 3)
    after = run_toy_decode(CAT, 4)
    assert before.keys.shape == (N_LAYERS, N_KV_HEADS, 3, TOY_HEAD_DIM)
    assert after.keys.shape == (N_LAYERS, N_KV_HEADS, 4, TOY_HEAD_DIM)
    # What was cached stays as it was: the new step only appends.
    np.testing.assert_array_equal(after.keys[:, :, :3], before.keys)
    np.testing.assert_array_equal(after.values[:, :, :3], before.values)
    assert after.cache_bytes == kv_cache_bytes(N_LAYERS, N_KV_HEADS, TOY_HEAD_DIM, 4, 8)


def test_same_seed_same_weights_and_bounds():
    a, b = build_toy_decoder(16, seed=1), build_toy_decoder(16, seed=1)
    np.testing.assert_array_equal(a[0].wq, b[0].wq)
    assert not np.array_equal(build_toy_decoder(16, seed=2)[0].wq, a[0].wq)
    with pytest.raises(ValueError, match=r"steps must lie in \[0, 10\]"):
        run_toy_decode(CAT, 11)
    with pytest.raises(ValueError, match="d_model"):
        build_toy_decoder(0)
