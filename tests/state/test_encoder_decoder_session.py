"""An encoder–decoder in the session: source text and target, the stack selector, and the
cross-attention view's numbers against the model's own pass (tiny random Marian)."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz.models as M
from attnviz.models.encoder_decoder import forward_pair
from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session

SOURCE = "le chat est assis sur le tapis ."
TARGET = "the cat sat on the mat ."


@pytest.fixture
def session(tiny_marian) -> Session:
    s = Session()
    s.text = SOURCE
    s.model_path = str(tiny_marian)
    s.text_b = TARGET
    return s


@pytest.fixture(scope="module")
def pair(tiny_marian):
    return forward_pair(M.load(tiny_marian), SOURCE, TARGET)


def test_stacks_switch_tokens_layers_and_the_mask(session, pair):
    s = session
    assert s.tokens == pair.encoder.tokens and s.n_layers == 2 and not s.causal
    assert s.source.caps.second_text == "Target" and s.source.caps.cross
    s.stack = "decoder"
    assert s.tokens == pair.decoder.tokens and s.tokens[0] == "<pad>"
    assert s.n_layers == 3 and s.causal  # the decoder was trained causal
    with pytest.raises(ValueError, match="its decoder was trained to see only earlier"):
        s.causal = False
    assert s.causal
    s.layer = 2
    s.stack = "encoder"
    assert s.layer == 1 and not s.causal  # clipped to the encoder's two layers


@pytest.mark.parametrize("stack", ["encoder", "decoder"])
def test_each_stacks_weights_are_the_models(session, pair, stack):
    session.stack = stack
    want = getattr(pair, stack).attentions
    for layer in range(session.n_layers):
        session.layer, session.head = layer, layer % 4
        res = run(resolve(session))
        np.testing.assert_allclose(res.weights, want[layer], atol=1e-6)


def test_cross_view_is_the_models_cross_attention(session, pair):
    s = session
    for layer, head in ((0, 0), (1, 3)):
        s.layer, s.head = layer, head
        data = run(resolve(s)).views["cross_attention"]
        assert data.trained and (data.layer, data.head, data.layers) == (layer, head, 3)
        assert data.decoder_tokens == pair.decoder.tokens
        assert data.encoder_tokens == pair.encoder.tokens
        np.testing.assert_allclose(data.weights, pair.cross.attentions[layer, head], atol=1e-6)
    # Decoder layer 2 exists only in the decoder: chosen on the decoder stack, shown here too.
    s.stack = "decoder"
    s.layer = 2
    data = run(resolve(s)).views["cross_attention"]
    np.testing.assert_allclose(data.weights, pair.cross.attentions[2, s.head], atol=1e-6)
    # Temperature re-softmaxes the model's scaled scores (float64 reference).
    s.temperature = 0.5
    data = run(resolve(s)).views["cross_attention"]
    q, k = pair.cross.q[2, s.head].astype(np.float64), pair.cross.k[2, s.head].astype(np.float64)
    z = q @ k.T * pair.cross.scales[2] / 0.5
    ref = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(data.weights, ref / ref.sum(axis=1, keepdims=True), atol=1e-5)


def test_hidden_special_tokens_leave_both_sides(session, pair):
    s = session
    s.hide_special = True
    data = run(resolve(s)).views["cross_attention"]
    assert "</s>" not in data.encoder_tokens and "<pad>" not in data.decoder_tokens
    full = pair.cross.attentions[s.layer, s.head]
    rows = ~np.asarray(pair.decoder.special)
    cols = ~np.asarray(pair.encoder.special)
    kept = full[rows][:, cols]
    np.testing.assert_allclose(data.weights, kept / kept.sum(axis=1, keepdims=True), atol=1e-6)


def test_the_target_row_follows_the_panel_and_is_clipped(session):
    p = session.view_params["cross_attention"]
    p.target_token = 100
    data = run(resolve(session)).views["cross_attention"]
    assert data.selected == len(data.decoder_tokens) - 1
    with pytest.raises(ValueError, match="picked by its index"):
        p.target_token = -1


def test_an_empty_target_is_the_start_token(session):
    session.text_b = ""
    session.stack = "decoder"
    assert session.tokens == ("<pad>",)


def test_second_text_and_stack_refused_where_they_mean_nothing(tiny_gpt2, tiny_marian):
    s = Session()
    with pytest.raises(ValueError, match="reads one"):
        s.text_b = "a second sentence"
    with pytest.raises(ValueError, match="only an encoder–decoder"):
        s.stack = "decoder"
    assert s.text_b == "" and s.stack == "encoder"
    s.text = "the cat sat"
    s.model_path = str(tiny_gpt2)
    tokens = s.tokens
    with pytest.raises(ValueError, match="reads one text"):
        s.text_b = "the dog ran"
    assert s.tokens == tokens and s.text_b == ""
    with pytest.raises(ValueError, match="one stack"):
        s.stack = "decoder"


def test_leaving_the_encoder_decoder_clears_its_target(session, tiny_gpt2):
    session.stack = "decoder"
    session.model_path = str(tiny_gpt2)
    assert session.text_b == "" and session.stack == "encoder"
    session.model_path = None
    assert session.text_b == "" and session.source.caps.second_text == ""


def test_scene_file_keeps_the_target_and_stack(session, tmp_path):
    from attnviz.state.scene_file import apply_scene, load_scene, save_scene, scene_from_session

    session.stack = "decoder"
    session.layer = 2
    path = save_scene(session, tmp_path / "translation.attnviz")
    fresh = Session()
    apply_scene(fresh, load_scene(path))
    assert (fresh.text_b, fresh.stack, fresh.layer, fresh.causal) == (TARGET, "decoder", 2, True)
    assert scene_from_session(fresh) == scene_from_session(session)


# -- T5: the position bias in the app's own recomputation ---------------------------------------
@pytest.fixture(scope="module")
def t5_pair(tiny_t5):
    return forward_pair(M.load(tiny_t5), SOURCE, TARGET)


@pytest.mark.parametrize("stack", ["encoder", "decoder"])
def test_t5_weights_keep_the_position_bias(tiny_t5, t5_pair, stack):
    s = Session()
    s.text = SOURCE
    s.model_path = str(tiny_t5)
    s.text_b = TARGET
    s.stack = stack
    trace = getattr(t5_pair, stack)
    s.layer, s.head = 1, 3
    res = run(resolve(s))
    np.testing.assert_allclose(res.weights, trace.attentions[1], atol=1e-6)
    np.testing.assert_allclose(res.trace.weights, trace.attentions[1, 3], atol=1e-6)
    np.testing.assert_array_equal(res.logit_bias, trace.biases[1][3])
    # Temperature divides the whole logit, position bias included (float64 reference).
    s.temperature = 2.0
    res = run(resolve(s))
    q, k = trace.q[1, 3].astype(np.float64), trace.k[1, 3].astype(np.float64)
    z = (q @ k.T * trace.scales[1] + trace.biases[1][3]) / 2.0
    if stack == "decoder":
        z[np.triu_indices(len(z), 1)] = -np.inf
    ref = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(res.weights[3], ref / ref.sum(axis=1, keepdims=True), atol=1e-5)
    assert trace.scales[1] == 1.0  # T5 does not divide by √d_k
