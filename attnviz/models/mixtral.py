"""Mixtral-style mixtures of experts: Mistral's attention, and in place of one SwiGLU MLP a
router that sends each token to its top-k experts (SwiGLU MLPs of their own) and mixes their
outputs by the router's renormalised probabilities.

    p = softmax(x Wrouter);  keep the top k of p, divide by their sum
    MoE(x) = Σ over the kept experts e:  p_e · W2_e (SiLU(W1_e x) ⊙ W3_e x)

Checkpoints store the experts one by one (``block_sparse_moe.experts.{e}.w1/w2/w3``: the Hub's
layout, which transformers also writes) or fused (``mlp.experts.gate_up_proj`` (E, 2I, D) and
``down_proj`` (E, D, I), the layout transformers 5 holds in memory, written by some
converters); both are read.

References
----------
- Jiang et al., "Mixtral of Experts", 2024.
- transformers ``models/mixtral/modeling_mixtral.py`` (the eager path this reproduces).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attnviz.models.config import Config
from attnviz.models.llama import Llama
from attnviz.models.nn import linear
from attnviz.models.weights import TensorInfo, Tensors

__all__ = ["Mixtral"]


class Mixtral(Llama):
    name = "mixtral"
    model_types = ("mixtral",)
    anchor = "embed_tokens.weight"

    @classmethod
    def from_config(cls, config: Config) -> Mixtral:
        model = super().from_config(config)
        model.experts = config.int("num_local_experts")
        model.top_k = config.int("num_experts_per_tok", default=2)
        if model.top_k > model.experts:
            raise config.error(
                f"num_experts_per_tok ({model.top_k}) exceeds num_local_experts ({model.experts})"
            )
        w = config.int("sliding_window", default=None) if "sliding_window" in config.doc else None
        model.windows = (w,) * model.arch.layers
        model.legacy = False  # set by resolve() from the names in the files
        return model  # type: ignore[return-value]

    def resolve(self, tensors: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
        self.legacy = any(".block_sparse_moe." in n for n in tensors)
        return super().resolve(tensors)

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        out = super().layer_shapes(i)
        d, inner = self.arch.hidden_size, self.arch.intermediate_size
        p = f"layers.{i}."
        for m in ("gate_proj", "up_proj", "down_proj"):
            del out[f"{p}mlp.{m}.weight"]
        if self.legacy:
            moe = f"{p}block_sparse_moe."
            out[f"{moe}gate.weight"] = (self.experts, d)
            for e in range(self.experts):
                out[f"{moe}experts.{e}.w1.weight"] = (inner, d)
                out[f"{moe}experts.{e}.w3.weight"] = (inner, d)
                out[f"{moe}experts.{e}.w2.weight"] = (d, inner)
        else:
            out[f"{p}mlp.gate.weight"] = (self.experts, d)
            out[f"{p}mlp.experts.gate_up_proj"] = (self.experts, 2 * inner, d)
            out[f"{p}mlp.experts.down_proj"] = (self.experts, d, inner)
        return out

    def bind_mlp(self, i: int, w: Tensors) -> dict[str, Any]:
        """The router (D, E) and each expert's [gate | up] (D, 2I) and down (I, D)."""
        if self.legacy:
            moe = f"layers.{i}.block_sparse_moe."
            experts = [f"{moe}experts.{e}." for e in range(self.experts)]
            return {
                "router": w[f"{moe}gate.weight"].T,
                "ex_gu": [w.concat([f"{x}w1.weight", f"{x}w3.weight"]).T for x in experts],
                "ex_down": [w[f"{x}w2.weight"].T for x in experts],
            }
        p = f"layers.{i}.mlp."
        return {
            "router": w[f"{p}gate.weight"].T,
            "ex_gu": [g.T for g in w[f"{p}experts.gate_up_proj"]],  # (D, 2I) each
            "ex_down": [d.T for d in w[f"{p}experts.down_proj"]],  # (I, D) each
        }

    def mlp(self, i: int, t: dict[str, Any], h: np.ndarray) -> np.ndarray:
        """Each token through its top-k experts, mixed by the renormalised router weights."""
        inner = self.arch.intermediate_size
        logits = linear(h, t["router"])  # (L, E)
        p = np.exp(logits - logits.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        top = np.argsort(-p, axis=-1, kind="stable")[:, : self.top_k]  # (L, k)
        share = np.take_along_axis(p, top, axis=-1)
        share /= share.sum(axis=-1, keepdims=True)
        out = np.zeros_like(h)
        for e in range(self.experts):
            rows, slot = np.nonzero(top == e)
            if not len(rows):
                continue
            gu = linear(h[rows], t["ex_gu"][e])  # (n, 2I)
            y = linear(self.act(gu[:, :inner]) * gu[:, inner:], t["ex_down"][e])
            out[rows] += share[rows, slot, None] * y
        return out
