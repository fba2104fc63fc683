"""GPT-NeoX-style decoders: Pythia, GPT-NeoX-20B and other ``model_type: gpt_neox`` checkpoints.

    x = token[ids]
    per layer (parallel residual, the default):
        x = x + CausalAttention(LayerNorm₁(x)) Wo + MLP(LayerNorm₂(x))
    or, with use_parallel_residual false:
        x = x + CausalAttention(LayerNorm₁(x)) Wo;   x = x + MLP(LayerNorm₂(x))

RoPE turns only the first rotary_pct of each head's features (a quarter for Pythia), base
rotary_emb_base, pairing feature i with i + rotary/2. ``query_key_value`` is fused per head:
its output reads (L, H, 3, E), the query, key and value of head h side by side.

References
----------
- Black et al., "GPT-NeoX-20B: An Open-Source Autoregressive Language Model", 2022.
- Biderman et al., "Pythia: A Suite for Analyzing Large Language Models", 2023.
- transformers ``models/gpt_neox/modeling_gpt_neox.py`` (the eager path this reproduces).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attnviz.models.base import Architecture, Family, LayerResult, Past, attend
from attnviz.models.config import Config
from attnviz.models.llama import Rope
from attnviz.models.nn import ACTIVATIONS, layer_norm, linear
from attnviz.models.weights import Tensors

__all__ = ["GPTNeoX"]


class GPTNeoX(Family):
    name = "gpt_neox"
    model_types = ("gpt_neox",)
    anchor = "embed_in.weight"
    generates = True
    final_norm = ("final_layer_norm.weight", "final_layer_norm.bias")
    output_name = "embed_out.weight"

    def __init__(
        self, arch: Architecture, config: Config, *, eps: float, rope: Rope, parallel: bool,
        bias: bool,
    ) -> None:  # fmt: skip
        super().__init__(arch, config)
        self.eps, self.rope, self.parallel, self.bias = eps, rope, parallel, bias
        self.act = ACTIVATIONS[arch.activation]

    @classmethod
    def from_config(cls, config: Config) -> GPTNeoX:
        d = config.int("hidden_size")
        h = config.int("num_attention_heads")
        e = cls.split(config, d, h)
        doc = config.doc
        rope = Rope.from_config(
            config, e, theta=doc.get("rotary_emb_base", 10_000.0),
            partial=doc.get("rotary_pct", 0.25),
        )  # fmt: skip
        parallel = config.bool("use_parallel_residual", default=True)
        arch = Architecture(
            family=cls.name,
            model_type="gpt_neox",
            architecture=config.architecture or "GPTNeoXModel",
            layers=config.int("num_hidden_layers"),
            heads=h,
            kv_heads=h,
            hidden_size=d,
            head_dim=e,
            intermediate_size=config.int("intermediate_size"),
            max_positions=config.int("max_position_embeddings", default=2048),
            vocab_size=config.int("vocab_size"),
            causal=True,
            positions=rope.describe(),
            activation=cls.activation(config, "hidden_act", default="gelu"),
            norm="LayerNorm (pre), " + ("parallel residual" if parallel else "sequential"),
        )
        return cls(
            arch, config, eps=config.float("layer_norm_eps", default=1e-5), rope=rope,
            parallel=parallel, bias=config.bool("attention_bias", default=True),
        )  # fmt: skip

    def shared_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"embed_in.weight": (self.arch.vocab_size, self.arch.hidden_size)}

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        d, inner = self.arch.hidden_size, self.arch.intermediate_size
        p = f"layers.{i}."
        out: dict[str, tuple[int, ...]] = {}
        for norm in ("input_layernorm", "post_attention_layernorm"):
            out[f"{p}{norm}.weight"] = (d,)
            out[f"{p}{norm}.bias"] = (d,)
        out[f"{p}attention.query_key_value.weight"] = (3 * d, d)
        out[f"{p}attention.dense.weight"] = (d, d)
        if self.bias:
            out[f"{p}attention.query_key_value.bias"] = (3 * d,)
            out[f"{p}attention.dense.bias"] = (d,)
        out[f"{p}mlp.dense_h_to_4h.weight"] = (inner, d)
        out[f"{p}mlp.dense_h_to_4h.bias"] = (inner,)
        out[f"{p}mlp.dense_4h_to_h.weight"] = (d, inner)
        out[f"{p}mlp.dense_4h_to_h.bias"] = (d,)
        return out

    def bind_shared(self, w: Tensors) -> dict[str, Any]:
        return {"embed": w.rows("embed_in.weight")}

    def bind_layer(self, i: int, w: Tensors) -> dict[str, Any]:
        p = f"layers.{i}."
        a = f"{p}attention."
        return {
            "ln1_w": w[f"{p}input_layernorm.weight"],
            "ln1_b": w[f"{p}input_layernorm.bias"],
            "ln2_w": w[f"{p}post_attention_layernorm.weight"],
            "ln2_b": w[f"{p}post_attention_layernorm.bias"],
            "qkv_w": w[f"{a}query_key_value.weight"].T,
            "qkv_b": w[f"{a}query_key_value.bias"] if self.bias else None,
            "o_w": w[f"{a}dense.weight"].T,
            "o_b": w[f"{a}dense.bias"] if self.bias else None,
            "fc1_w": w[f"{p}mlp.dense_h_to_4h.weight"].T,
            "fc1_b": w[f"{p}mlp.dense_h_to_4h.bias"],
            "fc2_w": w[f"{p}mlp.dense_4h_to_h.weight"].T,
            "fc2_b": w[f"{p}mlp.dense_4h_to_h.bias"],
        }

    def embed(self, t: dict[str, Any], ids: np.ndarray, start: int = 0) -> np.ndarray:
        return t["embed"][ids]  # (L, D); order enters through RoPE

    def logits(self, t: dict[str, Any], x: np.ndarray) -> np.ndarray:
        h = layer_norm(x, t["final_layer_norm.weight"], t["final_layer_norm.bias"], self.eps)
        return linear(h, t["out_w"])

    def layer(
        self, i: int, t: dict[str, Any], x: np.ndarray, past: Past | None = None
    ) -> tuple[np.ndarray, LayerResult]:
        start = 0 if past is None else past[0].shape[1]
        a = self.arch
        h = layer_norm(x, t["ln1_w"], t["ln1_b"], self.eps)
        qkv = linear(h, t["qkv_w"], t["qkv_b"])  # (L, 3D): per head [q | k | v]
        qkv = qkv.reshape(len(x), a.heads, 3, a.head_dim).transpose(2, 1, 0, 3)  # (3, H, L, E)
        q, k = self.rope.apply(qkv[0], start), self.rope.apply(qkv[1], start)
        ctx, res = attend(q, k, np.ascontiguousarray(qkv[2]), causal=True, past=past)
        attn = linear(ctx, t["o_w"], t["o_b"])
        if not self.parallel:
            x = x + attn
        m = layer_norm(x, t["ln2_w"], t["ln2_b"], self.eps)
        m = linear(self.act(linear(m, t["fc1_w"], t["fc1_b"])), t["fc2_w"], t["fc2_b"])
        return (x + attn + m if self.parallel else x + m), res
