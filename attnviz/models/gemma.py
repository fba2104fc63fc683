"""Gemma 2 and 3: Gemma's layers (embeddings × √D, (1 + w) RMSNorm, GeGLU) with a norm before and
after both attention and MLP, attention-logit soft-capping, and local (sliding-window) and
global layers alternating.

    h = x + RMSNorm_post(Attention(RMSNorm_in(x)))
    x = h + RMSNorm_post_ff(MLP(RMSNorm_pre_ff(h)))
    Attention logits: softcap · tanh(q·k · query_pre_attn_scalar^-½ / softcap)

Gemma 3 (text) adds a (1 + w) RMSNorm on each head's query and key before RoPE, turns its
local layers with their own base (rope_local_base_freq, 10,000) and its global ones with
rope_theta (1,000,000, where any RoPE scaling applies), and has five local layers to each global
one; it does not soft-cap.

References
----------
- Gemma Team, "Gemma 2: Improving Open Language Models at a Practical Size", 2024.
- Gemma Team, "Gemma 3 Technical Report", 2025.
- transformers ``models/gemma2/modeling_gemma2.py`` (the eager path this reproduces).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from attnviz.models.base import LayerResult, Past
from attnviz.models.config import Config
from attnviz.models.llama import Llama, Rope
from attnviz.models.nn import rms_norm
from attnviz.models.weights import Tensors

__all__ = ["Gemma2", "Gemma3"]


class Gemma2(Llama):
    name = "gemma2"
    model_types = ("gemma2",)
    anchor = "embed_tokens.weight"

    @classmethod
    def from_config(cls, config: Config) -> Gemma2:
        model = super().from_config(config)
        scalar = config.float("query_pre_attn_scalar", default=256.0)
        if scalar <= 0:
            raise config.error(f"query_pre_attn_scalar must be > 0, got {scalar:g}")
        model.scale = scalar**-0.5
        default = 50.0 if config.model_type == "gemma2" else None  # Gemma 3 does not cap
        cap = config.doc.get("attn_logit_softcapping", default)
        model.softcap = None if cap is None else config.float("attn_logit_softcapping")
        if model.softcap is not None and model.softcap <= 0:
            raise config.error(f"attn_logit_softcapping must be > 0, got {model.softcap:g}")
        capped = f"; logits soft-capped at {model.softcap:g}" if model.softcap else ""
        norm = f"RMSNorm (1 + w) before and after attention and MLP{capped}"
        model.arch = dataclasses.replace(model.arch, norm=norm)
        final = config.doc.get("final_logit_softcapping", default and 30.0)
        model.final_softcap = None if final is None else config.float("final_logit_softcapping")
        return model  # type: ignore[return-value]

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        d = self.arch.hidden_size
        return {
            **super().layer_shapes(i),
            f"layers.{i}.pre_feedforward_layernorm.weight": (d,),
            f"layers.{i}.post_feedforward_layernorm.weight": (d,),
        }

    def bind_layer(self, i: int, w: Tensors) -> dict[str, Any]:
        p = f"layers.{i}."
        return {
            **super().bind_layer(i, w),
            "ln3": w[f"{p}pre_feedforward_layernorm.weight"] + self.norm_offset,
            "ln4": w[f"{p}post_feedforward_layernorm.weight"] + self.norm_offset,
        }

    def layer(
        self, i: int, t: dict[str, Any], x: np.ndarray, past: Past | None = None
    ) -> tuple[np.ndarray, LayerResult]:
        start = 0 if past is None else past[0].shape[1]
        attn, res = self.attention(i, t, *self.project(i, t, x, start), past=past)
        x = x + rms_norm(attn, t["ln2"], self.eps)
        m = self.mlp(i, t, rms_norm(x, t["ln3"], self.eps))
        return x + rms_norm(m, t["ln4"], self.eps), res


class Gemma3(Gemma2):
    name = "gemma3"
    model_types = ("gemma3_text",)
    anchor = "embed_tokens.weight"

    @classmethod
    def rope_from_config(cls, config: Config, head_dim: int) -> Rope:
        return cls._ropes(config, head_dim)[0]

    @staticmethod
    def _ropes(config: Config, head_dim: int) -> tuple[Rope, Rope]:
        """(global, local) RoPE: per layer type in rope_parameters (transformers ≥ 5), or
        rope_theta + rope_scaling for the global layers and rope_local_base_freq (earlier)."""
        doc = config.doc
        params = doc.get("rope_parameters")
        if isinstance(params, dict) and all(isinstance(v, dict) for v in params.values()):
            full = params.get("full_attention") or {}
            local = params.get("sliding_attention") or {}
        else:
            full = dict(doc.get("rope_scaling") or {})
            full.setdefault("rope_theta", doc.get("rope_theta", 1_000_000.0))
            local = {"rope_theta": doc.get("rope_local_base_freq", 10_000.0)}
        full = {"rope_theta": 1_000_000.0, **full}
        local = {"rope_theta": 10_000.0, **local}
        return (Rope.from_config(config, head_dim, given=full),
                Rope.from_config(config, head_dim, given=local))  # fmt: skip

    @classmethod
    def from_config(cls, config: Config) -> Gemma3:
        model = super().from_config(config)
        model.local_rope = cls._ropes(config, model.arch.head_dim)[1]
        model.qk_norm = True  # per head, (1 + w) like Gemma's other norms
        return model  # type: ignore[return-value]

    def rope_for(self, i: int) -> Rope:
        return self.local_rope if self.windows[i] is not None else self.rope
