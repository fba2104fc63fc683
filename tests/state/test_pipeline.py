"""resolve() and run(): the numbers every panel draws, against direct formulas."""

import math

import numpy as np
import pytest

from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session
from tests.reference import reference_attention


def test_run_matches_the_direct_formula_per_head():
    s = Session()
    s.temperature = 0.7
    r = run(resolve(s))
    x = r.request.x
    for h in range(s.n_heads):
        q, k, v = x @ r.request.wq[h], x @ r.request.wk[h], x @ r.request.wv[h]
        ref_out, ref_w = reference_attention(q[None], k[None], v[None], temperature=0.7)
        np.testing.assert_allclose(r.weights[h], ref_w[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(r.output[h], ref_out[0], rtol=1e-4, atol=1e-5)
    assert np.allclose(r.weights.sum(-1), 1, atol=1e-5)


def test_it_attends_most_to_cat_on_the_pronoun_head():
    s = Session()
    r = run(resolve(s))
    row = r.weights[s.head, s.tokens.index("it")]
    assert s.tokens[int(row.argmax())] == "cat"
    assert row.max() > 2 * np.sort(row)[-2]


def test_edits_reach_the_projections():
    s = Session()
    base = run(resolve(s))
    s.add_edit("X", 0, 1, 0, 3.0)  # token "cat", feature "noun"
    r = run(resolve(s))
    assert r.request.x[1, 0] == 3.0
    assert not np.allclose(r.q[:, 1], base.q[:, 1]) or not np.allclose(r.k[:, 1], base.k[:, 1])
    assert not np.allclose(r.weights, base.weights)


def test_causal_views_and_temperature_panel():
    s = Session()
    s.causal = True
    s.temperature = 2.0
    r = run(resolve(s))
    n = len(s.tokens)
    assert np.all(np.triu(r.weights[:, :, :], 1) == 0)
    assert np.all(np.triu(r.weights_causal, 1) == 0)
    assert np.all(np.isneginf(r.masked_scores_causal[np.triu_indices(n, 1)]))
    assert not np.all(np.triu(r.weights_unmasked, 1) == 0)
    logits = np.array(s.logits)
    e = np.exp(logits / 2.0 - (logits / 2.0).max())
    np.testing.assert_allclose(r.logit_probs, e / e.sum())
    assert r.logit_entropy > r.logit_entropy_t1  # hotter is flatter
    assert r.logit_entropy == pytest.approx(-(r.logit_probs * np.log(r.logit_probs)).sum())
    assert r.logit_argmax[int(np.argmax(logits))] == 1.0


def test_trace_is_the_selected_head():
    s = Session()
    s.head = 1
    r = run(resolve(s))
    np.testing.assert_allclose(r.trace.weights, r.weights[1], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(r.trace.scaled_scores, r.trace.scores / math.sqrt(8), rtol=1e-6)


def test_qkv4_scene_uses_the_explainers_matrix():
    s = Session()
    s.scene = "qkv4"
    r = run(resolve(s))
    np.testing.assert_array_equal(r.request.x[0], [1.0, 0.5, 0.3])
    assert r.weights.shape == (1, 4, 4)
