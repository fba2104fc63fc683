"""Generation against transformers' ``generate`` on tiny random decoders of every family.

Stated tolerances: greedy tokens equal; next-token logits at every step within 1e-4 of
transformers' (absolute, relative to the logits' largest magnitude when that exceeds 1); the
cached step equal to recomputing the whole sequence within 1e-5 (same scale). The configs make
each difference bite: windows shorter than prompt + generation (so the cache's offset mask
matters), soft-capped final logits, partial rotary, GQA groups of 3, tied and untied heads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

import attnviz.models as M
from attnviz.models.errors import ModelError
from attnviz.models.generation import (
    MAX_NEW_TOKENS,
    Generation,
    Sampling,
    choose,
)
from tests.models import builders as B

PROMPT = "the quick brown fox jumps over"
NEW = 12


def _reference(folder: Path, ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """transformers' greedy generate: (new token ids, (steps, V) logits)."""
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        out = model.generate(
            torch.as_tensor(ids[None]), do_sample=False, max_new_tokens=n, min_new_tokens=n,
            output_logits=True, return_dict_in_generate=True, pad_token_id=0,
        )  # fmt: skip
    new = out.sequences[0, len(ids) :].numpy()
    logits = torch.stack(out.logits)[:, 0].numpy()
    return new, logits


def _close(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    scale = max(1.0, float(np.abs(b).max()))
    np.testing.assert_allclose(a, b, rtol=0, atol=atol * scale)


def check_generation(folder: Path, n: int = NEW) -> Generation:
    model = M.load(folder)
    gen = Generation(model, PROMPT, stop_at_eos=False)
    gen.run(n)
    new, ref_logits = _reference(folder, gen.prompt.ids, n)
    assert gen.generated == [int(i) for i in new]
    ours = np.stack([s.logits for s in gen.steps])
    _close(ours, ref_logits, 1e-4)
    # The cache changes nothing: the same steps recomputing the whole sequence each time.
    again = Generation(model, PROMPT, cached=False, stop_at_eos=False)
    again.run(n)
    assert again.generated == gen.generated
    _close(np.stack([s.logits for s in again.steps]), ours, 1e-5)
    # The live cache equals the keys and values of a whole forward pass over what was read.
    last = gen.steps[-1]
    cache, trace = gen.cache_at(last.index), gen.trace_at(last.index)
    for layer in range(model.info.layers):
        _close(cache.keys[layer], trace.k[layer], 1e-5)
        _close(cache.values[layer], trace.v[layer], 1e-5)
    assert len(trace) == last.read == len(gen.prompt) + n - 1
    return gen


FAMILIES = {
    "gpt2": dict(builder="gpt2"),
    "gpt2-unprefixed": dict(builder="gpt2", prefixed=False),  # GPT2Model: no LM head stored
    "gpt_neox": dict(builder="gpt_neox", rotary_pct=0.5, use_parallel_residual=True),
    "llama": dict(kind="llama"),
    "llama-untied-mqa-bias": dict(kind="llama", num_key_value_heads=1, attention_bias=True),
    "mistral-window": dict(kind="mistral", sliding_window=5, rope_theta=800.0),
    "qwen2": dict(kind="qwen2", rope_theta=700.0, tie_word_embeddings=True),
    "qwen3-groups-of-3": dict(kind="qwen3", num_attention_heads=6, num_key_value_heads=2,
                              head_dim=12, rope_theta=700.0),
    "phi3-partial-window": dict(kind="phi3", rope_theta=600.0, sliding_window=5,
                                partial_rotary_factor=0.75, pad_token_id=0),
    "gemma": dict(kind="gemma", head_dim=16, num_key_value_heads=1, rope_theta=900.0,
                  hidden_activation="gelu_pytorch_tanh", pad_token_id=0),
    "gemma2-caps": dict(kind="gemma2", head_dim=16, rope_theta=900.0, query_pre_attn_scalar=36,
                        attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
                        sliding_window=4, hidden_activation="gelu_pytorch_tanh",
                        pad_token_id=0),
    "gemma3": dict(kind="gemma3", num_hidden_layers=3, head_dim=16, query_pre_attn_scalar=16,
                   sliding_window=4,
                   layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                   hidden_activation="gelu_pytorch_tanh", pad_token_id=0),
    "olmo-clip": dict(kind="olmo", rope_theta=650.0, clip_qkv=1.5, pad_token_id=0),
    "olmo2": dict(kind="olmo2", rope_theta=650.0, pad_token_id=0),
    "mixtral": dict(kind="mixtral", num_local_experts=4, num_experts_per_tok=2,
                    rope_theta=750.0, sliding_window=6, pad_token_id=0),
}  # fmt: skip


def build(folder: Path, name: str) -> None:
    cfg = dict(FAMILIES[name])
    builder = cfg.pop("builder", "llama")
    if builder == "llama":
        n = B.write_llama_tokenizer_json(folder)
        B.llama(folder, n, seed=30, **cfg)
    else:
        n = B.write_gpt2_bpe(folder)
        getattr(B, builder)(folder, n, seed=31, **cfg)


@pytest.mark.parametrize("name", [n for n in FAMILIES if n != "gpt2-unprefixed"])
def test_greedy_generation_matches_transformers(tmp_path, name):
    build(tmp_path, name)
    check_generation(tmp_path)


def test_sliding_window_is_shorter_than_what_is_read(tmp_path):
    """The window test means something: prompt + generation outgrows the window of 5, so the
    cached step's mask (counted from the cache's end) hides keys."""
    build(tmp_path, "mistral-window")
    gen = check_generation(tmp_path)
    trace = gen.trace_at(len(gen.steps))
    assert len(trace) > 5 and trace.windows[0] == (4, 0)
    assert np.all(trace.attentions[:, :, -1, : len(trace) - 5] == 0)


def test_a_model_saved_without_its_head_says_why(tmp_path):
    """GPT2Model (no LM head, but GPT-2 ties it to wte) generates; a Llama saved as LlamaModel
    (untied: lm_head.weight is not in the files) is refused with the reason."""
    build(tmp_path / "gpt2", "gpt2-unprefixed")
    gen = Generation(M.load(tmp_path / "gpt2"), PROMPT, stop_at_eos=False)
    assert len(gen.run(3)) == 3
    n = B.write_llama_tokenizer_json(tmp_path / "bare")
    model = B.llama(tmp_path / "bare", n, seed=2)
    bare = tmp_path / "bare"
    model.model.save_pretrained(bare, safe_serialization=True)  # the base model only
    loaded = M.load(bare)
    assert "lm_head.weight" in (loaded.spec.generation_problem or "")
    with pytest.raises(ModelError, match=r"cannot generate.*tie_word_embeddings is false"):
        Generation(loaded, PROMPT)
    assert loaded.forward(PROMPT).layers == 2  # attention still works


def test_encoders_cannot_generate(tmp_path):
    B.write_vocab_txt(tmp_path)
    B.bert(tmp_path)
    with pytest.raises(ModelError, match="does not predict the next token"):
        Generation(M.load(tmp_path), "the cat")


def test_stops_at_end_of_sequence_and_at_the_cap(tmp_path):
    build(tmp_path, "llama")
    model = M.load(tmp_path)
    probe = Generation(model, PROMPT, stop_at_eos=False)
    probe.run(4)
    eos = probe.generated[1]  # make the second token the end of the text
    # generation_config.json (which save_pretrained writes) comes before config.json
    (tmp_path / "generation_config.json").write_text(f'{{"eos_token_id": [{eos}, 99999]}}')
    B.edit_config(tmp_path, eos_token_id=2)
    gen = Generation(M.load(tmp_path), PROMPT)
    assert len(gen.run(10)) == 2 and gen.finished
    (tmp_path / "generation_config.json").unlink()
    B.edit_config(tmp_path, eos_token_id=eos)
    assert len(Generation(M.load(tmp_path), PROMPT).run(10)) == 2
    with pytest.raises(ModelError, match="has ended"):
        gen.step()
    with pytest.raises(ValueError, match="1 to 256"):
        gen.run(MAX_NEW_TOKENS + 1)
    # The model's positions bound a generation: 64 positions here.
    long = Generation(model, " ".join(["the cat"] * 25), stop_at_eos=False)
    left = long.room
    assert left == 64 - len(long.prompt)
    assert len(long.run(MAX_NEW_TOKENS)) == left and long.finished


def test_sampling_is_reproducible_from_the_seed(tmp_path):
    build(tmp_path, "gpt2")
    model = M.load(tmp_path)
    s = Sampling(greedy=False, temperature=1.5, top_k=20, top_p=0.9, seed=7)
    a = Generation(model, PROMPT, s, stop_at_eos=False)
    b = Generation(model, PROMPT, s, stop_at_eos=False)
    a.run(10)
    b.run(10)
    assert a.generated == b.generated
    others = set()
    for seed in range(1, 6):
        g = Generation(model, PROMPT, Sampling(greedy=False, temperature=1.5, seed=seed),
                       stop_at_eos=False)  # fmt: skip
        g.run(10)
        others.add(tuple(g.generated))
    assert len(others) > 1  # the seed matters
    for step in a.steps:  # every drawn token survived the cut
        c = step.candidates
        assert step.token in c.ids[c.kept > 0] or c.chosen_raw < c.raw.min()


@settings(max_examples=60, deadline=None)
@given(
    logits=st.lists(st.floats(-20, 20, allow_nan=False), min_size=2, max_size=40),
    temperature=st.floats(0.05, 5.0),
    top_k=st.integers(0, 45),
    top_p=st.floats(0.01, 1.0),
)
def test_choose_follows_the_direct_formulas(logits, temperature, top_k, top_p):
    """Temperature, then top-k, then top-p (transformers' order), in float64 by hand."""
    z = np.asarray(logits)
    token, raw, tempered, kept = choose(
        z, Sampling(greedy=False, temperature=temperature, top_k=top_k, top_p=top_p, seed=1)
    )
    e = np.exp(z - z.max())
    np.testing.assert_allclose(raw, e / e.sum(), atol=1e-12)
    t = np.exp((z - z.max()) / temperature)
    t /= t.sum()
    np.testing.assert_allclose(tempered, t, atol=1e-12)
    order = np.argsort(-t, kind="stable")
    if top_k:
        order = order[:top_k]
    keep = []
    mass = 0.0
    for i in order:  # the smallest prefix whose mass reaches top_p
        keep.append(i)
        mass += t[i]
        if mass >= top_p:
            break
    want = np.zeros_like(t)
    want[keep] = t[keep] / t[keep].sum()
    np.testing.assert_allclose(kept, want, atol=1e-9)
    assert kept[token] > 0
    assert choose(z, Sampling())[0] == int(np.argmax(z))


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(temperature=0), "temperature must be a number > 0"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(top_k=-1), "top-k"),
        (dict(top_p=0), "top-p"),
        (dict(top_p=1.5), "top-p"),
        (dict(seed=-3), "seed"),
    ],
)
def test_sampling_settings_are_checked(kw, match):
    with pytest.raises(ValueError, match=match):
        Sampling(greedy=False, **kw)


def test_nan_logits_are_refused():
    with pytest.raises(ModelError, match="NaN"):
        choose(np.full(5, np.nan), Sampling())


def test_cache_bytes_and_layouts(tmp_path):
    """(Hkv, tokens, E) per layer for K and V; bytes in the model's dtype; MHA and MQA costs
    for the same model, by the direct formula 2 · layers · heads · tokens · E · bytes."""
    build(tmp_path, "llama")  # 2 layers, 4 query heads, 2 KV heads, E 8, float32
    gen = Generation(M.load(tmp_path), PROMPT, stop_at_eos=False)
    gen.run(3)
    c = gen.cache_at(3)
    assert c.keys[0].shape == (2, gen.steps[2].read, 8)
    assert c.bytes() == 2 * 2 * 2 * c.tokens * 8 * 4
    layouts = c.layouts()
    assert layouts["MHA"] == 2 * 2 * 4 * c.tokens * 8 * 4
    assert layouts["MQA"] == 2 * 2 * 1 * c.tokens * 8 * 4
    assert [k for k in layouts if k.startswith("GQA")] == ["GQA (2 KV heads, this model)"]
    assert gen.cache_at(1).tokens == len(gen.prompt)  # earlier steps: a prefix of the cache
