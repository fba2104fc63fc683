"""T5 (and T5 v1.1, Flan-T5, mT5): an encoder–decoder whose positions are a learned bias on the
attention logits, bucketed by relative distance.

Differences from BART that matter for attention:

- **No 1/√d scale**: the logits are q·k (T5's initialisation absorbs the scale).
- **Relative position bias**: each head adds b[h, bucket(j − i)] to the logit of query i and
  key j. Distances below half the buckets get a bucket each, longer ones share logarithmically
  wider buckets up to ``relative_attention_max_distance``; the encoder's buckets are split
  between "before" and "after", the decoder's count only keys before the query. The first
  layer of each stack owns the table; every layer of that stack adds the same bias.
  Cross-attention has none.
- Pre-norm RMSNorm (no mean, no bias) around each block, a final RMSNorm per stack, no biases
  anywhere; ReLU MLP (T5) or gated GELU (``feed_forward_proj: gated-gelu``, v1.1 / Flan-T5).
- One shared token table; when the output layer is tied to it, the decoder's states are scaled
  by d^-0.5 before the logits.

References
----------
- Raffel et al., "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
  Transformer", JMLR 2020, section 2.1 (relative position embeddings).
- transformers ``models/t5/modeling_t5.py`` (``_relative_position_bucket``, ``compute_bias``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from attnviz.models.base import Architecture, LayerResult, attend, heads
from attnviz.models.config import Config
from attnviz.models.nn import ACTIVATIONS, linear, rms_norm
from attnviz.models.seq2seq import Seq2SeqFamily
from attnviz.models.weights import TensorInfo

__all__ = ["T5", "relative_position_buckets"]

BLOCKS = {"encoder": ("SelfAttention",), "decoder": ("SelfAttention", "EncDecAttention")}


def relative_position_buckets(
    n_queries: int, n_keys: int, bidirectional: bool, num_buckets: int, max_distance: int
) -> np.ndarray:
    """(n_queries, n_keys) bucket of each key's distance j − i from its query (T5's rule)."""
    rel = np.arange(n_keys)[None, :] - np.arange(n_queries)[:, None]
    buckets = np.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        buckets += (rel > 0) * num_buckets
        rel = np.abs(rel)
    else:
        rel = -np.minimum(rel, 0)  # keys after the query all share bucket 0 (they are masked)
    exact = num_buckets // 2
    # Distances below ``exact`` keep their own bucket (np.where below); the logarithm is taken
    # of at least ``exact`` so that it stays finite for them.
    far = np.maximum(rel, exact).astype(np.float32)
    large = exact + (
        np.log(far / exact) / math.log(max_distance / exact) * (num_buckets - exact)
    ).astype(np.int64)
    large = np.minimum(large, num_buckets - 1)
    return buckets + np.where(rel < exact, rel, large)


class T5(Seq2SeqFamily):
    """T5, T5 v1.1, Flan-T5 and mT5 (the same layers; v1.1 gates its MLP)."""

    name = "t5"
    model_types = ("t5", "mt5")
    anchor = "encoder.block.0.layer.0.SelfAttention.q.weight"

    def __init__(
        self, arch: Architecture, config: Config, *, decoder_layers: int, inner: int,
        gated: bool, buckets: int, max_distance: int, eps: float, tied: bool,
        decoder_start: int, eos: int | None, pad: int | None,
    ) -> None:  # fmt: skip
        super().__init__(arch, config)
        self.decoder_layers = decoder_layers
        self.inner = inner  # heads × d_kv, which need not be d_model
        self.gated = gated
        self.buckets, self.max_distance = buckets, max_distance
        self.eps = eps
        self.tied = tied
        self.decoder_vocab = arch.vocab_size
        self.decoder_start, self.eos, self.pad = decoder_start, eos, pad
        self.act: Callable[[np.ndarray], np.ndarray] = ACTIVATIONS[arch.activation]
        self._bias_cache: dict[tuple[str, int, int], np.ndarray] = {}

    @classmethod
    def from_config(cls, config: Config) -> T5:
        d = config.int("d_model")
        h = config.int("num_heads")
        d_kv = config.int("d_kv")
        proj = config.str("feed_forward_proj", default="relu")
        parts = proj.split("-")
        if len(parts) > 2 or (len(parts) == 2 and parts[0] != "gated"):
            raise config.error(f"feed_forward_proj {proj!r} is not 'ACT' or 'gated-ACT'")
        act = "gelu_new" if proj == "gated-gelu" else parts[-1]
        if act not in ACTIVATIONS:
            raise config.error(
                f"activation {act!r} is not supported (supported: {', '.join(ACTIVATIONS)})"
            )
        buckets = config.int("relative_attention_num_buckets", default=32, minimum=2)
        max_distance = config.int("relative_attention_max_distance", default=128, minimum=2)
        if max_distance <= buckets // 4:
            raise config.error(
                f"relative_attention_max_distance {max_distance} must exceed a quarter of the "
                f"{buckets} buckets"
            )
        layers = config.int("num_layers")
        arch = Architecture(
            family=cls.name,
            model_type=config.model_type,
            architecture=config.architecture or "T5ForConditionalGeneration",
            layers=layers,
            heads=h,
            kv_heads=h,
            hidden_size=d,
            head_dim=d_kv,
            intermediate_size=config.int("d_ff"),
            # Relative positions have no table to run out of; a bound keeps memory sane.
            max_positions=config.int("n_positions", default=4096),
            vocab_size=config.int("vocab_size"),
            causal=False,
            positions=f"relative position bias ({buckets} buckets up to {max_distance})",
            activation=act,
            norm="RMSNorm (pre)",
        )
        pad = config.int("pad_token_id", default=0, minimum=0)
        eos = config.raw("eos_token_id", default=None)
        return cls(
            arch, config, decoder_layers=config.int("num_decoder_layers", default=layers),
            inner=h * d_kv, gated=parts[0] == "gated", buckets=buckets,
            max_distance=max_distance, eps=config.float("layer_norm_epsilon", default=1e-6),
            tied=config.bool("tie_word_embeddings", default=True),
            decoder_start=config.int("decoder_start_token_id", default=pad, minimum=0),
            eos=eos if isinstance(eos, int) else None, pad=pad,
        )  # fmt: skip

    # -- tensors ---------------------------------------------------------------------------
    def _mlp_names(self) -> tuple[str, ...]:
        return ("wi_0", "wi_1", "wo") if self.gated else ("wi", "wo")

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        a = self.arch
        d, inner, ff = a.hidden_size, self.inner, a.intermediate_size
        out: dict[str, tuple[int, ...]] = {"shared.weight": (a.vocab_size, d)}
        for stack, n in (("encoder", a.layers), ("decoder", self.decoder_layers)):
            out[f"{stack}.final_layer_norm.weight"] = (d,)
            rel = f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
            out[rel] = (self.buckets, a.heads)
            blocks = (
                ("SelfAttention", "EncDecAttention") if stack == "decoder" else ("SelfAttention",)
            )
            for i in range(n):
                p = f"{stack}.block.{i}.layer."
                for j, block in enumerate(blocks):
                    for m in ("q", "k", "v"):
                        out[f"{p}{j}.{block}.{m}.weight"] = (inner, d)
                    out[f"{p}{j}.{block}.o.weight"] = (d, inner)
                    out[f"{p}{j}.layer_norm.weight"] = (d,)
                f = len(blocks)
                for m in self._mlp_names():
                    out[f"{p}{f}.DenseReluDense.{m}.weight"] = (d, ff) if m == "wo" else (ff, d)
                out[f"{p}{f}.layer_norm.weight"] = (d,)
        return out

    def aliases(self, name: str) -> tuple[str, ...]:
        if name == "shared.weight":
            return ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight")
        return ()

    def resolve(self, tensors: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
        found = super().resolve(tensors)
        head = tensors.get("lm_head.weight")
        shape = (self.arch.vocab_size, self.arch.hidden_size)
        if not self.tied and head is not None and head.shape == shape:
            found["lm_head.weight"] = head
        return found

    def bind(self, w: dict[str, np.ndarray]) -> None:
        t, a = self.w, self.arch
        t["tokens"] = w["shared.weight"]
        head = w.get("lm_head.weight")
        # Tied to the token table, the decoder's states are scaled by d^-0.5 first (T5).
        t["lm_w"] = (head if head is not None else w["shared.weight"]).T
        t["lm_scale"] = np.float32(1.0 if head is not None else a.hidden_size**-0.5)
        for stack, n in (("encoder", a.layers), ("decoder", self.decoder_layers)):
            t[f"{stack}.final_ln"] = w[f"{stack}.final_layer_norm.weight"]
            rel = f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
            t[f"{stack}.relative"] = w[rel]  # (buckets, H)
            blocks = (
                ("SelfAttention", "EncDecAttention") if stack == "decoder" else ("SelfAttention",)
            )
            for i in range(n):
                p, s = f"{stack}.block.{i}.layer.", f"{stack}.{i}."
                for j, block in enumerate(blocks):
                    b = f"{p}{j}.{block}."
                    if block == "SelfAttention":
                        t[f"{s}{block}.qkv"] = np.concatenate(
                            [w[f"{b}{m}.weight"] for m in "qkv"]
                        ).T
                    else:
                        t[f"{s}{block}.q"] = w[f"{b}q.weight"].T
                        t[f"{s}{block}.kv"] = np.concatenate(
                            [w[f"{b}k.weight"], w[f"{b}v.weight"]]
                        ).T
                    t[f"{s}{block}.o"] = w[f"{b}o.weight"].T
                    t[f"{s}{block}.ln"] = w[f"{p}{j}.layer_norm.weight"]
                f = len(blocks)
                for m in self._mlp_names():
                    t[f"{s}{m}"] = w[f"{p}{f}.DenseReluDense.{m}.weight"].T
                t[f"{s}mlp_ln"] = w[f"{p}{f}.layer_norm.weight"]

    # -- forward ---------------------------------------------------------------------------
    def position_bias(self, stack: str, n: int) -> np.ndarray:
        """(H, n, n) float32 bias added to the stack's self-attention logits."""
        key = (stack, n, id(self.w.get(f"{stack}.relative")))
        bias = self._bias_cache.get(key)
        if bias is None:
            b = relative_position_buckets(
                n, n, stack == "encoder", self.buckets, self.max_distance
            )  # (n, n)
            bias = np.ascontiguousarray(np.moveaxis(self.w[f"{stack}.relative"][b], -1, 0))
            bias.setflags(write=False)
            if len(self._bias_cache) > 8:
                self._bias_cache.clear()
            self._bias_cache[key] = bias
        return bias

    def embed(self, ids: np.ndarray) -> np.ndarray:
        return self.w["tokens"][ids]

    def embed_decoder(self, ids: np.ndarray) -> np.ndarray:
        return self.w["tokens"][ids]

    def _self_attention(self, stack: str, s: str, x: np.ndarray) -> tuple[np.ndarray, LayerResult]:
        t, a = self.w, self.arch
        h = rms_norm(x, t[f"{s}SelfAttention.ln"], self.eps)
        qkv = linear(h, t[f"{s}SelfAttention.qkv"])
        n = self.inner
        q, k, v = (heads(qkv[:, j * n : (j + 1) * n], a.heads) for j in range(3))
        bias = self.position_bias(stack, len(x))
        ctx, res = attend(q, k, v, causal=stack == "decoder", scale=1.0, bias=bias)
        return x + linear(ctx, t[f"{s}SelfAttention.o"]), res

    def _mlp(self, s: str, x: np.ndarray) -> np.ndarray:
        t = self.w
        h = rms_norm(x, t[f"{s}mlp_ln"], self.eps)
        if self.gated:
            inner = self.act(linear(h, t[f"{s}wi_0"])) * linear(h, t[f"{s}wi_1"])
        else:
            inner = self.act(linear(h, t[f"{s}wi"]))
        return x + linear(inner, t[f"{s}wo"])

    def layer(self, i: int, x: np.ndarray) -> tuple[np.ndarray, LayerResult]:
        x, res = self._self_attention("encoder", f"encoder.{i}.", x)
        return self._mlp(f"encoder.{i}.", x), res

    def encoder_output(self, x: np.ndarray) -> np.ndarray:
        return rms_norm(x, self.w["encoder.final_ln"], self.eps)

    def decoder_layer(
        self, i: int, y: np.ndarray, memory: np.ndarray
    ) -> tuple[np.ndarray, LayerResult, LayerResult]:
        t, a = self.w, self.arch
        s = f"decoder.{i}."
        y, own = self._self_attention("decoder", s, y)
        c = f"{s}EncDecAttention."
        q = heads(linear(rms_norm(y, t[f"{c}ln"], self.eps), t[f"{c}q"]), a.heads)
        kv = linear(memory, t[f"{c}kv"])
        k, v = heads(kv[:, : self.inner], a.heads), heads(kv[:, self.inner :], a.heads)
        ctx, cross = attend(q, k, v, causal=False, scale=1.0)
        y = y + linear(ctx, t[f"{c}o"])
        return self._mlp(s, y), own, cross

    def logits(self, y: np.ndarray) -> np.ndarray:
        y = rms_norm(y, self.w["decoder.final_ln"], self.eps) * self.w["lm_scale"]
        return linear(y, self.w["lm_w"])
