"""A real model in the session and the pipeline: tiny random BERT and GPT-2 built by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import attnviz.models as M
from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session

TEXT = "the cat sat on the mat"


@pytest.fixture(scope="session")
def pickled(tmp_path_factory, tiny_bert) -> Path:
    folder = tmp_path_factory.mktemp("pickled")
    (folder / "config.json").write_text((tiny_bert / "config.json").read_text())
    (folder / "tokenizer.json").write_text((tiny_bert / "tokenizer.json").read_text())
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04")
    return folder


def model_session(folder: Path, text: str = TEXT) -> Session:
    s = Session()
    s.text = text
    s.model_path = str(folder)
    return s


def test_model_tokens_layers_heads(tiny_bert):
    s = model_session(tiny_bert)
    assert s.tokens == ("[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]")
    assert s.tokens == tuple(M.load(tiny_bert).tokenize(TEXT))
    assert (s.n_layers, s.n_heads) == (2, 4)
    s.layer, s.head = 1, 3
    for field, bad in (("layer", 2), ("head", 4)):
        with pytest.raises(ValueError, match="must lie in"):
            setattr(s, field, bad)
    assert (s.layer, s.head) == (1, 3)


def test_weights_are_the_models_at_t1(tiny_bert):
    s = model_session(tiny_bert)
    want = M.load(tiny_bert).attentions(TEXT)
    for layer in range(2):
        s.layer = layer
        res = run(resolve(s))
        np.testing.assert_allclose(res.weights, want[layer], atol=1e-6)
        assert res.q.shape == (4, 8, 8) and res.layer_weights.shape == (2, 4, 8, 8)
        np.testing.assert_allclose(res.layer_weights, want, atol=1e-6)
        np.testing.assert_allclose(res.trace.weights, want[layer, s.head], atol=1e-6)


def test_temperature_resoftmaxes_the_models_scaled_scores(tiny_bert):
    s = model_session(tiny_bert)
    s.layer, s.head, s.temperature = 1, 2, 0.5
    res = run(resolve(s))
    tr = M.load(tiny_bert).forward(TEXT)
    scores = tr.q[1, 2] @ tr.k[1, 2].T * tr.scales[1] / 0.5
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    np.testing.assert_allclose(res.weights[2], e / e.sum(axis=1, keepdims=True), atol=1e-5)


def test_decoder_forces_causal(tiny_gpt2):
    s = model_session(tiny_gpt2)
    assert s.causal
    with pytest.raises(ValueError, match="decoder"):
        s.causal = False
    assert s.causal
    res = run(resolve(s))
    assert np.allclose(np.triu(res.weights, 1), 0)
    np.testing.assert_allclose(res.weights, M.load(tiny_gpt2).attentions(TEXT)[0], atol=1e-6)
    s.model_path = None  # back to the toy: the mask may be switched off again
    s.causal = False


def test_hide_special_tokens(tiny_bert):
    s = model_session(tiny_bert)
    s.hide_special = True
    assert s.tokens == ("the", "cat", "sat", "on", "the", "mat")
    res = run(resolve(s))
    assert res.request.tokens == s.tokens
    assert res.request.hidden_tokens == ("[CLS]", "[SEP]")
    assert res.weights.shape == (4, 6, 6)
    np.testing.assert_allclose(res.weights.sum(-1), 1, atol=1e-5)
    np.testing.assert_allclose(res.layer_weights.sum(-1), 1, atol=1e-5)
    full = M.load(tiny_bert).attentions(TEXT)[0][:, 1:-1, 1:-1]
    np.testing.assert_allclose(res.weights, full / full.sum(-1, keepdims=True), atol=1e-6)


def test_too_long_text_and_pickles_are_refused(tiny_bert, pickled):
    s = model_session(tiny_bert)
    with pytest.raises(ValueError, match="reads at most 40"):
        s.text = " ".join(["cat"] * 60)
    assert s.text == TEXT
    toy = Session()
    before = (toy.tokens, toy.scene, toy.n_heads)
    with pytest.raises(ValueError, match="pickle") as info:
        toy.model_path = str(pickled)
    assert "never loads pickle" in str(info.value)
    assert (toy.model_path, toy.tokens, toy.scene, toy.n_heads) == (None, *before)


def test_edits_refused_for_models_and_toy_restored(tiny_bert):
    s = model_session(tiny_bert)
    with pytest.raises(ValueError, match="toy model"):
        s.add_edit("X", 0, 0, 0, 1.0)
    s.model_path = None
    assert s.n_layers == 1 and "[CLS]" not in s.tokens
    run(resolve(s))
