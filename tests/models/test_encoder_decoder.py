"""BART and Marian against transformers' eager attention: encoder self-attention, decoder
causal self-attention and the decoder's cross-attention, each within 1e-5, and greedy decoding
equal to ``generate(do_sample=False)``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import attnviz.models as M
from attnviz.models.encoder_decoder import (
    decoder_encoding,
    forward_pair,
    greedy_ids,
    is_encoder_decoder,
    translate,
)
from tests.models import builders as B

ATOL = 1e-5
SOURCE = "Le chat est assis sur le tapis."
TARGET = "the cat sat on the mat."


def _stack(ts) -> np.ndarray:
    return torch.stack(ts)[:, 0].numpy()


def check(folder, source=SOURCE, target=TARGET) -> tuple[M.Model, object]:
    model = M.load(folder)
    assert is_encoder_decoder(model)
    pair = forward_pair(model, source, target)
    _, out = B.reference_seq2seq(folder, pair.encoder.ids, pair.decoder.ids)
    ours_all = (pair.encoder.attentions, pair.decoder.attentions, pair.cross.attentions)
    refs = (out.encoder_attentions, out.decoder_attentions, out.cross_attentions)
    for kind, ours, ref in zip(("encoder", "decoder", "cross"), ours_all, refs, strict=True):
        ref = _stack(ref)
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=0, atol=ATOL)
        B.record_parity(f"{model.info.model_type} {kind}", ours, ref)
    # Far from uniform: the comparison means something.
    assert pair.cross.attentions.max(axis=-1).mean() > 2 / pair.cross.attentions.shape[-1]
    # transformers' last hidden state is after T5's final norm: the encoder's is what the
    # decoder cross-attends to (encoder_output), the decoder's is compared where there is none.
    fam = model.family
    enc, dec = pair.encoder.hidden_states, pair.decoder.hidden_states
    enc = np.concatenate([enc[:-1], fam.encoder_output(model.weights.shared(), enc[-1])[None]])
    if fam.name == "t5":
        dec = dec[:-1]
    for ours, ref in ((enc, out.encoder_hidden_states), (dec, out.decoder_hidden_states)):
        ref = _stack(ref)[: len(ours)]
        np.testing.assert_allclose(ours, ref, rtol=0, atol=ATOL * float(np.abs(ref).max()))
    # The decoder's self-attention is causal, its cross-attention sees every source token.
    above = np.triu_indices(len(pair.decoder), 1)
    assert not pair.decoder.attentions[..., above[0], above[1]].any()
    assert (pair.cross.attentions > 0).all()
    return model, pair


def test_bart_three_attentions(tmp_path):
    B.bart(tmp_path)
    model, pair = check(tmp_path)
    assert pair.encoder.tokens[0] == "<s>" and pair.encoder.tokens[-1] == "</s>"
    assert pair.decoder.tokens[:3] == ("</s>", "the", "cat")  # decoder_start, then the target
    assert model.info.family == "bart" and model.info.positions.startswith("learned")
    assert pair.cross.attentions.shape == (2, 4, len(pair.decoder), len(pair.encoder))


def test_marian_sinusoidal_positions_unequal_stacks(tmp_path):
    B.marian(tmp_path)
    _, pair = check(tmp_path)
    assert pair.decoder.tokens[0] == "<pad>" and pair.encoder.tokens[-1] == "</s>"
    assert pair.cross.attentions.shape[0] == 3 and pair.encoder.attentions.shape[0] == 2


def test_marian_own_decoder_vocabulary_and_untied_output(tmp_path):
    B.marian(tmp_path, share_encoder_decoder_embeddings=False, tie_word_embeddings=False, seed=8)
    cfg = B.transformers.AutoConfig.from_pretrained(tmp_path)
    assert cfg.share_encoder_decoder_embeddings is False
    model, _ = check(tmp_path)
    ids = greedy_ids(model, SOURCE, 8)
    assert ids.tolist() == _generate(tmp_path, model, SOURCE, 8)


def test_bart_without_embedding_scale_and_empty_target(tmp_path):
    B.bart(tmp_path, scale_embedding=False, seed=9)
    _, pair = check(tmp_path, target="")
    assert len(pair.decoder) == 1  # the start token alone


def _generate(folder, model, source: str, n: int) -> list[int]:
    hf = B.transformers.AutoModelForSeq2SeqLM.from_pretrained(folder, attn_implementation="eager")
    ids = torch.as_tensor(model.encode(source).ids[None])
    fam = model.family
    out = hf.generate(
        ids, do_sample=False, num_beams=1, max_new_tokens=n, min_length=0,
        bad_words_ids=[[fam.pad]], forced_bos_token_id=None, forced_eos_token_id=None,
        no_repeat_ngram_size=0, repetition_penalty=1.0, length_penalty=1.0,
        decoder_start_token_id=fam.decoder_start, eos_token_id=fam.eos, pad_token_id=fam.pad,
        use_cache=False,  # transformers sizes T5's cache by the encoder's layers
    )  # fmt: skip
    return out[0].tolist()


@pytest.mark.parametrize("build", [B.bart, B.marian])
def test_greedy_decoding_equals_generate(tmp_path, build):
    build(tmp_path)
    model = M.load(tmp_path)
    for source in (SOURCE, "the quick brown fox"):
        ids = greedy_ids(model, source, 12)
        assert ids.tolist() == _generate(tmp_path, model, source, 12)
        text = translate(model, source, 12)
        assert isinstance(text, str)
        assert decoder_encoding(model, text).ids[0] == model.family.decoder_start


def test_decoder_only_models_have_no_target(tmp_path):
    B.write_wordlevel_tokenizer_json(tmp_path)
    B.bert(tmp_path)
    model = M.load(tmp_path)
    assert not is_encoder_decoder(model)
    with pytest.raises(M.ModelError, match="not an encoder–decoder"):
        forward_pair(model, "the cat", "le chat")


def test_unequal_head_counts_are_refused(tmp_path):
    B.bart(tmp_path)
    B.edit_config(tmp_path, decoder_attention_heads=2)
    with pytest.raises(M.ModelError, match="encoder and decoder differ in heads"):
        M.inspect(tmp_path)


def test_mbart_is_refused_with_its_family_named(tmp_path):
    B.bart(tmp_path)
    B.edit_config(tmp_path, model_type="mbart", architectures=["MBartForConditionalGeneration"])
    with pytest.raises(M.ModelError, match=r"'mbart'.*MBartForConditionalGeneration"):
        M.inspect(tmp_path)


# -- T5: relative position buckets -------------------------------------------------------------
def test_relative_position_buckets_match_transformers():
    from transformers.models.t5.modeling_t5 import T5Attention

    from attnviz.models.t5 import relative_position_buckets

    for bidirectional in (True, False):
        for buckets, dist in ((32, 128), (8, 12), (6, 5)):
            ours = relative_position_buckets(40, 40, bidirectional, buckets, dist)
            rel = torch.arange(40)[None, :] - torch.arange(40)[:, None]
            ref = T5Attention._relative_position_bucket(rel, bidirectional, buckets, dist)
            np.testing.assert_array_equal(ours, ref.numpy())


LONG_SOURCE = "le chat est assis sur le tapis , le chat est assis sur le tapis , le chat ."
LONG_TARGET = "the cat sat on the mat , the cat sat on the mat , the dog ran fast ."


@pytest.mark.parametrize("proj", ["relu", "gated-gelu"])
def test_t5_relative_bias_and_gated_mlp(tmp_path, proj):
    B.t5(tmp_path, feed_forward_proj=proj)
    model, pair = check(tmp_path, LONG_SOURCE, LONG_TARGET)
    assert len(pair.encoder) > 12 and len(pair.decoder) > 12  # past max_distance: log buckets
    assert model.info.head_dim == 12 and model.info.positions.startswith("relative")
    assert pair.encoder.biases[0].shape == (4, len(pair.encoder), len(pair.encoder))
    # The bias is what makes the numbers: the same pass without it differs.
    steps = pair.encoder.steps(1, 2)
    np.testing.assert_allclose(steps.weights, pair.encoder.attentions[1, 2], atol=1e-6)


def test_t5_greedy_decoding_equals_generate(tmp_path):
    B.t5(tmp_path, feed_forward_proj="gated-gelu", seed=11)
    model = M.load(tmp_path)
    ids = greedy_ids(model, SOURCE, 10)
    assert ids.tolist() == _generate(tmp_path, model, SOURCE, 10)


# -- weights: one block at a time, like every family -------------------------------------------
@pytest.mark.parametrize("build", [B.bart, B.t5])
def test_decoder_blocks_load_like_any_layer(tmp_path, build):
    """Encoder–decoders bind their weights block by block (encoder layers, then decoder
    layers): load reads nothing, a zero budget gives exactly the kept path's numbers."""
    build(tmp_path)
    kept, each_pass = M.load(tmp_path), M.load(tmp_path, cache_bytes=0)
    assert kept.weights.kept == 0  # nothing converted before the first pass
    first = forward_pair(kept, SOURCE, TARGET)
    fam = kept.family
    assert kept.weights.kept == fam.arch.layers + fam.decoder_layers == fam.blocks
    for _ in range(2):
        again = forward_pair(each_pass, SOURCE, TARGET)
        for a, b in ((again.encoder.attentions, first.encoder.attentions),
                     (again.decoder.attentions, first.decoder.attentions),
                     (again.cross.attentions, first.cross.attentions)):  # fmt: skip
            np.testing.assert_array_equal(a, b)
    assert each_pass.weights.kept == 0
    assert greedy_ids(each_pass, SOURCE, 5).tolist() == greedy_ids(kept, SOURCE, 5).tolist()
