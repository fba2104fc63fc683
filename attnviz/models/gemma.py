"""Gemma 2: Gemma's layers (embeddings × √D, (1 + w) RMSNorm, GeGLU) with a norm before and
after both attention and MLP, attention-logit soft-capping, and local (sliding-window) and
global layers alternating.

    h = x + RMSNorm_post(Attention(RMSNorm_in(x)))
    x = h + RMSNorm_post_ff(MLP(RMSNorm_pre_ff(h)))
    Attention logits: softcap · tanh(q·k · query_pre_attn_scalar^-½ / softcap)

References
----------
- Gemma Team, "Gemma 2: Improving Open Language Models at a Practical Size", 2024.
- transformers ``models/gemma2/modeling_gemma2.py`` (the eager path this reproduces).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from attnviz.models.base import LayerResult, attend, heads
from attnviz.models.config import Config
from attnviz.models.llama import Llama
from attnviz.models.nn import linear, rms_norm

__all__ = ["Gemma2"]


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
        cap = config.doc.get("attn_logit_softcapping", 50.0)
        model.softcap = None if cap is None else config.float("attn_logit_softcapping")
        if model.softcap is not None and model.softcap <= 0:
            raise config.error(f"attn_logit_softcapping must be > 0, got {model.softcap:g}")
        capped = f"; logits soft-capped at {model.softcap:g}" if model.softcap else ""
        norm = f"RMSNorm (1 + w) before and after attention and MLP{capped}"
        model.arch = dataclasses.replace(model.arch, norm=norm)
        return model  # type: ignore[return-value]

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        out = super().tensor_shapes()
        d = self.arch.hidden_size
        for i in range(self.arch.layers):
            out[f"layers.{i}.pre_feedforward_layernorm.weight"] = (d,)
            out[f"layers.{i}.post_feedforward_layernorm.weight"] = (d,)
        return out

    def bind(self, w: dict[str, np.ndarray]) -> None:
        super().bind(w)
        for i in range(self.arch.layers):
            p = f"layers.{i}."
            self.w[f"{i}.ln3"] = w[f"{p}pre_feedforward_layernorm.weight"] + self.norm_offset
            self.w[f"{i}.ln4"] = w[f"{p}post_feedforward_layernorm.weight"] + self.norm_offset

    def layer(self, i: int, x: np.ndarray) -> tuple[np.ndarray, LayerResult]:
        t, a = self.w, self.arch
        nq, nkv = a.heads * a.head_dim, a.kv_heads * a.head_dim
        h = rms_norm(x, t[f"{i}.ln1"], self.eps)
        qkv = linear(h, t[f"{i}.qkv_w"], t[f"{i}.qkv_b"])  # (L, (Hq + 2 Hkv) E)
        q = self.rope.apply(heads(qkv[:, :nq], a.heads))
        k = self.rope.apply(heads(qkv[:, nq : nq + nkv], a.kv_heads))
        v = heads(qkv[:, nq + nkv :], a.kv_heads)
        w = self.windows[i]
        ctx, res = attend(
            q, k, v, causal=True, scale=self.scale, softcap=self.softcap,
            window=None if w is None else (w - 1, 0),
        )  # fmt: skip
        x = x + rms_norm(linear(ctx, t[f"{i}.o_w"], t[f"{i}.o_b"]), t[f"{i}.ln2"], self.eps)
        h = rms_norm(x, t[f"{i}.ln3"], self.eps)
        gu = linear(h, t[f"{i}.gu_w"], t[f"{i}.gu_b"])  # (L, 2I)
        inner = a.intermediate_size
        m = linear(self.act(gu[:, :inner]) * gu[:, inner:], t[f"{i}.down_w"], t[f"{i}.down_b"])
        return x + rms_norm(m, t[f"{i}.ln4"], self.eps), res
