"""GPT-2-style decoders (GPT-2, DistilGPT2 and other ``model_type: gpt2`` checkpoints).

    x = token[ids] + position[0..L-1]
    per layer:  x = x + CausalAttention(LayerNorm(x))       (pre-norm)
                x = x + W2 GELU_tanh(W1 LayerNorm(x))

GPT-2 stores its projections as ``Conv1D``: weight (in, out), so y = x W + b with no
transpose, and one fused ``c_attn`` (D, 3D) gives [q | k | v].

References
----------
- Radford et al., "Language Models are Unsupervised Multitask Learners", 2019.
- transformers ``models/gpt2/modeling_gpt2.py`` (the eager path this reproduces).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attnviz.models.base import Architecture, Family, LayerResult, Past, attend, heads
from attnviz.models.config import Config
from attnviz.models.nn import ACTIVATIONS, layer_norm, linear
from attnviz.models.weights import Tensors

__all__ = ["GPT2"]

# Our short names for the checkpoint's modules in block h.{i}.
GPT2_NAMES = (
    ("ln1", "ln_1"),
    ("qkv", "attn.c_attn"),
    ("o", "attn.c_proj"),
    ("ln2", "ln_2"),
    ("fc1", "mlp.c_fc"),
    ("fc2", "mlp.c_proj"),
)


class GPT2(Family):
    name = "gpt2"
    model_types = ("gpt2",)
    anchor = "wte.weight"
    generates = True
    final_norm = ("ln_f.weight", "ln_f.bias")
    tied_default = True

    def __init__(
        self, arch: Architecture, config: Config, eps: float, scale_weights: bool, by_layer: bool
    ) -> None:
        super().__init__(arch, config)
        self.eps = eps
        self.scale_weights = scale_weights
        self.by_layer = by_layer
        self.act = ACTIVATIONS[arch.activation]

    @classmethod
    def from_config(cls, config: Config) -> GPT2:
        d = config.int("n_embd", "hidden_size")
        h = config.int("n_head", "num_attention_heads")
        arch = Architecture(
            family=cls.name,
            model_type=config.model_type or "gpt2",
            architecture=config.architecture or "GPT2Model",
            layers=config.int("n_layer", "num_hidden_layers"),
            heads=h,
            kv_heads=h,
            hidden_size=d,
            head_dim=cls.split(config, d, h),
            intermediate_size=config.int("n_inner", default=4 * d),
            max_positions=config.int("n_positions", "n_ctx", "max_position_embeddings"),
            vocab_size=config.int("vocab_size"),
            causal=True,
            positions="learned absolute",
            activation=cls.activation(config, "activation_function", default="gelu_new"),
            norm="LayerNorm (pre)",
        )
        return cls(
            arch,
            config,
            eps=config.float("layer_norm_epsilon", default=1e-5),
            scale_weights=config.bool("scale_attn_weights", default=True),
            by_layer=config.bool("scale_attn_by_inverse_layer_idx", default=False),
        )

    def shared_shapes(self) -> dict[str, tuple[int, ...]]:
        a = self.arch
        return {
            "wte.weight": (a.vocab_size, a.hidden_size),
            "wpe.weight": (a.max_positions, a.hidden_size),
        }

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        d, inner = self.arch.hidden_size, self.arch.intermediate_size
        p = f"h.{i}."
        return {
            f"{p}ln_1.weight": (d,), f"{p}ln_1.bias": (d,),
            f"{p}attn.c_attn.weight": (d, 3 * d), f"{p}attn.c_attn.bias": (3 * d,),
            f"{p}attn.c_proj.weight": (d, d), f"{p}attn.c_proj.bias": (d,),
            f"{p}ln_2.weight": (d,), f"{p}ln_2.bias": (d,),
            f"{p}mlp.c_fc.weight": (d, inner), f"{p}mlp.c_fc.bias": (inner,),
            f"{p}mlp.c_proj.weight": (inner, d), f"{p}mlp.c_proj.bias": (d,),
        }  # fmt: skip

    def bind_shared(self, w: Tensors) -> dict[str, Any]:
        return {"wte": w.rows("wte.weight"), "wpe": w.rows("wpe.weight")}

    def bind_layer(self, i: int, w: Tensors) -> dict[str, Any]:
        t: dict[str, Any] = {}
        # Conv1D weights are already (in, out): what nn.linear wants, no transpose.
        for ours, theirs in GPT2_NAMES:
            t[f"{ours}_w"] = w[f"h.{i}.{theirs}.weight"]
            t[f"{ours}_b"] = w[f"h.{i}.{theirs}.bias"]
        return t

    def scale(self, i: int) -> float:
        """transformers' GPT2Attention.scaling: 1/sqrt(E), optionally / (layer index + 1)."""
        s = 1.0 / float(np.sqrt(self.arch.head_dim)) if self.scale_weights else 1.0
        return s / (i + 1) if self.by_layer else s

    def embed(self, t: dict[str, Any], ids: np.ndarray, start: int = 0) -> np.ndarray:
        return t["wte"][ids] + t["wpe"][start : start + len(ids)]  # (L, D)

    def logits(self, t: dict[str, Any], x: np.ndarray) -> np.ndarray:
        h = layer_norm(x, t["ln_f.weight"], t["ln_f.bias"], self.eps)
        return linear(h, t["out_w"])

    def layer(
        self, i: int, t: dict[str, Any], x: np.ndarray, past: Past | None = None
    ) -> tuple[np.ndarray, LayerResult]:
        a = self.arch
        d = a.hidden_size
        h = layer_norm(x, t["ln1_w"], t["ln1_b"], self.eps)
        qkv = linear(h, t["qkv_w"], t["qkv_b"])  # (L, 3D)
        q = heads(qkv[:, :d], a.heads)  # (H, L, E)
        k = heads(qkv[:, d : 2 * d], a.heads)
        v = heads(qkv[:, 2 * d :], a.heads)
        ctx, res = attend(q, k, v, causal=True, scale=self.scale(i), past=past)  # (L, D)
        x = x + linear(ctx, t["o_w"], t["o_b"])
        h = layer_norm(x, t["ln2_w"], t["ln2_b"], self.eps)
        h = linear(self.act(linear(h, t["fc1_w"], t["fc1_b"])), t["fc2_w"], t["fc2_b"])
        h += x
        return h, res
