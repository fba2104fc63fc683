"""A tiny decoder-only transformer that trains in NumPy: forward through the compute core's
attention, a hand-written backward pass, and AdamW.

    x = token[ids] (+ position[0..L-1] when positions are learned)
    per layer:  x = x + Attention(LayerNorm(x))            (causal; RoPE on q, k if chosen)
                x = x + W2 GELU_tanh(W1 LayerNorm(x))      (only with an MLP)
    logits = LayerNorm(x) U

GPT-2's block (pre-LayerNorm, fused qkv, tanh GELU): a trained model saves as a GPT-2 folder
(learned positions) or a GPT-NeoX one (RoPE, rotate-half pairs, sequential residual) that
attnviz's own loader opens (:mod:`attnviz.train.export`).

The backward pass follows the forward step by step (each step's gradient is written next to the
line it differentiates); tests compare it with central finite differences in float64 and with
torch autograd.

References
----------
- Radford et al., "Language Models are Unsupervised Multitask Learners", 2019 (the block).
- Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019 (AdamW).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from attnviz.backends import scaled_dot_product_attention
from attnviz.core.positional import apply_rope

__all__ = ["AdamW", "Forward", "TinyConfig", "TinyTransformer"]

Params = dict[str, np.ndarray]
_C = math.sqrt(2.0 / math.pi)


@dataclass(frozen=True)
class TinyConfig:
    """The shape of a tiny transformer; every field checked (ValueError says what is wrong)."""

    vocab: int = 16
    layers: int = 2
    heads: int = 1
    d_model: int = 32
    mlp: bool = False  # False: attention only (the classic setting for induction heads)
    positions: str = "learned"  # or "rope"
    max_len: int = 64
    rope_base: float = 10_000.0
    seed: int = 0
    init_std: float = 0.02
    eps: float = 1e-5  # LayerNorm

    def __post_init__(self) -> None:
        def whole(name: str, lo: int, hi: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"{name} must be a whole number in [{lo}, {hi}], got {v!r}")

        whole("vocab", 2, 4096)
        whole("layers", 1, 4)
        whole("heads", 1, 8)
        whole("d_model", 4, 256)
        whole("max_len", 2, 1024)
        whole("seed", 0, 2**32 - 1)
        if self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} does not split into {self.heads} heads")
        if self.positions not in ("learned", "rope"):
            raise ValueError(f"positions must be 'learned' or 'rope', got {self.positions!r}")
        if self.positions == "rope" and (self.d_model // self.heads) % 2:
            raise ValueError("RoPE needs an even head dimension")
        if not (math.isfinite(self.init_std) and self.init_std > 0):
            raise ValueError(f"init_std must be a number > 0, got {self.init_std!r}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @property
    def inner(self) -> int:
        return 4 * self.d_model

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Forward:
    """What one forward pass kept for its backward pass, and what the panels show."""

    ids: np.ndarray  # (B, L)
    logits: np.ndarray  # (B, L, V)
    attentions: list[np.ndarray]  # per layer (B, H, L, L)
    cache: list[dict[str, Any]]
    final: dict[str, Any]


def _ln(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> tuple[np.ndarray, tuple]:
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps)
    xhat = xc * rstd
    return xhat * g + b, (xhat, rstd, g)


def _ln_back(dy: np.ndarray, saved: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xhat, rstd, g = saved
    axes = tuple(range(dy.ndim - 1))
    dg = (dy * xhat).sum(axes)
    db = dy.sum(axes)
    dxhat = dy * g
    n = dy.shape[-1]
    dx = rstd / n * (n * dxhat - dxhat.sum(-1, keepdims=True)
                     - xhat * (dxhat * xhat).sum(-1, keepdims=True))  # fmt: skip
    return dx, dg, db


def _gelu(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.tanh(_C * (x + 0.044715 * x**3))
    return 0.5 * x * (1.0 + t), t


def _gelu_back(dy: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _C * (1.0 + 3 * 0.044715 * x * x))


class TinyTransformer:
    """Parameters by name (GPT-2's, short), forward, backward and loss; seeded."""

    def __init__(self, config: TinyConfig, dtype: Any = np.float32) -> None:
        self.config = config
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(config.seed)
        c, d = config, config.d_model
        std = config.init_std

        def normal(*shape: int, s: float = std) -> np.ndarray:
            return rng.normal(0.0, s, shape).astype(self.dtype)

        p: Params = {"wte": normal(c.vocab, d)}
        if c.positions == "learned":
            p["wpe"] = normal(c.max_len, d)
        out_std = std / math.sqrt(2 * c.layers)  # GPT-2's scaled init of residual outputs
        for i in range(c.layers):
            p[f"h{i}.ln1.g"] = np.ones(d, self.dtype)
            p[f"h{i}.ln1.b"] = np.zeros(d, self.dtype)
            p[f"h{i}.qkv.w"] = normal(d, 3 * d)
            p[f"h{i}.qkv.b"] = np.zeros(3 * d, self.dtype)
            p[f"h{i}.o.w"] = normal(d, d, s=out_std)
            p[f"h{i}.o.b"] = np.zeros(d, self.dtype)
            if c.mlp:
                p[f"h{i}.ln2.g"] = np.ones(d, self.dtype)
                p[f"h{i}.ln2.b"] = np.zeros(d, self.dtype)
                p[f"h{i}.fc1.w"] = normal(d, c.inner)
                p[f"h{i}.fc1.b"] = np.zeros(c.inner, self.dtype)
                p[f"h{i}.fc2.w"] = normal(c.inner, d, s=out_std)
                p[f"h{i}.fc2.b"] = np.zeros(d, self.dtype)
        p["lnf.g"] = np.ones(d, self.dtype)
        p["lnf.b"] = np.zeros(d, self.dtype)
        p["unembed"] = normal(d, c.vocab)
        self.params = p

    # -- forward ---------------------------------------------------------------------------
    def _heads(self, x: np.ndarray) -> np.ndarray:
        b, n, _ = x.shape
        return x.reshape(b, n, self.config.heads, self.config.head_dim).transpose(0, 2, 1, 3)

    def _merge(self, x: np.ndarray) -> np.ndarray:
        b, h, n, e = x.shape
        return x.transpose(0, 2, 1, 3).reshape(b, n, h * e)

    def _rope(self, x: np.ndarray, sign: int = 1) -> np.ndarray:
        n = x.shape[-2]
        return apply_rope(x, sign * np.arange(n), self.config.rope_base)

    def forward(self, ids: np.ndarray) -> Forward:
        """(B, L) token ids -> logits (B, L, V) and every layer's attention (B, H, L, L)."""
        c, p = self.config, self.params
        ids = np.asarray(ids)
        if ids.ndim == 1:
            ids = ids[None]
        n = ids.shape[1]
        if n > c.max_len:
            raise ValueError(f"{n} tokens, but the model has {c.max_len} positions")
        if ids.size and (ids.min() < 0 or ids.max() >= c.vocab):
            raise ValueError(f"token ids must lie in [0, {c.vocab - 1}]")
        x = p["wte"][ids]
        if c.positions == "learned":
            x = x + p["wpe"][:n]
        cache: list[dict[str, Any]] = []
        attentions = []
        scale = 1.0 / math.sqrt(c.head_dim)
        for i in range(c.layers):
            s: dict[str, Any] = {"x": x}  # the layer's input (what the panels show as X)
            h, s["ln1"] = _ln(x, p[f"h{i}.ln1.g"], p[f"h{i}.ln1.b"], c.eps)
            s["h"] = h
            qkv = h @ p[f"h{i}.qkv.w"] + p[f"h{i}.qkv.b"]
            d = c.d_model
            q, k, v = (self._heads(qkv[..., j * d : (j + 1) * d]) for j in range(3))
            if c.positions == "rope":
                q, k = self._rope(q), self._rope(k)
            out, w = scaled_dot_product_attention(
                q, k, v, is_causal=True, scale=scale, return_weights=True, method="standard",
                backend="numpy",
            )  # fmt: skip
            s.update(q=q, k=k, v=v, w=w)
            merged = self._merge(out)
            s["merged"] = merged
            x = x + merged @ p[f"h{i}.o.w"] + p[f"h{i}.o.b"]
            if c.mlp:
                h2, s["ln2"] = _ln(x, p[f"h{i}.ln2.g"], p[f"h{i}.ln2.b"], c.eps)
                pre = h2 @ p[f"h{i}.fc1.w"] + p[f"h{i}.fc1.b"]
                act, t = _gelu(pre)
                s.update(h2=h2, pre=pre, t=t, act=act)
                x = x + act @ p[f"h{i}.fc2.w"] + p[f"h{i}.fc2.b"]
            attentions.append(w)
            cache.append(s)
        hf, lnf = _ln(x, p["lnf.g"], p["lnf.b"], c.eps)
        logits = hf @ p["unembed"]
        return Forward(ids, logits, attentions, cache, {"hf": hf, "lnf": lnf})

    # -- loss ------------------------------------------------------------------------------
    @staticmethod
    def loss(
        logits: np.ndarray, targets: np.ndarray, weights: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Mean cross-entropy over the weighted positions, and its gradient w.r.t. the logits.

        ``targets`` (B, L) the next token at each position, ``weights`` (B, L) which positions
        count (1) and which do not (0)."""
        w = np.asarray(weights, dtype=np.float64)
        total = w.sum()
        if total <= 0:
            raise ValueError("no position is trained: every weight is 0")
        z = logits - logits.max(-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        picked = np.take_along_axis(logp, targets[..., None], -1)[..., 0]
        loss = float(-(picked * w).sum() / total)
        grad = np.exp(logp)
        np.put_along_axis(
            grad, targets[..., None], np.take_along_axis(grad, targets[..., None], -1) - 1.0, -1
        )
        grad *= (w / total)[..., None]
        return loss, grad.astype(logits.dtype)

    # -- backward --------------------------------------------------------------------------
    def backward(self, fwd: Forward, dlogits: np.ndarray) -> Params:
        """Gradients of every parameter, given d loss / d logits (B, L, V)."""
        c, p = self.config, self.params
        g: Params = {name: np.zeros_like(v) for name, v in p.items()}
        hf = fwd.final["hf"]
        g["unembed"] = np.einsum("bld,blv->dv", hf, dlogits)
        dx, g["lnf.g"], g["lnf.b"] = _ln_back(dlogits @ p["unembed"].T, fwd.final["lnf"])
        scale = 1.0 / math.sqrt(c.head_dim)
        for i in reversed(range(c.layers)):
            s = fwd.cache[i]
            if c.mlp:  # x = x + act W2 + c2
                g[f"h{i}.fc2.w"] = np.einsum("bli,bld->id", s["act"], dx)
                g[f"h{i}.fc2.b"] = dx.sum((0, 1))
                dpre = _gelu_back(dx @ p[f"h{i}.fc2.w"].T, s["pre"], s["t"])
                g[f"h{i}.fc1.w"] = np.einsum("bld,bli->di", s["h2"], dpre)
                g[f"h{i}.fc1.b"] = dpre.sum((0, 1))
                dh2, g[f"h{i}.ln2.g"], g[f"h{i}.ln2.b"] = _ln_back(
                    dpre @ p[f"h{i}.fc1.w"].T, s["ln2"]
                )
                dx = dx + dh2
            # x = x + merged Wo + bo
            g[f"h{i}.o.w"] = np.einsum("ble,bld->ed", s["merged"], dx)
            g[f"h{i}.o.b"] = dx.sum((0, 1))
            dout = self._heads(dx @ p[f"h{i}.o.w"].T)  # (B, H, L, E)
            q, k, v, w = s["q"], s["k"], s["v"], s["w"]
            dv = np.swapaxes(w, -1, -2) @ dout  # out = P V
            dw = dout @ np.swapaxes(v, -1, -2)
            ds = w * (dw - (dw * w).sum(-1, keepdims=True))  # softmax; masked keys have P = 0
            dq = scale * ds @ k  # S = scale q kᵀ
            dk = scale * np.swapaxes(ds, -1, -2) @ q
            if c.positions == "rope":  # a rotation: its transpose turns back
                dq, dk = self._rope(dq, -1), self._rope(dk, -1)
            dqkv = np.concatenate([self._merge(dq), self._merge(dk), self._merge(dv)], axis=-1)
            g[f"h{i}.qkv.w"] = np.einsum("bld,blf->df", s["h"], dqkv)
            g[f"h{i}.qkv.b"] = dqkv.sum((0, 1))
            dh, g[f"h{i}.ln1.g"], g[f"h{i}.ln1.b"] = _ln_back(dqkv @ p[f"h{i}.qkv.w"].T, s["ln1"])
            dx = dx + dh
        np.add.at(g["wte"], fwd.ids, dx)
        if c.positions == "learned":
            g["wpe"][: fwd.ids.shape[1]] += dx.sum(0)
        return g


class AdamW:
    """AdamW as torch.optim.AdamW: decoupled weight decay (on matrices only here), bias
    correction, ``eps`` outside the square root."""

    def __init__(self, params: Params, lr: float = 3e-3, betas: tuple[float, float] = (0.9, 0.98),
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:  # fmt: skip
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"the learning rate must be a number > 0, got {lr!r}")
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: Params, grads: Params, lr: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        b1, b2 = self.betas
        self.t += 1
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for k, p in params.items():
            gk = grads[k]
            if p.ndim == 2 and self.weight_decay:
                p *= 1 - lr * self.weight_decay
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * gk
            v *= b2
            v += (1 - b2) * gk * gk
            p -= (lr / c1) * m / (np.sqrt(v / c2) + self.eps)
