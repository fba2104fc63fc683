"""BERT sentence pairs in the session: sentence B, segment ids, the model's numbers, and the
message where a model has no token types (tiny random BERT, RoBERTa, GPT-2)."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz.models as M
from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session

A, B_TEXT = "the cat sat on the mat", "it was tired"


@pytest.fixture
def pair_session(tiny_bert) -> Session:
    s = Session()
    s.text = A
    s.model_path = str(tiny_bert)
    s.text_b = B_TEXT
    return s


def test_a_pair_is_read_as_two_segments(pair_session, tiny_bert):
    s = pair_session
    assert s.source.caps.second_text == "Sentence B" and not s.source.caps.cross
    want = M.load(tiny_bert).forward(A, pair=B_TEXT)
    assert s.tokens == want.tokens
    assert s.tokens.count("[SEP]") == 2
    assert s.source.segments == want.segments
    sep = s.tokens.index("[SEP]")
    assert set(s.source.segments[: sep + 1]) == {0} and set(s.source.segments[sep + 1 :]) == {1}
    for layer in range(2):
        s.layer = layer
        res = run(resolve(s))
        np.testing.assert_allclose(res.weights, want.attentions[layer], atol=1e-6)
    assert res.request.segments == want.segments


def test_hidden_special_tokens_keep_the_segments_of_the_words(pair_session):
    s = pair_session
    s.hide_special = True
    assert "[SEP]" not in s.tokens
    assert s.source.segments == (0,) * 6 + (1,) * 3


def test_an_empty_sentence_b_is_one_sentence(pair_session, tiny_bert):
    s = pair_session
    s.text_b = ""
    assert s.source.segments == () and s.tokens.count("[SEP]") == 1
    np.testing.assert_allclose(
        run(resolve(s)).weights, M.load(tiny_bert).attentions(A)[0], atol=1e-6
    )


def test_a_pair_for_a_model_without_token_types_is_refused(tiny_gpt2):
    s = Session()
    s.text = A
    s.model_path = str(tiny_gpt2)
    before = (s.tokens, s.text_b)
    with pytest.raises(ValueError, match="reads one text"):
        s.text_b = B_TEXT
    assert (s.tokens, s.text_b) == before
    assert s.source.caps.second_text == ""


def test_sentence_b_does_not_follow_to_an_encoder_decoder(pair_session, tiny_marian):
    pair_session.model_path = str(tiny_marian)
    assert pair_session.text_b == "" and pair_session.source.caps.second_text == "Target"
