"""OLMo and OLMo 2: Llama's attention and SwiGLU MLP with their norms placed differently.

    OLMo:    h = LN(x) (no weight, no bias, eps 1e-5);  q, k, v = clip(h W)  (clip_qkv, if set)
             x = x + Attention(q, k, v) Wo;   x = x + MLP(LN(x))
    OLMo 2:  q = RMSNorm_q(x Wq), k = RMSNorm_k(x Wk) over all heads together, v = x Wv
             x = x + RMSNorm(Attention(q, k, v) Wo);   x = x + RMSNorm(MLP(x))     (norm after)

References
----------
- Groeneveld et al., "OLMo: Accelerating the Science of Language Models", 2024.
- OLMo Team, "2 OLMo 2 Furious", 2024.
- transformers ``models/olmo/modeling_olmo.py`` and ``models/olmo2/modeling_olmo2.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from attnviz.models.base import Family, LayerResult, Past, heads
from attnviz.models.config import Config
from attnviz.models.llama import Llama
from attnviz.models.nn import layer_norm, linear, rms_norm
from attnviz.models.weights import Tensors

__all__ = ["Olmo"]

_ONE, _ZERO = np.float32(1.0), np.float32(0.0)


class Olmo(Llama):
    name = "olmo"
    model_types = ("olmo", "olmo2")
    anchor = "embed_tokens.weight"

    @classmethod
    def from_config(cls, config: Config) -> Olmo:
        model = super().from_config(config)
        v2 = model.arch.model_type == "olmo2"
        model.v2 = v2
        model.final_norm = ("norm.weight",) if v2 else ()  # OLMo's own LayerNorm has no weights
        clip = None if v2 else config.doc.get("clip_qkv")
        model.clip = None if clip is None else config.float("clip_qkv")
        if not v2:
            model.eps = 1e-5  # OLMo's LayerNorm has a fixed eps
        norm = (
            "RMSNorm after attention and MLP, q/k RMSNorm over all heads"
            if v2
            else "LayerNorm without weights (pre)"
        )
        model.arch = dataclasses.replace(model.arch, norm=norm)
        return model  # type: ignore[return-value]

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        out = super().layer_shapes(i)
        a = self.arch
        p = f"layers.{i}."
        del out[f"{p}input_layernorm.weight"]
        if self.v2:
            out[f"{p}post_feedforward_layernorm.weight"] = (a.hidden_size,)
            out[f"{p}self_attn.q_norm.weight"] = (a.heads * a.head_dim,)
            out[f"{p}self_attn.k_norm.weight"] = (a.kv_heads * a.head_dim,)
        else:
            del out[f"{p}post_attention_layernorm.weight"]
        return out

    def bind_layer(self, i: int, w: Tensors) -> dict[str, Any]:
        # Llama's projections; OLMo's norms differ (none with weights in OLMo 1).
        t = {**self.bind_attention(i, w), **self.bind_mlp(i, w)}
        if self.v2:
            p = f"layers.{i}."
            t["ln2"] = w[f"{p}post_attention_layernorm.weight"]
            t["ln3"] = w[f"{p}post_feedforward_layernorm.weight"]
            t["q_norm"] = w[f"{p}self_attn.q_norm.weight"]
            t["k_norm"] = w[f"{p}self_attn.k_norm.weight"]
        return t

    def bind_head(self, w: Tensors) -> dict[str, Any]:
        return Family.bind_head(self, w)

    def logits(self, t: dict[str, Any], x: np.ndarray) -> np.ndarray:
        h = rms_norm(x, t["norm.weight"], self.eps) if self.v2 else layer_norm(x, _ONE, _ZERO, 1e-5)
        return linear(h, t["out_w"])

    def layer(
        self, i: int, t: dict[str, Any], x: np.ndarray, past: Past | None = None
    ) -> tuple[np.ndarray, LayerResult]:
        start = 0 if past is None else past[0].shape[1]
        a = self.arch
        nq, nkv = a.heads * a.head_dim, a.kv_heads * a.head_dim
        h = x if self.v2 else layer_norm(x, _ONE, _ZERO, self.eps)
        qkv = linear(h, t["qkv_w"], t["qkv_b"])  # (L, (Hq + 2 Hkv) E)
        if self.clip is not None:
            np.clip(qkv, -self.clip, self.clip, out=qkv)
        q, k, v = qkv[:, :nq], qkv[:, nq : nq + nkv], qkv[:, nq + nkv :]
        if self.v2:
            q = rms_norm(q, t["q_norm"], self.eps)
            k = rms_norm(k, t["k_norm"], self.eps)
        q = self.rope.apply(heads(q, a.heads), start)  # (Hq, L, E)
        k = self.rope.apply(heads(k, a.kv_heads), start)  # (Hkv, L, E)
        attn, res = self.attention(i, t, q, k, heads(v, a.kv_heads), past=past)
        x = x + (rms_norm(attn, t["ln2"], self.eps) if self.v2 else attn)
        m = self.mlp(i, t, x if self.v2 else layer_norm(x, _ONE, _ZERO, self.eps))
        return x + (rms_norm(m, t["ln3"], self.eps) if self.v2 else m), res
