"""The toy encoder–decoder and the induction toy: built by hand, checked by computation."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.core.head_stats import induction_score, previous_token_score
from attnviz.lessons.cross_toy import build_cross
from attnviz.lessons.induction import MAX_PERIOD, MIN_PERIOD, build_induction_toy
from attnviz.state.views.attention_patterns import induction_forward, induction_lesson
from attnviz.state.views.cross_attention import CrossParams
from attnviz.state.views.cross_attention import compute as cross_view
from tests.reference import reference_attention


def cross(encoder, decoder, temperature=1.0):
    params = CrossParams(encoder_text=encoder, decoder_text=decoder, selected=0)
    toy = SimpleNamespace(caps=SimpleNamespace(cross=False))  # the toy: no model cross-attention
    request = SimpleNamespace(temperature=temperature, source=toy)
    return cross_view(SimpleNamespace(request=request), params)


# -- cross-attention ---------------------------------------------------------------------------
def test_each_english_word_reads_its_french_word():
    d = cross("Le chat dort", "The cat sleeps")
    assert d.weights.shape == (3, 3)
    best = {d.decoder_tokens[i]: d.encoder_tokens[int(np.argmax(row))] for i, row in
            enumerate(d.weights)}  # fmt: skip
    assert best == {"The": "Le", "cat": "chat", "sleeps": "dort"}
    assert d.weights[1, 1] > 0.9  # cat -> chat, strongly


def test_weights_are_scaled_dot_product_attention_of_the_toy():
    toy = build_cross("Le petit chat noir dort", "The cat sleeps")  # L = 3 queries, S = 5 keys
    q, k, v = toy.x_dec @ toy.wq, toy.x_enc @ toy.wk, toy.x_enc @ toy.wv
    for t in (1.0, 2.5):
        out, w = reference_attention(q[None], k[None], v[None], temperature=t)
        d = cross("Le petit chat noir dort", "The cat sleeps", temperature=t)
        assert d.weights.shape == (3, 5)
        np.testing.assert_allclose(d.weights, w[0], atol=2e-6)
        np.testing.assert_allclose(d.output, out[0], atol=2e-5)
    np.testing.assert_allclose(d.weights.sum(axis=1), 1.0, atol=1e-6)


def test_reordered_and_repeated_words_still_align():
    d = cross("Le chat noir mange le poisson", "The black cat eats the fish")
    arg = [d.encoder_tokens[int(j)] + str(int(j)) for j in d.weights.argmax(axis=1)]
    # "the" twice: each finds the "le" at its own place
    assert arg == ["Le0", "noir2", "chat1", "mange3", "le4", "poisson5"]


def test_unknown_words_work_and_a_shared_name_finds_itself():
    d = cross("Hier Paris dormait", "Yesterday Paris slept")
    assert np.all(np.isfinite(d.weights))
    np.testing.assert_allclose(d.weights.sum(axis=1), 1.0, atol=1e-6)
    assert d.encoder_tokens[int(np.argmax(d.weights[1]))] == "Paris"


@pytest.mark.parametrize(("field", "value"), [("encoder_text", "  "), ("decoder_text", "")])
def test_an_empty_sentence_is_refused_and_nothing_changes(field, value):
    p = CrossParams()
    before = (p.encoder_text, p.decoder_text, p.selected)
    with pytest.raises(ValueError, match="empty: type at least one word"):
        setattr(p, field, value)
    assert (p.encoder_text, p.decoder_text, p.selected) == before


def test_selected_word_is_validated_and_follows_a_shorter_sentence():
    p = CrossParams()
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        p.selected = 3
    p.selected = 2
    p.decoder_text = "Hello"
    assert p.selected == 0
    with pytest.raises(ValueError, match="at most 32"):
        p.encoder_text = "mot " * 40


# -- induction ---------------------------------------------------------------------------------
def reference_forward(toy):
    """Both layers in float64 with the independent reference attention (causal)."""
    h, weights = toy.x, []
    for layer in toy.layers:
        q, k, v = (np.einsum("nd,hde->hne", h, m) for m in (layer.wq, layer.wk, layer.wv))
        out, w = reference_attention(q, k, v, causal=True)
        h = h + np.einsum("hne,hed->nd", out, layer.wo)
        weights.append(w)
    return weights


def test_the_two_layers_match_a_float64_reference():
    toy = build_induction_toy(6, seed=3)
    (w1, w2), _ = induction_forward(toy)
    ref1, ref2 = reference_forward(toy)
    np.testing.assert_allclose(w1, ref1, atol=1e-5)
    np.testing.assert_allclose(w2, ref2, atol=1e-5)


@settings(max_examples=20)
@given(st.integers(MIN_PERIOD, MAX_PERIOD), st.integers(0, 10_000))
def test_the_built_heads_score_high_and_the_random_ones_low(period, seed):
    d = induction_lesson(period, seed)
    prev_head, random1, induction_head, random2 = range(4)
    assert d.previous_scores[prev_head] > 0.95
    assert d.induction_scores[induction_head] > 0.95
    assert d.induction_scores[prev_head] < 0.01  # it looks one back, not period - 1 back
    assert max(d.induction_scores[random1], d.induction_scores[random2]) < 0.5
    assert d.correct == d.checked  # the induction head predicts every next token it can


def test_the_stripe_sits_period_minus_one_below_the_diagonal():
    d = induction_lesson(8)
    w2 = d.weights[1][0]
    second = np.arange(d.start + d.period, len(d.tokens))
    np.testing.assert_array_equal(w2[second].argmax(axis=1), second - d.period + 1)
    for i in second:  # the attended token is the one after the query's earlier occurrence
        assert d.tokens[i - d.period] == d.tokens[i]
    assert max(d.induction_scores[[1, 3]]) < 0.2  # random heads at the default length


def test_without_layer_one_writing_the_induction_head_fails():
    """K-composition: the layer-2 keys read what layer 1 wrote; take that away and it is gone."""
    toy = build_induction_toy(8, seed=0)
    l1 = toy.layers[0]
    mute = replace(toy, layers=(replace(l1, wo=np.zeros_like(l1.wo)), toy.layers[1]))
    (_, w2), _ = induction_forward(mute)
    (_, w2_ok), _ = induction_forward(toy)
    assert induction_score(w2_ok[0], 8, start=1) > 0.95
    assert induction_score(w2[0], 8, start=1) < 0.2
    assert previous_token_score(induction_forward(toy)[0][0][0]) > 0.95


def test_sequences_are_reproducible_and_periods_checked():
    a, b = build_induction_toy(8, seed=5), build_induction_toy(8, seed=5)
    assert a.tokens == b.tokens and a.tokens[0] == "<s>"
    assert a.tokens[1:9] == a.tokens[9:] and len(set(a.tokens[1:9])) == 8
    for bad in (2, MAX_PERIOD + 1, 4.0, True):
        with pytest.raises(ValueError, match="period"):
            build_induction_toy(bad)
