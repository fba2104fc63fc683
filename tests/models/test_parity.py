"""Parity with transformers' eager attention on tiny random models of every family.

Stated tolerances: attention probabilities within 1e-5 (absolute); hidden states within 1e-5
relative to their largest entry; q, k, v within 1e-5 relative. Every parameter is random
(norm scales near 1, weights large enough that attention is far from uniform), and the configs
use non-default LayerNorm/RMSNorm eps and rope_theta, so a wrong eps, GELU, layout, position
or RoPE base shows up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import attnviz.models as M
from tests.models import builders as B

ATOL = 1e-5


def check_parity(folder: Path, text: str = B.SENTENCE, **ref_kw) -> tuple[M.Model, M.ModelTrace]:
    model = M.load(folder)
    trace = model.forward(text)
    _, out = B.reference(folder, trace.ids, **ref_kw)
    ref = torch.stack(out.attentions)[:, 0].numpy()  # (layers, heads, L, L)
    assert trace.attentions.dtype == np.float32
    assert trace.attentions.shape == ref.shape
    np.testing.assert_allclose(trace.attentions, ref, rtol=0, atol=ATOL)
    B.record_parity(f"{model.info.model_type} self-attention", trace.attentions, ref)
    # Attention is far from uniform, so the comparison means something: the last query (which
    # sees every key, causal or not) peaks, on average over heads, at over twice the uniform 1/L.
    assert trace.attentions[:, :, -1].max(axis=-1).mean() > 2 / len(trace)
    hs = torch.stack(out.hidden_states)[:, 0].numpy()  # (layers + 1, L, D)
    # transformers applies the final norm to the last entry of decoders; we stop before it.
    n = trace.layers + 1 if model.info.family == "bert" else trace.layers
    scale = float(np.abs(hs[:n]).max())
    np.testing.assert_allclose(trace.hidden_states[:n], hs[:n], rtol=0, atol=ATOL * scale)
    np.testing.assert_allclose(model.attentions(text), trace.attentions)
    return model, trace


# -- BERT ------------------------------------------------------------------------------------


def test_bert_wordlevel_tokenizer_json(tmp_path):
    B.write_wordlevel_tokenizer_json(tmp_path)
    B.bert(tmp_path)  # BertForMaskedLM: tensors under "bert.", plus an unused MLM head
    model, trace = check_parity(tmp_path)
    # Padding (to 48) and truncation (to 5) stored in tokenizer.json are switched off.
    assert trace.tokens[:4] == ("[CLS]", "the", "quick", "brown")
    assert trace.tokens[-1] == "[SEP]" and len(trace) == 19  # 17 words and marks
    assert trace.special[0] and trace.special[-1] and not any(trace.special[1:-1])
    assert model.info.family == "bert" and model.info.architecture == "BertForMaskedLM"
    assert (model.info.layers, model.info.heads, model.info.kv_heads) == (2, 4, 4)
    assert model.info.max_positions == 40 and model.info.dtype == "float32"


def test_bert_wordpiece_vocab_txt_matches_bert_tokenizer(tmp_path):
    B.write_vocab_txt(tmp_path)
    B.bert(tmp_path, seed=3, hidden_act="gelu", layer_norm_eps=1e-12)
    model, _ = check_parity(tmp_path, "The cats sat, running! [MASK] héllo world")
    ref = B.transformers.AutoTokenizer.from_pretrained(tmp_path)
    for text in ("The cats sat, running! [MASK] héllo", "unknown Words; the DOGS", ""):
        enc = ref(text)
        assert model.tokenize(text) == ref.convert_ids_to_tokens(enc["input_ids"])
        assert model.encode(text).ids.tolist() == enc["input_ids"]
    assert model.tokenize("a [MASK] b") == ["[CLS]", "a", "[MASK]", "[UNK]", "[SEP]"]


def test_minilm_unprefixed_sentence_transformers_layout(tmp_path):
    B.write_wordpiece_tokenizer_json(tmp_path)
    B.bert(tmp_path, prefixed=False, seed=4, num_attention_heads=8, layer_norm_eps=1e-12)
    (tmp_path / "modules.json").write_text("[]")
    (tmp_path / "1_Pooling").mkdir()
    model, trace = check_parity(tmp_path, "the cats sat on the mat")
    assert trace.tokens == ("[CLS]", "the", "cats", "sat", "on", "the", "mat", "[SEP]")
    assert model.info.architecture == "BertModel" and model.info.heads == 8


def test_bert_gamma_beta_names_and_token_type_row_0(tmp_path):
    """TF-era LayerNorm names; and the segment embedding used is row 0 (row 1 differs)."""
    from safetensors.numpy import load_file, save_file

    B.write_wordlevel_tokenizer_json(tmp_path)
    B.bert(tmp_path, prefixed=False, seed=5)
    before = M.load(tmp_path).attentions(B.SENTENCE)
    path = tmp_path / "model.safetensors"
    t = load_file(path)
    renamed = {
        k.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
            "LayerNorm.bias", "LayerNorm.beta"
        ): v
        for k, v in t.items()
    }
    save_file(renamed, path)
    np.testing.assert_array_equal(M.load(tmp_path).attentions(B.SENTENCE), before)
    # Swapping the two segment rows changes the result: row 0 is the one read.
    tt = "embeddings.token_type_embeddings.weight"
    renamed[tt] = renamed[tt][::-1].copy()
    save_file(renamed, path)
    assert np.abs(M.load(tmp_path).attentions(B.SENTENCE) - before).max() > 1e-3


def test_roberta_positions_count_from_the_padding_index(tmp_path):
    """RoBERTa: positions start at pad_token_id + 1 (here 2); a token whose id is the padding
    id (1, "[UNK]" in this vocabulary: the unknown word "zzyzx") sits at position 1 and does not
    advance the count, as transformers' create_position_ids_from_input_ids has it."""
    B.write_wordlevel_tokenizer_json(tmp_path)
    B.roberta(tmp_path)
    model, trace = check_parity(tmp_path, text="the cat zzyzx sat on the mat")
    assert 1 in trace.ids  # the padding id occurs, so the rule above is exercised
    assert model.info.model_type == "roberta" and "from 2" in model.info.positions
    assert model.info.max_positions == 40  # 42 rows, the first two never used by text


def test_distilbert_names_and_no_token_types(tmp_path):
    B.write_wordlevel_tokenizer_json(tmp_path)
    B.distilbert(tmp_path)
    model, _ = check_parity(tmp_path)
    assert model.info.model_type == "distilbert" and not model.info.causal


def test_bert_is_decoder_is_causal(tmp_path):
    B.write_wordlevel_tokenizer_json(tmp_path)
    B.bert(tmp_path, seed=6, is_decoder=True)
    model, trace = check_parity(tmp_path)
    assert model.info.causal
    assert np.all(np.triu(trace.attentions, k=1) == 0)


# -- GPT-2 -----------------------------------------------------------------------------------


def test_gpt2_bpe_vocab_merges(tmp_path):
    n = B.write_gpt2_bpe(tmp_path)
    B.gpt2(tmp_path, n)  # GPT2LMHeadModel: tensors under "transformer."
    model, trace = check_parity(tmp_path)
    assert model.info.causal and model.info.family == "gpt2"
    assert np.all(np.triu(trace.attentions, k=1) == 0)  # the causal mask
    np.testing.assert_allclose(trace.attentions[:, :, 0, 0], 1.0)
    ref = B.transformers.AutoTokenizer.from_pretrained(tmp_path)
    for text in (B.SENTENCE, "Hello <|endoftext|> héllo  world!\n", " leading space"):
        assert model.encode(text).ids.tolist() == ref(text)["input_ids"]
        assert model.tokenize(text) == ref.convert_ids_to_tokens(ref(text)["input_ids"])
    enc = model.encode("the lazy dog")
    assert "".join(enc.labels) == "the lazy dog"  # byte-level "Ġ" shown as a space
    assert any(t.startswith("Ġ") for t in enc.tokens)


def test_gpt2_unprefixed_with_layer_scaled_attention(tmp_path):
    n = B.write_gpt2_bpe(tmp_path)
    B.gpt2(tmp_path, n, prefixed=False, seed=7, scale_attn_by_inverse_layer_idx=True,
           n_inner=24, activation_function="gelu_new")  # fmt: skip
    _, trace = check_parity(tmp_path)
    assert trace.scales[1] == pytest.approx(trace.scales[0] / 2)


# -- Llama, Mistral, Qwen2 -------------------------------------------------------------------


def _hf_qkv(hf, ids, layer: int):
    """transformers' q, k (after RoPE) and v of one layer, from hooks on the projections."""
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    attn = hf.layers[layer].self_attn
    got = {}
    hooks = [
        getattr(attn, f"{m}_proj").register_forward_hook(
            lambda _mod, _inp, out, m=m: got.__setitem__(m, out)
        )
        for m in "qkv"
    ]
    with torch.no_grad():
        hf(torch.as_tensor(ids[None]))
        for h in hooks:
            h.remove()
        e = attn.head_dim
        q, k, v = (got[m][0].view(len(ids), -1, e).transpose(0, 1)[None] for m in "qkv")
        if hasattr(attn, "q_norm"):  # Qwen3: per-head RMSNorm over E, before RoPE
            q, k = attn.q_norm(q), attn.k_norm(k)
        pos = torch.arange(len(ids))[None]
        cos, sin = hf.rotary_emb(q, pos)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
    return q[0].numpy(), k[0].numpy(), v[0].numpy()


@pytest.mark.parametrize(
    ("partial", "parallel"),
    [(0.25, True), (0.5, False), (1.0, True)],
    ids=["pythia", "seq", "full"],
)
def test_gpt_neox_partial_rotary_and_residuals(tmp_path, partial, parallel):
    """GPT-NeoX / Pythia: the per-head fused query_key_value, RoPE on the first quarter (or
    half, or all) of each head, parallel and sequential residuals."""
    n = B.write_gpt2_bpe(tmp_path)
    B.gpt_neox(tmp_path, n, rotary_pct=partial, rotary_emb_base=700.0,
               use_parallel_residual=parallel)  # fmt: skip
    model, _ = check_parity(tmp_path)
    assert model.info.model_type == "gpt_neox"
    rotated = int(8 * partial)  # head dim 8
    assert (f"first {rotated} features" in model.info.positions) == (rotated < 8)


def test_llama_gqa_rope_theta(tmp_path):
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n)  # 4 query heads share 2 KV heads; rope_theta 500; rms eps 1e-2
    model, trace = check_parity(tmp_path)
    assert trace.tokens[0] == "<s>" and trace.special[0]
    assert (model.info.heads, model.info.kv_heads) == (4, 2)
    assert "θ = 500" in model.info.positions
    assert trace.q.shape == (2, 4, len(trace), 8)
    assert trace.k.shape == trace.v.shape == (2, 2, len(trace), 8)
    assert [trace.kv_head(h) for h in range(4)] == [0, 0, 1, 1]
    hf, _ = B.reference(tmp_path, trace.ids)
    for layer in range(2):
        q, k, v = _hf_qkv(hf, trace.ids, layer)
        for ours, theirs in ((trace.q, q), (trace.k, k), (trace.v, v)):
            scale = float(np.abs(theirs).max())
            np.testing.assert_allclose(ours[layer], theirs, rtol=0, atol=ATOL * scale)


def test_llama_legacy_config_mqa_and_biases(tmp_path):
    """transformers 4's config.json (top-level rope_theta), one KV head, attention biases."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, num_key_value_heads=1, attention_bias=True, mlp_bias=True, seed=8,
            rope_theta=321.0)  # fmt: skip
    B.edit_config(tmp_path, rope_parameters=..., rope_theta=321.0, rope_scaling=None)
    model, _ = check_parity(tmp_path)
    assert model.info.kv_heads == 1 and "θ = 321" in model.info.positions


ROPE_SCALINGS = [
    {"rope_type": "linear", "factor": 2.0},
    {"type": "dynamic", "factor": 3.0},
    # head dim 8, θ 800: wavelengths 6.3, 33, 177, 944 tokens. Llama 3 with an original context
    # of 64 keeps the first pair, blends the second and slows the last two: every branch.
    {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 8.0,
     "original_max_position_embeddings": 64},
    # YaRN: the ramp between beta_fast and beta_slow falls inside the 4 pairs; attention factor
    # 0.1 ln 4 + 1 on cos and sin (every score × 1.29).
    {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16,
     "beta_fast": 8.0, "beta_slow": 1.0},
    {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16,
     "mscale": 1.0, "mscale_all_dim": 0.5, "truncate": False},
    # LongRoPE (Phi-3.5 style): the text is longer than the original 8 tokens, so the long
    # factors apply; attention factor √(1 + ln 8 / ln 8).
    {"rope_type": "longrope", "original_max_position_embeddings": 8,
     "short_factor": [1.0, 1.2, 1.5, 2.0], "long_factor": [1.0, 2.0, 4.0, 8.0]},
]  # fmt: skip


@pytest.mark.parametrize("rope", ROPE_SCALINGS)
def test_llama_rope_scaling(tmp_path, rope):
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, seed=9)
    B.edit_config(tmp_path, rope_parameters=..., rope_theta=800.0, rope_scaling=rope)
    check_parity(tmp_path)


def test_longrope_short_text_uses_the_short_factors(tmp_path):
    """LongRoPE switches factors on the sequence length: at most the original context (8
    tokens here), the short factors; both sides compared with transformers."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, seed=9)
    rope = {"rope_type": "longrope", "original_max_position_embeddings": 8,
            "short_factor": [1.0, 1.5, 3.0, 6.0], "long_factor": [1.0, 1.0, 1.0, 1.0]}  # fmt: skip
    B.edit_config(tmp_path, rope_parameters=..., rope_theta=800.0, rope_scaling=rope)
    model, trace = check_parity(tmp_path, text="the cat sat")
    assert len(trace) <= 8 and "LongRoPE" in model.info.positions


def test_mistral_sliding_window(tmp_path):
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="mistral", sliding_window=4, seed=10)
    _, trace = check_parity(tmp_path)
    # Query i sees keys i-3 .. i only.
    assert np.all(np.tril(trace.attentions, k=-4) == 0)
    assert trace.windows == ((3, 0), (3, 0))


def test_qwen2_biases_and_sliding_layers(tmp_path):
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="qwen2", use_sliding_window=True, sliding_window=4,
            max_window_layers=1, seed=11)  # fmt: skip
    _, trace = check_parity(tmp_path)
    assert trace.windows == (None, (3, 0))


# -- storage: dtypes and shards --------------------------------------------------------------


def test_phi3_fused_projections_partial_rotary_and_window(tmp_path):
    """Phi-3: fused qkv_proj and gate_up_proj; partial rotary (6 of 8 features per head, as
    Phi-4-mini rotates 3/4); every layer windowed to 5 keys."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="phi3", seed=13, rope_theta=600.0, sliding_window=5,
            partial_rotary_factor=0.75, pad_token_id=0)  # fmt: skip
    model, trace = check_parity(tmp_path)
    assert model.info.model_type == "phi3" and "first 6 features" in model.info.positions
    assert trace.windows[0] == (4, 0)


def test_phi35_longrope(tmp_path):
    """Phi-3.5's long-context config: LongRoPE with top-level original_max_position_embeddings."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="phi3", seed=14, rope_theta=600.0, pad_token_id=0,
            max_position_embeddings=64, original_max_position_embeddings=8)  # fmt: skip
    rope = {"rope_type": "longrope", "short_factor": [1.0, 1.1, 1.3, 1.6],
            "long_factor": [1.0, 2.0, 3.0, 5.0]}  # fmt: skip
    B.edit_config(tmp_path, rope_parameters=..., rope_theta=600.0, rope_scaling=rope)
    check_parity(tmp_path)


def test_gemma_scaled_embeddings_geglu_and_one_plus_w_norms(tmp_path):
    """Gemma: embeddings × √32, RMSNorm × (1 + w), tanh-GELU gate, head_dim 16 ≠ 32/4,
    multi-query (one KV head, as Gemma 2B)."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="gemma", seed=15, head_dim=16, num_key_value_heads=1,
            rope_theta=900.0, hidden_activation="gelu_pytorch_tanh", pad_token_id=0)  # fmt: skip
    model, _ = check_parity(tmp_path)
    assert model.info.model_type == "gemma" and model.info.kv_heads == 1


@pytest.mark.parametrize("clip", [None, 1.5])
def test_olmo_weightless_layer_norm_and_clipped_qkv(tmp_path, clip):
    """OLMo: LayerNorm without weights (eps 1e-5), q/k/v clipped to ±clip_qkv when set."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="olmo", seed=16, rope_theta=650.0, clip_qkv=clip,
            pad_token_id=0)  # fmt: skip
    model, trace = check_parity(tmp_path)
    assert model.info.model_type == "olmo"
    if clip is not None:  # the clip bites: without it the same weights attend differently
        B.edit_config(tmp_path, clip_qkv=None)
        unclipped = M.load(tmp_path).forward(B.SENTENCE).attentions
        assert np.abs(unclipped - trace.attentions).max() > 1e-3


def test_olmo2_norms_after_attention_and_mlp(tmp_path):
    """OLMo 2: RMSNorm after attention and after the MLP, q/k RMSNorm over all heads."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="olmo2", seed=17, rope_theta=650.0, pad_token_id=0)
    model, _ = check_parity(tmp_path)
    assert model.info.model_type == "olmo2" and model.info.kv_heads == 2


def test_gemma2_soft_capping_alternating_windows_and_four_norms(tmp_path):
    """Gemma 2: logits capped at 2 (q·k of these random weights reach far beyond, so the cap
    bites), scale query_pre_attn_scalar^-½ = 1/6, a sliding window of 4 on layer 1 and global
    attention on layer 2, norms before and after attention and MLP."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="gemma2", seed=18, head_dim=16, num_key_value_heads=2,
            rope_theta=900.0, query_pre_attn_scalar=36, attn_logit_softcapping=2.0,
            sliding_window=4, hidden_activation="gelu_pytorch_tanh", pad_token_id=0,
            final_logit_softcapping=None)  # fmt: skip
    model, trace = check_parity(tmp_path)
    assert trace.windows == ((3, 0), None) and trace.softcaps == (2.0, 2.0)
    assert "soft-capped at 2" in model.family.arch.norm
    assert trace.scales == (pytest.approx(1 / 6), pytest.approx(1 / 6))
    B.edit_config(tmp_path, attn_logit_softcapping=None)  # the cap bites: uncapped differs
    assert np.abs(M.load(tmp_path).forward(B.SENTENCE).attentions - trace.attentions).max() > 1e-3


def test_gemma3_qk_norms_and_local_and_global_rope_bases(tmp_path):
    """Gemma 3 (text): (1 + w) q/k norms per head; local layers turned with base 500 and a
    window of 4, the global one (every 3rd here) with base 8,000 and linear scaling ×2."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="gemma3", seed=19, num_hidden_layers=3, head_dim=16,
            num_key_value_heads=2, query_pre_attn_scalar=16, sliding_window=4,
            layer_types=["sliding_attention", "sliding_attention", "full_attention"],
            rope_parameters={"full_attention": {"rope_type": "linear", "factor": 2.0,
                                                "rope_theta": 8000.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 500.0}},
            hidden_activation="gelu_pytorch_tanh", pad_token_id=0)  # fmt: skip
    model, trace = check_parity(tmp_path)
    assert model.info.model_type == "gemma3_text"
    assert trace.windows == ((3, 0), (3, 0), None) and trace.softcaps == (None,) * 3


def test_mixtral_experts_one_by_one_and_fused(tmp_path):
    """Mixtral: each token through its top 2 of 4 experts. The Hub's layout (experts one by
    one, which transformers saves) matches transformers; the same weights fused as transformers
    5 holds them in memory (experts.gate_up_proj (E, 2I, D), down_proj (E, D, I)) give the
    same numbers."""
    from safetensors.numpy import load_file, save_file

    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="mixtral", seed=20, num_local_experts=4, num_experts_per_tok=2,
            rope_theta=750.0, sliding_window=6, pad_token_id=0)  # fmt: skip
    model, hub = check_parity(tmp_path)
    assert model.info.model_type == "mixtral" and hub.windows[0] == (5, 0)
    (path,) = tmp_path.glob("*.safetensors")
    w = load_file(path)
    assert any(".block_sparse_moe.experts.3.w2.weight" in name for name in w)
    fused: dict[str, np.ndarray] = {}
    for layer in range(model.info.layers):
        p = next(n for n in w if n.endswith(f"layers.{layer}.block_sparse_moe.gate.weight"))
        p = p[: -len("block_sparse_moe.gate.weight")]
        ex = [f"{p}block_sparse_moe.experts.{e}." for e in range(4)]
        fused[f"{p}mlp.gate.weight"] = w.pop(f"{p}block_sparse_moe.gate.weight")
        fused[f"{p}mlp.experts.gate_up_proj"] = np.stack(
            [np.concatenate([w.pop(f"{x}w1.weight"), w.pop(f"{x}w3.weight")]) for x in ex]
        )
        fused[f"{p}mlp.experts.down_proj"] = np.stack([w.pop(f"{x}w2.weight") for x in ex])
    save_file({**w, **fused}, path, metadata={"format": "pt"})
    again = M.load(tmp_path).forward(B.SENTENCE)
    np.testing.assert_allclose(again.attentions, hub.attentions, rtol=0, atol=1e-6)
    np.testing.assert_allclose(again.hidden_states, hub.hidden_states, rtol=0, atol=1e-5)


def test_qwen3_qk_norm_head_dim_and_groups_of_three(tmp_path):
    """Qwen3: RMSNorm on each head's q and k before RoPE; head_dim 12 ≠ hidden/heads (32/6);
    6 query heads in groups of 3 over 2 KV heads; q/k/v biases on; two sliding layers of 4."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="qwen3", seed=12, num_attention_heads=6, num_key_value_heads=2,
            head_dim=12, attention_bias=True, rope_theta=700.0, use_sliding_window=True,
            sliding_window=4, max_window_layers=0)  # fmt: skip
    model, trace = check_parity(tmp_path)
    assert (model.info.model_type, model.info.heads, model.info.head_dim) == ("qwen3", 6, 12)
    assert [trace.kv_head(h) for h in range(6)] == [0, 0, 0, 1, 1, 1]
    hf, _ = B.reference(tmp_path, trace.ids)
    q, k, _ = _hf_qkv(hf, trace.ids, 1)
    np.testing.assert_allclose(trace.q[1], q, rtol=0, atol=ATOL * float(np.abs(q).max()))
    np.testing.assert_allclose(trace.k[1], k, rtol=0, atol=ATOL * float(np.abs(k).max()))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_weights(tmp_path, dtype):
    """bf16 (which NumPy lacks) and fp16 weights widen exactly to float32, as torch does."""
    n = B.write_llama_tokenizer_json(tmp_path)
    model = B.llama(tmp_path, n, seed=12)
    B.save(model.to(dtype), tmp_path)
    m, _ = check_parity(tmp_path, dtype=torch.float32)
    assert m.info.dtype == {torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype]


def test_sharded_checkpoint(tmp_path):
    B.write_wordlevel_tokenizer_json(tmp_path)
    model = B.bert(tmp_path / "tmp", seed=13)
    B.save(model, tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    assert len(list(tmp_path.glob("model-*.safetensors"))) > 1
    assert not (tmp_path / "model.safetensors").exists()
    check_parity(tmp_path)


# -- the trace feeds the Q/K/V panel ---------------------------------------------------------


def test_steps_recompute_each_head_through_the_core(tmp_path):
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n, kind="mistral", sliding_window=5, seed=14)
    trace = M.load(tmp_path).forward(B.SENTENCE)
    for layer, head in ((0, 0), (1, 3)):
        st = trace.steps(layer, head)
        np.testing.assert_allclose(st.weights, trace.attentions[layer, head], atol=1e-6)
        assert st.scale == pytest.approx(trace.scales[layer])
        assert not st.visible[0, 1] and not st.visible[6, 0]  # causal, and the window of 5
    with pytest.raises(IndexError):
        trace.steps(2, 0)


def test_load_accepts_a_file_inside_the_folder(tmp_path):
    B.write_wordlevel_tokenizer_json(tmp_path)
    B.bert(tmp_path, seed=15)
    m = M.load(tmp_path / "config.json")
    assert m.info.path == tmp_path and m.info.name == tmp_path.name
    assert "2 layers × 4 heads" in m.info.summary()


# -- sentence pairs ----------------------------------------------------------------------------
def test_bert_sentence_pair_segments_match_transformers(tmp_path):
    B.write_vocab_txt(tmp_path)
    B.bert(tmp_path, seed=21)
    model = M.load(tmp_path)
    assert model.reads_pairs
    a, b = "The cat sat on the mat.", "It was tired, the dog ran!"
    trace = model.forward(a, pair=b)
    ref_tok = B.transformers.AutoTokenizer.from_pretrained(tmp_path)
    enc = ref_tok(a, b)
    assert trace.ids.tolist() == enc["input_ids"]
    assert list(trace.segments) == enc["token_type_ids"] and 1 in trace.segments
    hf = B.transformers.AutoModel.from_pretrained(tmp_path, attn_implementation="eager").eval()
    with torch.no_grad():
        out = hf(
            torch.as_tensor([enc["input_ids"]]),
            token_type_ids=torch.as_tensor([enc["token_type_ids"]]),
            output_attentions=True,
        )
    ref = torch.stack(out.attentions)[:, 0].numpy()
    np.testing.assert_allclose(trace.attentions, ref, rtol=0, atol=ATOL)
    B.record_parity("bert sentence pair", trace.attentions, ref)
    # Segment 1 is what makes the numbers: read as one sentence, they differ.
    alone = model.forward(a + " [SEP] " + b)
    assert alone.ids.tolist() == trace.ids.tolist()
    assert np.abs(alone.attentions - trace.attentions).max() > 1e-3


@pytest.mark.parametrize("build", ["roberta", "distilbert", "gpt2"])
def test_models_without_two_token_types_refuse_a_pair(tmp_path, build):
    if build == "gpt2":
        B.gpt2(tmp_path, B.write_gpt2_bpe(tmp_path))
    else:
        B.write_wordlevel_tokenizer_json(tmp_path)
        getattr(B, build)(tmp_path)
    model = M.load(tmp_path)
    assert not model.reads_pairs
    with pytest.raises(M.ModelError, match="no token types"):
        model.encode("the cat", "the dog")


def test_gemma3_image_and_text_checkpoint_runs_its_language_model(tmp_path):
    """Gemma3ForConditionalGeneration: text_config and tensors under language_model.model.;
    text alone attends exactly as transformers' whole model does on the same ids."""
    n = B.write_llama_tokenizer_json(tmp_path)
    text = dict(vocab_size=n, hidden_size=32, intermediate_size=48, num_hidden_layers=3,
                num_attention_heads=4, num_key_value_heads=2, head_dim=16, sliding_window=4,
                max_position_embeddings=64, rope_theta=900.0, rope_local_base_freq=50.0,
                rms_norm_eps=1e-2, pad_token_id=0, bos_token_id=1, eos_token_id=2)  # fmt: skip
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                  num_attention_heads=2, image_size=28, patch_size=14)  # fmt: skip
    cfg = B.transformers.Gemma3Config(text_config=text, vision_config=vision,
                                      mm_tokens_per_image=4, image_token_index=n + 5)  # fmt: skip
    hf = B.randomize(B.transformers.Gemma3ForConditionalGeneration(cfg), seed=23)
    B.save(hf, tmp_path)
    model = M.load(tmp_path)
    assert model.info.model_type == "gemma3_text"
    assert model.info.architecture == "Gemma3ForConditionalGeneration"
    trace = model.forward(B.SENTENCE)
    hf = B.transformers.Gemma3ForConditionalGeneration.from_pretrained(
        tmp_path, attn_implementation="eager"
    ).eval()
    with torch.no_grad():
        out = hf(torch.as_tensor(trace.ids[None]), output_attentions=True)
    ref = torch.stack(out.attentions)[:, 0].numpy()
    np.testing.assert_allclose(trace.attentions, ref, rtol=0, atol=ATOL)
    B.record_parity("gemma3 (image-and-text checkpoint) self-attention", trace.attentions, ref)
    assert trace.attentions[:, :, -1].max(axis=-1).mean() > 2 / len(trace)
