"""Keeping what was trained: a Hugging Face–layout folder (config.json, model.safetensors,
tokenizer.json) that attnviz's own loader opens as a real model.

Learned positions are saved as a GPT-2 (``GPT2LMHeadModel`` names, Conv1D (in, out) weights);
RoPE as a GPT-NeoX (rotary on every feature, sequential residual, q/k/v fused per head). An
attention-only model gets MLP weights of zero (and LayerNorm scales of one), so the block adds
exactly nothing there. The tokenizer is word-level over the task's vocabulary ("<s>", "|",
letters), split on spaces, with "<s>" prepended.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, processors

from attnviz.train.model import TinyTransformer
from attnviz.train.tasks import BOS, Task

__all__ = ["save_folder"]


def _tokenizer(task: Task) -> Tokenizer:
    vocab = {tok: i for i, tok in enumerate(task.vocab)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=BOS))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", special_tokens=[(BOS, 0)]
    )
    return tok


def _gpt2(m: TinyTransformer) -> tuple[dict, dict[str, np.ndarray]]:
    c, p = m.config, m.params
    d = c.d_model
    t: dict[str, np.ndarray] = {"transformer.wte.weight": p["wte"],
                                "transformer.wpe.weight": p["wpe"]}  # fmt: skip
    for i in range(c.layers):
        h = f"transformer.h.{i}."
        t[h + "ln_1.weight"], t[h + "ln_1.bias"] = p[f"h{i}.ln1.g"], p[f"h{i}.ln1.b"]
        t[h + "attn.c_attn.weight"], t[h + "attn.c_attn.bias"] = p[f"h{i}.qkv.w"], p[f"h{i}.qkv.b"]
        t[h + "attn.c_proj.weight"], t[h + "attn.c_proj.bias"] = p[f"h{i}.o.w"], p[f"h{i}.o.b"]
        if c.mlp:
            t[h + "ln_2.weight"], t[h + "ln_2.bias"] = p[f"h{i}.ln2.g"], p[f"h{i}.ln2.b"]
            t[h + "mlp.c_fc.weight"], t[h + "mlp.c_fc.bias"] = p[f"h{i}.fc1.w"], p[f"h{i}.fc1.b"]
            t[h + "mlp.c_proj.weight"] = p[f"h{i}.fc2.w"]
            t[h + "mlp.c_proj.bias"] = p[f"h{i}.fc2.b"]
        else:  # attention only: an MLP that adds zero
            t[h + "ln_2.weight"], t[h + "ln_2.bias"] = np.ones(d), np.zeros(d)
            t[h + "mlp.c_fc.weight"], t[h + "mlp.c_fc.bias"] = (
                np.zeros((d, c.inner)),
                np.zeros(c.inner),
            )
            t[h + "mlp.c_proj.weight"], t[h + "mlp.c_proj.bias"] = (
                np.zeros((c.inner, d)),
                np.zeros(d),
            )
    t["transformer.ln_f.weight"], t["transformer.ln_f.bias"] = p["lnf.g"], p["lnf.b"]
    t["lm_head.weight"] = p["unembed"].T
    config = {
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": c.vocab,
        "n_embd": d, "n_layer": c.layers, "n_head": c.heads, "n_positions": c.max_len,
        "n_inner": c.inner, "activation_function": "gelu_new", "layer_norm_epsilon": c.eps,
        "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0,
    }  # fmt: skip
    return config, t


def _neox(m: TinyTransformer) -> tuple[dict, dict[str, np.ndarray]]:
    c, p = m.config, m.params
    d, e, heads = c.d_model, c.head_dim, c.heads
    # ours: [q | k | v], each head by head; GPT-NeoX: head by head, each [q | k | v]
    order = np.concatenate([np.arange(j * d + h * e, j * d + (h + 1) * e)
                            for h in range(heads) for j in range(3)])  # fmt: skip
    t: dict[str, np.ndarray] = {"gpt_neox.embed_in.weight": p["wte"]}
    for i in range(c.layers):
        h = f"gpt_neox.layers.{i}."
        t[h + "input_layernorm.weight"] = p[f"h{i}.ln1.g"]
        t[h + "input_layernorm.bias"] = p[f"h{i}.ln1.b"]
        t[h + "attention.query_key_value.weight"] = p[f"h{i}.qkv.w"][:, order].T
        t[h + "attention.query_key_value.bias"] = p[f"h{i}.qkv.b"][order]
        t[h + "attention.dense.weight"] = p[f"h{i}.o.w"].T
        t[h + "attention.dense.bias"] = p[f"h{i}.o.b"]
        if c.mlp:
            t[h + "post_attention_layernorm.weight"] = p[f"h{i}.ln2.g"]
            t[h + "post_attention_layernorm.bias"] = p[f"h{i}.ln2.b"]
            t[h + "mlp.dense_h_to_4h.weight"] = p[f"h{i}.fc1.w"].T
            t[h + "mlp.dense_h_to_4h.bias"] = p[f"h{i}.fc1.b"]
            t[h + "mlp.dense_4h_to_h.weight"] = p[f"h{i}.fc2.w"].T
            t[h + "mlp.dense_4h_to_h.bias"] = p[f"h{i}.fc2.b"]
        else:
            t[h + "post_attention_layernorm.weight"] = np.ones(d)
            t[h + "post_attention_layernorm.bias"] = np.zeros(d)
            t[h + "mlp.dense_h_to_4h.weight"] = np.zeros((c.inner, d))
            t[h + "mlp.dense_h_to_4h.bias"] = np.zeros(c.inner)
            t[h + "mlp.dense_4h_to_h.weight"] = np.zeros((d, c.inner))
            t[h + "mlp.dense_4h_to_h.bias"] = np.zeros(d)
    t["gpt_neox.final_layer_norm.weight"] = p["lnf.g"]
    t["gpt_neox.final_layer_norm.bias"] = p["lnf.b"]
    t["embed_out.weight"] = p["unembed"].T
    config = {
        "model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"], "vocab_size": c.vocab,
        "hidden_size": d, "num_hidden_layers": c.layers, "num_attention_heads": heads,
        "intermediate_size": c.inner, "max_position_embeddings": c.max_len,
        "rotary_pct": 1.0, "rotary_emb_base": c.rope_base, "hidden_act": "gelu_new",
        "layer_norm_eps": c.eps, "use_parallel_residual": False, "attention_bias": True,
        "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 0,
    }  # fmt: skip
    return config, t


def save_folder(model: TinyTransformer, task: Task, folder: str | os.PathLike[str],
                name: str = "") -> Path:  # fmt: skip
    """Write ``model`` (trained on ``task``) as a folder attnviz opens; returns the folder.

    OSError when the folder cannot be written (nothing half-written is left as a model: the
    weights are written last)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    if model.config.vocab != len(task.vocab):
        raise ValueError(f"the model has {model.config.vocab} tokens, the task {len(task.vocab)}")
    config, tensors = _gpt2(model) if model.config.positions == "learned" else _neox(model)
    config["_name_or_path"] = name or f"attnviz-tiny-{task.name}"
    config["attnviz_task"] = task.name
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    _tokenizer(task).save(str(out / "tokenizer.json"))
    weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out
