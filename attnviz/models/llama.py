"""Llama-style decoders: Llama, and the near-identical Mistral and Qwen2.

    x = token[ids]
    per layer:  h = RMSNorm(x)
                q, k = RoPE(h Wq), RoPE(h Wk);  v = h Wv       (Hkv <= Hq key/value heads)
                x = x + CausalAttention(q, k, v) Wo
                x = x + Wdown (SiLU(h' Wgate) ⊙ h' Wup),  h' = RMSNorm(x)      (SwiGLU)

RoPE pairs feature i with i + E/2 ("rotate_half"), positions 0..L-1, base ``rope_theta``.
Grouped-query attention: each key/value head serves Hq/Hkv consecutive query heads; the trace
keeps k and v with their own Hkv heads. Mistral (and Qwen2 with ``use_sliding_window``) limit
each query to the last ``sliding_window`` keys: the core's ``window=(W-1, 0)``.

References
----------
- Touvron et al., "LLaMA: Open and Efficient Foundation Language Models", 2023.
- Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding", 2021.
- Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models", 2023.
- Shazeer, "GLU Variants Improve Transformer", 2020.
- transformers ``models/llama/modeling_llama.py`` (the eager path this reproduces).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.core.positional import apply_rope
from attnviz.models.base import Architecture, Family, LayerResult, attend, heads
from attnviz.models.config import Config
from attnviz.models.nn import ACTIVATIONS, linear, rms_norm

__all__ = ["Llama", "Rope"]

DEFAULT_THETA = 10_000.0
# RoPE variants whose frequencies are base^(-2i/E) and whose positions are 0..L-1 scaled by a
# constant: "dynamic" (NTK) only changes the base past max_position_embeddings, which we refuse.
ROPE_TYPES = ("default", "linear", "dynamic")


@dataclass(frozen=True)
class Rope:
    """How a Llama-style model rotates queries and keys."""

    theta: float
    kind: str = "default"
    factor: float = 1.0  # "linear": positions are divided by this

    def describe(self) -> str:
        extra = f", linear scaling ×{self.factor:g}" if self.kind == "linear" else ""
        return f"rotary (RoPE, θ = {self.theta:g}{extra})"

    @classmethod
    def from_config(cls, config: Config) -> Rope:
        """Read rope_parameters (transformers ≥ 5) or rope_theta + rope_scaling (earlier)."""
        doc = config.doc
        params = doc.get("rope_parameters")
        if params is None:
            params = doc.get("rope_scaling") or {}
        if not isinstance(params, dict):
            raise config.error(f"RoPE settings must be an object, got {params!r}")
        if params and all(isinstance(v, dict) for v in params.values()):
            raise config.error("per-layer-type RoPE settings are not supported")
        kind = params.get("rope_type", params.get("type", "default"))
        if kind not in ROPE_TYPES:
            raise config.error(
                f"RoPE type {kind!r} is not supported yet (supported: {', '.join(ROPE_TYPES)}); "
                "it rescales each frequency separately, which attnviz.core.positional.apply_rope "
                "cannot express"
            )
        theta = params.get("rope_theta", doc.get("rope_theta", DEFAULT_THETA))
        prf = params.get("partial_rotary_factor", doc.get("partial_rotary_factor", 1.0))
        if prf not in (1, 1.0, None):
            raise config.error(f"partial_rotary_factor {prf!r} is not supported (only 1)")
        factor = params.get("factor", 1.0) if kind == "linear" else 1.0
        for name, value in (("rope_theta", theta), ("factor", factor)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise config.error(f"RoPE {name} must be a positive number, got {value!r}")
        return cls(float(theta), kind, float(factor))

    def positions(self, n: int) -> np.ndarray:
        pos = np.arange(n, dtype=np.float64)
        return pos / self.factor if self.kind == "linear" else pos


class Llama(Family):
    name = "llama"
    model_types = ("llama", "mistral", "qwen2")
    anchor = "embed_tokens.weight"

    def __init__(
        self,
        arch: Architecture,
        config: Config,
        *,
        eps: float,
        rope: Rope,
        qkv_bias: bool,
        o_bias: bool,
        mlp_bias: bool,
        windows: tuple[int | None, ...],
    ) -> None:
        super().__init__(arch, config)
        self.eps = eps
        self.rope = rope
        self.qkv_bias, self.o_bias, self.mlp_bias = qkv_bias, o_bias, mlp_bias
        self.windows = windows  # per layer: sliding window W, or None for full causal
        self.act = ACTIVATIONS[arch.activation]

    @classmethod
    def from_config(cls, config: Config) -> Llama:
        mt = config.model_type or "llama"
        d = config.int("hidden_size")
        h = config.int("num_attention_heads")
        hkv = config.int("num_key_value_heads", default=h)
        if h % hkv:
            raise config.error(f"{h} query heads cannot be shared evenly by {hkv} key/value heads")
        e = config.int("head_dim", default=cls.split(config, d, h))
        n_layers = config.int("num_hidden_layers")
        rope = Rope.from_config(config)
        if e % 2:
            raise config.error(f"RoPE needs an even head_dim, got {e}")
        if mt == "qwen2":
            qkv_bias, o_bias, mlp_bias = True, False, False
        elif mt == "mistral":
            qkv_bias = o_bias = mlp_bias = False
        else:
            qkv_bias = o_bias = config.bool("attention_bias", default=False)
            mlp_bias = config.bool("mlp_bias", default=False)
        arch = Architecture(
            family=cls.name,
            model_type=mt,
            architecture=config.architecture or "LlamaModel",
            layers=n_layers,
            heads=h,
            kv_heads=hkv,
            hidden_size=d,
            head_dim=e,
            intermediate_size=config.int("intermediate_size"),
            max_positions=config.int("max_position_embeddings", default=2048),
            vocab_size=config.int("vocab_size"),
            causal=True,
            positions=rope.describe(),
            activation=cls.activation(config, "hidden_act", default="silu"),
            norm="RMSNorm (pre)",
        )
        return cls(
            arch,
            config,
            eps=config.float("rms_norm_eps", default=1e-6),
            rope=rope,
            qkv_bias=qkv_bias,
            o_bias=o_bias,
            mlp_bias=mlp_bias,
            windows=cls._windows(config, mt, n_layers),
        )

    @staticmethod
    def _windows(config: Config, model_type: str, n_layers: int) -> tuple[int | None, ...]:
        """Each layer's sliding window, as transformers decides it (None = full causal)."""
        # A key that is absent takes transformers' default (4096); an explicit null turns it off.
        w = config.int("sliding_window", default=None) if "sliding_window" in config.doc else 4096
        if model_type == "mistral":
            return (w,) * n_layers
        if model_type != "qwen2" or not config.bool("use_sliding_window", default=False):
            return (None,) * n_layers
        types = config.doc.get("layer_types")
        if isinstance(types, list) and len(types) == n_layers:
            return tuple(w if t == "sliding_attention" else None for t in types)
        first = config.int("max_window_layers", default=28, minimum=0)
        return tuple(w if i >= first else None for i in range(n_layers))

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        a = self.arch
        d, inner, e = a.hidden_size, a.intermediate_size, a.head_dim
        nq, nkv = a.heads * e, a.kv_heads * e
        out: dict[str, tuple[int, ...]] = {"embed_tokens.weight": (a.vocab_size, d)}
        for i in range(a.layers):
            p = f"layers.{i}."
            s = f"{p}self_attn."
            out[f"{p}input_layernorm.weight"] = (d,)
            out[f"{s}q_proj.weight"] = (nq, d)
            out[f"{s}k_proj.weight"] = (nkv, d)
            out[f"{s}v_proj.weight"] = (nkv, d)
            if self.qkv_bias:
                out[f"{s}q_proj.bias"] = (nq,)
                out[f"{s}k_proj.bias"] = (nkv,)
                out[f"{s}v_proj.bias"] = (nkv,)
            out[f"{s}o_proj.weight"] = (d, nq)
            if self.o_bias:
                out[f"{s}o_proj.bias"] = (d,)
            out[f"{p}post_attention_layernorm.weight"] = (d,)
            out[f"{p}mlp.gate_proj.weight"] = (inner, d)
            out[f"{p}mlp.up_proj.weight"] = (inner, d)
            out[f"{p}mlp.down_proj.weight"] = (d, inner)
            if self.mlp_bias:
                out[f"{p}mlp.gate_proj.bias"] = (inner,)
                out[f"{p}mlp.up_proj.bias"] = (inner,)
                out[f"{p}mlp.down_proj.bias"] = (d,)
        return out

    def bind(self, w: dict[str, np.ndarray]) -> None:
        t = self.w
        t["embed"] = w["embed_tokens.weight"]
        for i in range(self.arch.layers):
            p = f"layers.{i}."
            s = f"{p}self_attn."
            t[f"{i}.ln1"] = w[f"{p}input_layernorm.weight"]
            t[f"{i}.ln2"] = w[f"{p}post_attention_layernorm.weight"]
            # Fused products: [q | k | v] (D, (Hq + 2 Hkv) E) and [gate | up] (D, 2I).
            t[f"{i}.qkv_w"] = np.concatenate([w[f"{s}{m}_proj.weight"] for m in "qkv"]).T
            t[f"{i}.qkv_b"] = (
                np.concatenate([w[f"{s}{m}_proj.bias"] for m in "qkv"]) if self.qkv_bias else None
            )
            t[f"{i}.o_w"] = w[f"{s}o_proj.weight"].T
            t[f"{i}.o_b"] = w[f"{s}o_proj.bias"] if self.o_bias else None
            m = f"{p}mlp."
            t[f"{i}.gu_w"] = np.concatenate([w[f"{m}gate_proj.weight"], w[f"{m}up_proj.weight"]]).T
            t[f"{i}.gu_b"] = (
                np.concatenate([w[f"{m}gate_proj.bias"], w[f"{m}up_proj.bias"]])
                if self.mlp_bias
                else None
            )
            t[f"{i}.down_w"] = w[f"{m}down_proj.weight"].T
            t[f"{i}.down_b"] = w[f"{m}down_proj.bias"] if self.mlp_bias else None

    def embed(self, ids: np.ndarray) -> np.ndarray:
        return self.w["embed"][ids]  # (L, D); order enters through RoPE, inside attention

    def layer(self, i: int, x: np.ndarray) -> tuple[np.ndarray, LayerResult]:
        t, a = self.w, self.arch
        nq, nkv = a.heads * a.head_dim, a.kv_heads * a.head_dim
        h = rms_norm(x, t[f"{i}.ln1"], self.eps)
        qkv = linear(h, t[f"{i}.qkv_w"], t[f"{i}.qkv_b"])  # (L, (Hq + 2 Hkv) E)
        pos = self.rope.positions(len(x))
        q = apply_rope(heads(qkv[:, :nq], a.heads), pos, self.rope.theta)  # (Hq, L, E)
        k = apply_rope(heads(qkv[:, nq : nq + nkv], a.kv_heads), pos, self.rope.theta)  # (Hkv,L,E)
        v = heads(qkv[:, nq + nkv :], a.kv_heads)  # (Hkv, L, E)
        w = self.windows[i]
        ctx, res = attend(q, k, v, causal=True, window=None if w is None else (w - 1, 0))
        x = x + linear(ctx, t[f"{i}.o_w"], t[f"{i}.o_b"])
        h = rms_norm(x, t[f"{i}.ln2"], self.eps)
        gu = linear(h, t[f"{i}.gu_w"], t[f"{i}.gu_b"])  # (L, 2I)
        inner = a.intermediate_size
        h = self.act(gu[:, :inner]) * gu[:, inner:]
        h = linear(h, t[f"{i}.down_w"], t[f"{i}.down_b"])
        h += x
        return h, res
