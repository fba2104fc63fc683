"""Llama-style decoders: Llama, and the near-identical Mistral, Qwen2, Qwen3, Phi-3 and Gemma.

    x = token[ids]
    per layer:  h = RMSNorm(x)
                q, k = RoPE(h Wq), RoPE(h Wk);  v = h Wv       (Hkv <= Hq key/value heads)
                x = x + CausalAttention(q, k, v) Wo
                x = x + Wdown (SiLU(h' Wgate) ⊙ h' Wup),  h' = RMSNorm(x)      (SwiGLU)

RoPE pairs feature i with i + E/2 ("rotate_half"), positions 0..L-1, base ``rope_theta``.
Qwen3 normalises each head's query and key (RMSNorm over E, weights of its own) before RoPE.
Phi-3 stores q, k, v as one fused ``qkv_proj`` and gate and up as one ``gate_up_proj`` (the
same [q | k | v] and [gate | up] order this module fuses them in), and may rotate only the
first part of each head (partial_rotary_factor, as Phi-4-mini). Gemma multiplies the embeddings
by √D, scales each RMSNorm by (1 + w) instead of w, and gates its MLP with tanh-GELU (GeGLU).
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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnviz.core.positional import apply_rope, rope_frequencies
from attnviz.models.base import Architecture, Family, LayerResult, Past, attend, heads
from attnviz.models.config import Config
from attnviz.models.nn import ACTIVATIONS, linear, rms_norm
from attnviz.models.weights import Tensors

__all__ = ["Llama", "Rope"]

DEFAULT_THETA = 10_000.0
# "default" and "linear" use base^(-2i/E) at positions 0..L-1 (divided by the factor for
# "linear"); "dynamic" (NTK) changes the base only past max_position_embeddings, which we
# refuse. "llama3", "yarn" and "longrope" give each pair its own frequency (and YaRN/LongRoPE an
# attention factor on cos and sin): the long-context checkpoints (Llama 3.1+, Qwen2.5, Phi-3.5).
ROPE_TYPES = ("default", "linear", "dynamic", "llama3", "yarn", "longrope")


@dataclass(frozen=True)
class Rope:
    """How a Llama-style model rotates queries and keys."""

    theta: float
    kind: str = "default"
    factor: float = 1.0  # "linear": positions are divided by this
    frequencies: tuple[float, ...] | None = None  # one per pair, where the kind rescales them
    long_frequencies: tuple[float, ...] | None = None  # LongRoPE, past original_max tokens
    original_max: int = 0  # the pre-training context the scaling stretches
    scaling: float = 1.0  # multiplies cos and sin (YaRN, LongRoPE)
    dim: int = 0  # features rotated at the start of each head; 0: all (partial rotary < E)

    def describe(self) -> str:
        extra = {
            "linear": f", linear scaling ×{self.factor:g}",
            "llama3": f", Llama 3 scaling ×{self.factor:g} past {self.original_max:,} tokens",
            "yarn": f", YaRN ×{self.factor:g} from {self.original_max:,} tokens",
            "longrope": f", LongRoPE from {self.original_max:,} tokens",
        }.get(self.kind, "")
        part = f", on the first {self.dim} features of each head" if self.dim else ""
        return f"rotary (RoPE, θ = {self.theta:g}{extra}{part})"

    @classmethod
    def from_config(
        cls, config: Config, head_dim: int, theta: float = DEFAULT_THETA, partial: float = 1.0,
        given: dict | None = None,
    ) -> Rope:  # fmt: skip
        """Read rope_parameters (transformers ≥ 5) or rope_theta + rope_scaling (earlier);
        ``theta`` and ``partial`` are the family's defaults (GPT-NeoX: rotary_emb_base,
        rotary_pct); ``given`` replaces the config's RoPE settings (one layer type's)."""
        doc = config.doc
        params = doc.get("rope_parameters") if given is None else given
        if params is None:
            params = doc.get("rope_scaling") or {}
        if not isinstance(params, dict):
            raise config.error(f"RoPE settings must be an object, got {params!r}")
        if params and all(isinstance(v, dict) for v in params.values()):
            raise config.error("per-layer-type RoPE settings are not supported")
        kind = params.get("rope_type", params.get("type", "default"))
        if kind not in ROPE_TYPES:
            raise config.error(
                f"RoPE type {kind!r} is not supported (supported: {', '.join(ROPE_TYPES)})"
            )
        theta = params.get("rope_theta", doc.get("rope_theta", theta))
        factor = params.get("factor", 1.0) if kind != "default" else 1.0
        for name, value in (("rope_theta", theta), ("factor", factor)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise config.error(f"RoPE {name} must be a positive number, got {value!r}")
        theta, factor = float(theta), float(factor)
        rotary = _rotary_dim(config, params, head_dim, partial)
        partial = rotary if rotary < head_dim else 0
        if kind in ("default", "linear", "dynamic"):
            return cls(theta, kind, factor if kind == "linear" else 1.0, dim=partial)
        max_pos = config.int("max_position_embeddings", default=2048)
        original = params.get("original_max_position_embeddings",
                              doc.get("original_max_position_embeddings", max_pos))  # fmt: skip
        if isinstance(original, bool) or not isinstance(original, int) or original < 1:
            raise config.error(
                f"RoPE original_max_position_embeddings must be a whole number ≥ 1, got "
                f"{original!r}"
            )
        base = rope_frequencies(rotary, theta)  # (rotary/2,)
        if kind == "llama3":
            freqs = _llama3(config, params, base, factor, original)
            return cls(theta, kind, factor, freqs, original_max=original, dim=partial)
        if kind == "yarn":
            if "factor" not in params:
                factor = max_pos / original
            freqs, scale = _yarn(config, params, base, factor, original, rotary, theta)
            return cls(theta, kind, factor, freqs, original_max=original, scaling=scale,
                       dim=partial)  # fmt: skip
        # longrope
        if "factor" not in params:
            factor = max_pos / original
        short = _factors(config, params, "short_factor", rotary)
        long = _factors(config, params, "long_factor", rotary)
        attention = params.get("attention_factor")
        if attention is None:
            attention = 1.0 if factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(original))
        return cls(
            theta, kind, factor, tuple(base / short), tuple(base / long), original,
            float(attention), partial,
        )  # fmt: skip

    def positions(self, n: int, start: int = 0) -> np.ndarray:
        pos = np.arange(start, start + n, dtype=np.float64)
        return pos / self.factor if self.kind == "linear" else pos

    def apply(self, x: np.ndarray, start: int = 0) -> np.ndarray:
        """Rotate (H, L, E) queries or keys at positions start … start+L-1."""
        n = x.shape[-2]
        freqs = self.frequencies
        if self.long_frequencies is not None and start + n > self.original_max:
            freqs = self.long_frequencies  # LongRoPE switches on the sequence's length
        turn = x[..., : self.dim] if self.dim else x
        out = apply_rope(turn, self.positions(n, start), self.theta, frequencies=freqs,
                         scaling=self.scaling)  # fmt: skip
        if not self.dim:
            return out
        # Partial rotary: the rest of each head passes unrotated and unscaled.
        return np.concatenate([out, x[..., self.dim :]], axis=-1)


def _rotary_dim(config: Config, params: dict, head_dim: int, default: float) -> int:
    """Features rotated per head: head_dim × partial_rotary_factor, as transformers rounds it."""
    prf = params.get("partial_rotary_factor", config.doc.get("partial_rotary_factor", default))
    if prf is None:
        prf = 1.0
    if isinstance(prf, bool) or not isinstance(prf, int | float) or not 0 < prf <= 1:
        raise config.error(f"partial_rotary_factor must lie in (0, 1], got {prf!r}")
    rotary = int(head_dim * prf)
    if rotary < 2 or rotary % 2:
        raise config.error(
            f"partial_rotary_factor {prf:g} rotates {rotary} of {head_dim} features per head; "
            "RoPE needs an even number, at least 2"
        )
    return rotary


def _number(config: Config, params: dict, key: str, default: float) -> float:
    value = params.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise config.error(f"RoPE {key} must be a number, got {value!r}")
    return float(value)


def _llama3(
    config: Config, params: dict, base: np.ndarray, factor: float, original: int
) -> tuple[float, ...]:
    """Llama 3.1: pairs whose wavelength is longer than original/low_freq_factor turn ``factor``
    times slower, those shorter than original/high_freq_factor stay, and those between are
    blended by where their wavelength falls."""
    low = _number(config, params, "low_freq_factor", 1.0)
    high = _number(config, params, "high_freq_factor", 4.0)
    if not 0 < low < high:
        raise config.error(f"RoPE needs 0 < low_freq_factor < high_freq_factor, got {low}, {high}")
    wavelength = 2 * math.pi / base
    blend = (original / wavelength - low) / (high - low)  # 0 at the long end, 1 at the short
    out = np.where(wavelength > original / low, base / factor, base)
    middle = (wavelength >= original / high) & (wavelength <= original / low)
    out = np.where(middle, (1 - blend) * base / factor + blend * base, out)
    return tuple(float(f) for f in out)


def _yarn(
    config: Config, params: dict, base: np.ndarray, factor: float, original: int, dim: int,
    theta: float,
) -> tuple[tuple[float, ...], float]:  # fmt: skip
    """YaRN (Peng et al., 2023): pairs that turn fewer than beta_slow times over the original
    context are interpolated (``factor`` times slower), those turning more than beta_fast times
    keep their frequency, with a linear ramp between; cos and sin scale by the attention
    factor (0.1 ln(factor) + 1 unless given)."""
    beta_fast = _number(config, params, "beta_fast", 32.0) or 32.0
    beta_slow = _number(config, params, "beta_slow", 1.0) or 1.0

    def pair_of(turns: float) -> float:  # the pair index that turns `turns` times
        return dim * math.log(original / (turns * 2 * math.pi)) / (2 * math.log(theta))

    lo, hi = pair_of(beta_fast), pair_of(beta_slow)
    if params.get("truncate", True):
        lo, hi = math.floor(lo), math.ceil(hi)
    lo, hi = max(lo, 0), min(hi, dim - 1)
    if lo == hi:
        hi += 0.001
    ramp = np.clip((np.arange(dim // 2) - lo) / (hi - lo), 0, 1)  # 0: keep, 1: interpolate
    freqs = base / factor * ramp + base * (1 - ramp)

    def m(scale: float, ms: float = 1.0) -> float:
        return 1.0 if scale <= 1 else 0.1 * ms * math.log(scale) + 1.0

    attention = params.get("attention_factor")
    if attention is None:
        mscale, mscale_all = params.get("mscale"), params.get("mscale_all_dim")
        attention = (
            m(factor, mscale) / m(factor, mscale_all) if mscale and mscale_all else m(factor)
        )
    return tuple(float(f) for f in freqs), float(attention)


def _factors(config: Config, params: dict, key: str, dim: int) -> np.ndarray:
    values = params.get(key)
    if not isinstance(values, list) or len(values) != dim // 2:
        raise config.error(f"LongRoPE {key} must list {dim // 2} numbers, got {values!r}")
    out = np.asarray(values, dtype=np.float64)
    if not (np.isfinite(out).all() and (out > 0).all()):
        raise config.error(f"LongRoPE {key} must be positive numbers, got {values!r}")
    return out


GEMMA_TYPES = ("gemma", "gemma2", "gemma3_text")


class Llama(Family):
    name = "llama"
    model_types = ("llama", "mistral", "qwen2", "qwen3", "phi3", "gemma")
    anchor = "embed_tokens.weight"
    generates = True
    final_norm = ("norm.weight",)

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
        qk_norm: bool = False,
    ) -> None:
        super().__init__(arch, config)
        self.qk_norm = qk_norm  # Qwen3, Gemma 3: RMSNorm on each head's q and k before RoPE
        self.scale: float | None = None  # what multiplies q·k (None: 1/√E; Gemma 2 sets it)
        self.softcap: float | None = None  # attention-logit soft-cap (Gemma 2)
        self.fused = arch.model_type == "phi3"  # one qkv_proj, one gate_up_proj
        gemma = arch.model_type in GEMMA_TYPES
        # Gemma: embeddings × √D (rounded to float32 as transformers does), RMSNorm × (1 + w).
        self.embed_scale = np.float32(arch.hidden_size**0.5) if gemma else None
        self.norm_offset = np.float32(1.0) if gemma else np.float32(0.0)
        self.eps = eps
        self.rope = rope
        self.qkv_bias, self.o_bias, self.mlp_bias = qkv_bias, o_bias, mlp_bias
        self.windows = windows  # per layer: sliding window W, or None for full causal
        self.act = ACTIVATIONS[arch.activation]
        self.final_softcap: float | None = None  # final-logit soft-cap (Gemma 2)

    @property
    def head_tied(self) -> bool:
        return self.config.bool("tie_word_embeddings",
                                default=self.arch.model_type in GEMMA_TYPES)  # fmt: skip

    @classmethod
    def from_config(cls, config: Config) -> Llama:
        mt = config.model_type or "llama"
        d = config.int("hidden_size")
        h = config.int("num_attention_heads")
        hkv = config.int("num_key_value_heads", default=h)
        if h % hkv:
            raise config.error(f"{h} query heads cannot be shared evenly by {hkv} key/value heads")
        # head_dim may differ from hidden/heads (Qwen3, Gemma): split only when it is not given.
        given = config.doc.get("head_dim") is not None
        e = config.int("head_dim") if given else cls.split(config, d, h)
        n_layers = config.int("num_hidden_layers")
        if e % 2:
            raise config.error(f"RoPE needs an even head_dim, got {e}")
        rope = cls.rope_from_config(config, e)
        if mt == "qwen2":
            qkv_bias, o_bias, mlp_bias = True, False, False
        elif mt == "mistral" or mt == "phi3":
            qkv_bias = o_bias = mlp_bias = False
        elif mt == "qwen3":
            qkv_bias = o_bias = config.bool("attention_bias", default=False)
            mlp_bias = False
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
            activation=(
                cls.activation(
                    config, "hidden_activation", "hidden_act", default="gelu_pytorch_tanh"
                )
                if mt in GEMMA_TYPES
                else cls.activation(config, "hidden_act", default="silu")
            ),
            norm={
                "qwen3": "RMSNorm (pre), q/k RMSNorm per head",
                "gemma": "RMSNorm (pre, scale 1 + w)",
            }.get(mt, "RMSNorm (pre)"),
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
            qk_norm=mt == "qwen3",
        )

    @classmethod
    def rope_from_config(cls, config: Config, head_dim: int) -> Rope:
        """The RoPE of every layer (Gemma 3 has a second one for its local layers)."""
        return Rope.from_config(config, head_dim)

    @staticmethod
    def _windows(config: Config, model_type: str, n_layers: int) -> tuple[int | None, ...]:
        """Each layer's sliding window, as transformers decides it (None = full causal)."""
        # A key that is absent takes transformers' default (4096); an explicit null turns it off.
        w = config.int("sliding_window", default=None) if "sliding_window" in config.doc else 4096
        if model_type == "mistral":
            return (w,) * n_layers
        if model_type == "phi3":  # every layer, when the config names a window
            return (config.int("sliding_window", default=None),) * n_layers
        if model_type in ("gemma2", "gemma3_text"):  # local (sliding) and global layers
            types = config.doc.get("layer_types")
            if not (isinstance(types, list) and len(types) == n_layers):
                # Gemma 2 alternates; Gemma 3 has five local layers to each global one.
                pattern = config.int("sliding_window_pattern", default=6)
                every = 2 if model_type == "gemma2" else pattern
                types = ["sliding_attention" if (i + 1) % every else "full"
                         for i in range(n_layers)]  # fmt: skip
            return tuple(w if t == "sliding_attention" else None for t in types)
        qwen = model_type in ("qwen2", "qwen3")
        if not qwen or not config.bool("use_sliding_window", default=False):
            return (None,) * n_layers
        types = config.doc.get("layer_types")
        if isinstance(types, list) and len(types) == n_layers:
            return tuple(w if t == "sliding_attention" else None for t in types)
        first = config.int("max_window_layers", default=28, minimum=0)
        return tuple(w if i >= first else None for i in range(n_layers))

    def shared_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"embed_tokens.weight": (self.arch.vocab_size, self.arch.hidden_size)}

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        a = self.arch
        d, inner, e = a.hidden_size, a.intermediate_size, a.head_dim
        nq, nkv = a.heads * e, a.kv_heads * e
        p = f"layers.{i}."
        s = f"{p}self_attn."
        out: dict[str, tuple[int, ...]] = {f"{p}input_layernorm.weight": (d,)}
        if self.fused:
            out[f"{s}qkv_proj.weight"] = (nq + 2 * nkv, d)
        else:
            out[f"{s}q_proj.weight"] = (nq, d)
            out[f"{s}k_proj.weight"] = (nkv, d)
            out[f"{s}v_proj.weight"] = (nkv, d)
        if self.qkv_bias:
            out[f"{s}q_proj.bias"] = (nq,)
            out[f"{s}k_proj.bias"] = (nkv,)
            out[f"{s}v_proj.bias"] = (nkv,)
        if self.qk_norm:
            out[f"{s}q_norm.weight"] = (e,)
            out[f"{s}k_norm.weight"] = (e,)
        out[f"{s}o_proj.weight"] = (d, nq)
        if self.o_bias:
            out[f"{s}o_proj.bias"] = (d,)
        out[f"{p}post_attention_layernorm.weight"] = (d,)
        if self.fused:
            out[f"{p}mlp.gate_up_proj.weight"] = (2 * inner, d)
        else:
            out[f"{p}mlp.gate_proj.weight"] = (inner, d)
            out[f"{p}mlp.up_proj.weight"] = (inner, d)
        out[f"{p}mlp.down_proj.weight"] = (d, inner)
        if self.mlp_bias:
            out[f"{p}mlp.gate_proj.bias"] = (inner,)
            out[f"{p}mlp.up_proj.bias"] = (inner,)
            out[f"{p}mlp.down_proj.bias"] = (d,)
        return out

    def bind_shared(self, w: Tensors) -> dict[str, Any]:
        return {"embed": w.rows("embed_tokens.weight")}

    def bind_layer(self, i: int, w: Tensors) -> dict[str, Any]:
        p = f"layers.{i}."
        return {
            "ln1": w[f"{p}input_layernorm.weight"] + self.norm_offset,
            "ln2": w[f"{p}post_attention_layernorm.weight"] + self.norm_offset,
            **self.bind_attention(i, w),
            **self.bind_mlp(i, w),
        }

    def bind_attention(self, i: int, w: Tensors) -> dict[str, Any]:
        """Layer ``i``'s fused [q | k | v] (D, (Hq + 2 Hkv) E), q/k norms and output."""
        s = f"layers.{i}.self_attn."
        t: dict[str, Any] = {
            "qkv_w": (
                w[f"{s}qkv_proj.weight"].T
                if self.fused
                else w.concat(f"{s}{m}_proj.weight" for m in "qkv").T
            ),
            "qkv_b": w.concat(f"{s}{m}_proj.bias" for m in "qkv") if self.qkv_bias else None,
            "o_w": w[f"{s}o_proj.weight"].T,
            "o_b": w[f"{s}o_proj.bias"] if self.o_bias else None,
        }
        if self.qk_norm:  # (1 + w) for Gemma 3, like its other norms
            t["q_norm"] = w[f"{s}q_norm.weight"] + self.norm_offset
            t["k_norm"] = w[f"{s}k_norm.weight"] + self.norm_offset
        return t

    def bind_mlp(self, i: int, w: Tensors) -> dict[str, Any]:
        """Layer ``i``'s fused [gate | up] (D, 2I) and down projection."""
        m = f"layers.{i}.mlp."
        return {
            "gu_w": (
                w[f"{m}gate_up_proj.weight"].T
                if self.fused
                else w.concat([f"{m}gate_proj.weight", f"{m}up_proj.weight"]).T
            ),
            "gu_b": (
                w.concat([f"{m}gate_proj.bias", f"{m}up_proj.bias"]) if self.mlp_bias else None
            ),
            "down_w": w[f"{m}down_proj.weight"].T,
            "down_b": w[f"{m}down_proj.bias"] if self.mlp_bias else None,
        }

    def embed(self, t: dict[str, Any], ids: np.ndarray, start: int = 0) -> np.ndarray:
        x = t["embed"][ids]  # (L, D); order enters through RoPE, inside attention
        return x if self.embed_scale is None else x * self.embed_scale

    def bind_head(self, w: Tensors) -> dict[str, Any]:
        t = super().bind_head(w)
        t["norm.weight"] = t["norm.weight"] + self.norm_offset
        return t

    def logits(self, t: dict[str, Any], x: np.ndarray) -> np.ndarray:
        y = linear(rms_norm(x, t["norm.weight"], self.eps), t["out_w"])
        if self.final_softcap is not None:  # Gemma 2: cap · tanh(logits / cap)
            cap = np.float32(self.final_softcap)
            y = np.tanh(y / cap) * cap
        return y

    # The layer in parts, so that the families built on this one replace only what differs.
    def rope_for(self, i: int) -> Rope:
        """The RoPE of layer ``i`` (Gemma 3's local layers have their own)."""
        return self.rope

    def project(
        self, i: int, t: dict[str, Any], x: np.ndarray, start: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """q (Hq, L, E) and k (Hkv, L, E) after any per-head norm and RoPE (positions from
        ``start``), and v, from the layer's input."""
        a = self.arch
        nq, nkv = a.heads * a.head_dim, a.kv_heads * a.head_dim
        h = rms_norm(x, t["ln1"], self.eps)
        qkv = linear(h, t["qkv_w"], t["qkv_b"])  # (L, (Hq + 2 Hkv) E)
        q = heads(qkv[:, :nq], a.heads)
        k = heads(qkv[:, nq : nq + nkv], a.kv_heads)
        if self.qk_norm:
            q = rms_norm(q, t["q_norm"], self.eps)
            k = rms_norm(k, t["k_norm"], self.eps)
        rope = self.rope_for(i)
        return rope.apply(q, start), rope.apply(k, start), heads(qkv[:, nq + nkv :], a.kv_heads)

    def attention(
        self, i: int, t: dict[str, Any], q: np.ndarray, k: np.ndarray, v: np.ndarray,
        past: Past | None = None,
    ) -> tuple[np.ndarray, LayerResult]:  # fmt: skip
        """(context (L, Hq E) through the output projection, LayerResult) of layer ``i``."""
        w = self.windows[i]
        ctx, res = attend(q, k, v, causal=True, scale=self.scale, softcap=self.softcap,
                          window=None if w is None else (w - 1, 0), past=past)  # fmt: skip
        return linear(ctx, t["o_w"], t["o_b"]), res

    def mlp(self, i: int, t: dict[str, Any], h: np.ndarray) -> np.ndarray:
        """The gated MLP (SwiGLU, GeGLU) of layer ``i`` on its normalised input."""
        inner = self.arch.intermediate_size
        gu = linear(h, t["gu_w"], t["gu_b"])  # (L, 2I)
        return linear(self.act(gu[:, :inner]) * gu[:, inner:], t["down_w"], t["down_b"])

    def layer(
        self, i: int, t: dict[str, Any], x: np.ndarray, past: Past | None = None
    ) -> tuple[np.ndarray, LayerResult]:
        start = 0 if past is None else past[0].shape[1]
        attn, res = self.attention(i, t, *self.project(i, t, x, start), past=past)
        x = x + attn
        return x + self.mlp(i, t, rms_norm(x, t["ln2"], self.eps)), res
