"""The tiny transformer written again in torch (test-only): the reference its hand-written
backward pass is checked against, and the benchmark's peer."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from attnviz.train.model import TinyTransformer


def rope(x: torch.Tensor, base: float, sign: int = 1) -> torch.Tensor:
    """Rotate-half RoPE at positions 0 … L-1 (torch's own, independent of attnviz's)."""
    n, e = x.shape[-2], x.shape[-1]
    inv = base ** (-torch.arange(0, e, 2, dtype=torch.float64) / e)
    ang = torch.arange(n, dtype=torch.float64)[:, None] * inv[None] * sign
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., : e // 2], x[..., e // 2 :]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def params_of(model: TinyTransformer) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(np.array(v), requires_grad=True) for k, v in model.params.items()}


def forward(model: TinyTransformer, p: dict[str, torch.Tensor], ids: np.ndarray) -> torch.Tensor:
    c = model.config
    ids_t = torch.as_tensor(ids)
    b, n = ids_t.shape
    x = p["wte"][ids_t]
    if c.positions == "learned":
        x = x + p["wpe"][:n]
    d, h, e = c.d_model, c.heads, c.head_dim
    for i in range(c.layers):
        a = F.layer_norm(x, (d,), p[f"h{i}.ln1.g"], p[f"h{i}.ln1.b"], c.eps)
        qkv = a @ p[f"h{i}.qkv.w"] + p[f"h{i}.qkv.b"]
        q, k, v = (qkv[..., j * d : (j + 1) * d].reshape(b, n, h, e).transpose(1, 2)
                   for j in range(3))  # fmt: skip
        if c.positions == "rope":
            q, k = rope(q, c.rope_base), rope(k, c.rope_base)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=1 / math.sqrt(e))
        x = x + out.transpose(1, 2).reshape(b, n, d) @ p[f"h{i}.o.w"] + p[f"h{i}.o.b"]
        if c.mlp:
            m = F.layer_norm(x, (d,), p[f"h{i}.ln2.g"], p[f"h{i}.ln2.b"], c.eps)
            m = F.gelu(m @ p[f"h{i}.fc1.w"] + p[f"h{i}.fc1.b"], approximate="tanh")
            x = x + m @ p[f"h{i}.fc2.w"] + p[f"h{i}.fc2.b"]
    x = F.layer_norm(x, (d,), p["lnf.g"], p["lnf.b"], c.eps)
    return x @ p["unembed"]


def loss(logits: torch.Tensor, targets: np.ndarray, weights: np.ndarray) -> torch.Tensor:
    w = torch.as_tensor(weights, dtype=logits.dtype)
    nll = F.cross_entropy(logits.flatten(0, 1), torch.as_tensor(targets).flatten(),
                          reduction="none")  # fmt: skip
    return (nll * w.flatten()).sum() / w.sum()
