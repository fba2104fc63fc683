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
from typing import Any

import numpy as np

from attnviz.models.base import Architecture, LayerResult, attend, heads
from attnviz.models.config import Config
from attnviz.models.nn import ACTIVATIONS, linear, rms_norm
from attnviz.models.seq2seq import Seq2SeqFamily
from attnviz.models.weights import TensorInfo, Tensors

__all__ = ["T5", "relative_position_buckets"]

BLOCKS = {"encoder": ("SelfAttention",), "decoder": ("SelfAttention", "EncDecAttention")}
RELATIVE = "{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"


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

    def shared_shapes(self) -> dict[str, tuple[int, ...]]:
        a = self.arch
        out: dict[str, tuple[int, ...]] = {"shared.weight": (a.vocab_size, a.hidden_size)}
        for stack in ("encoder", "decoder"):
            out[f"{stack}.final_layer_norm.weight"] = (a.hidden_size,)
            out[RELATIVE.format(stack=stack)] = (self.buckets, a.heads)
        return out

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        a = self.arch
        d, inner, ff = a.hidden_size, self.inner, a.intermediate_size
        stack, j = self.stack_of(i)
        p = f"{stack}.block.{j}.layer."
        out: dict[str, tuple[int, ...]] = {}
        for k, block in enumerate(BLOCKS[stack]):
            for m in ("q", "k", "v"):
                out[f"{p}{k}.{block}.{m}.weight"] = (inner, d)
            out[f"{p}{k}.{block}.o.weight"] = (d, inner)
            out[f"{p}{k}.layer_norm.weight"] = (d,)
        f = len(BLOCKS[stack])
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

    def bind_shared(self, w: Tensors) -> dict[str, Any]:
        t: dict[str, Any] = {"tokens": w.rows("shared.weight")}
        for stack in ("encoder", "decoder"):
            t[f"{stack}.final_ln"] = w[f"{stack}.final_layer_norm.weight"]
        # Tied to the token table, the decoder's states are scaled by d^-0.5 first (T5).
        untied = "lm_head.weight" in w
        t["lm_w"] = w["lm_head.weight" if untied else "shared.weight"].T
        t["lm_scale"] = np.float32(1.0 if untied else self.arch.hidden_size**-0.5)
        return t

    def bind_layer(self, i: int, w: Tensors) -> dict[str, Any]:
        stack, j = self.stack_of(i)
        p = f"{stack}.block.{j}.layer."
        # The stack's first layer owns the (buckets, H) table; every layer of it adds the bias.
        t: dict[str, Any] = {"relative": w[RELATIVE.format(stack=stack)]}
        for k, block in enumerate(BLOCKS[stack]):
            b = f"{p}{k}.{block}."
            if block == "SelfAttention":
                t[f"{block}.qkv"] = w.concat(f"{b}{m}.weight" for m in "qkv").T
            else:
                t[f"{block}.q"] = w[f"{b}q.weight"].T
                t[f"{block}.kv"] = w.concat([f"{b}k.weight", f"{b}v.weight"]).T
            t[f"{block}.o"] = w[f"{b}o.weight"].T
            t[f"{block}.ln"] = w[f"{p}{k}.layer_norm.weight"]
        f = len(BLOCKS[stack])
        for m in self._mlp_names():
            t[m] = w[f"{p}{f}.DenseReluDense.{m}.weight"].T
        t["mlp_ln"] = w[f"{p}{f}.layer_norm.weight"]
        return t

    # -- forward ---------------------------------------------------------------------------
    def position_bias(self, table: np.ndarray, stack: str, n: int) -> np.ndarray:
        """(H, n, n) float32 bias added to the stack's self-attention logits, looked up in its
        (buckets, H) ``table`` by each pair's bucket."""
        b = relative_position_buckets(n, n, stack == "encoder", self.buckets, self.max_distance)
        return np.ascontiguousarray(np.moveaxis(table[b], -1, 0))

    def embed(self, t: dict[str, Any], ids: np.ndarray) -> np.ndarray:
        return t["tokens"][ids]

    def embed_decoder(self, t: dict[str, Any], ids: np.ndarray) -> np.ndarray:
        return t["tokens"][ids]

    def _self_attention(
        self, t: dict[str, Any], x: np.ndarray, stack: str
    ) -> tuple[np.ndarray, LayerResult]:
        a = self.arch
        bias = self.position_bias(t["relative"], stack, len(x))
        h = rms_norm(x, t["SelfAttention.ln"], self.eps)
        qkv = linear(h, t["SelfAttention.qkv"])
        n = self.inner
        q, k, v = (heads(qkv[:, j * n : (j + 1) * n], a.heads) for j in range(3))
        ctx, res = attend(q, k, v, causal=stack == "decoder", scale=1.0, bias=bias)
        return x + linear(ctx, t["SelfAttention.o"]), res

    def _mlp(self, t: dict[str, Any], x: np.ndarray) -> np.ndarray:
        h = rms_norm(x, t["mlp_ln"], self.eps)
        if self.gated:
            inner = self.act(linear(h, t["wi_0"])) * linear(h, t["wi_1"])
        else:
            inner = self.act(linear(h, t["wi"]))
        return x + linear(inner, t["wo"])

    def layer(self, i: int, t: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, LayerResult]:
        x, res = self._self_attention(t, x, "encoder")
        return self._mlp(t, x), res

    def encoder_output(self, t: dict[str, Any], x: np.ndarray) -> np.ndarray:
        return rms_norm(x, t["encoder.final_ln"], self.eps)

    def decoder_layer(
        self, i: int, t: dict[str, Any], y: np.ndarray, memory: np.ndarray
    ) -> tuple[np.ndarray, LayerResult, LayerResult]:
        a = self.arch
        y, own = self._self_attention(t, y, "decoder")
        q = heads(linear(rms_norm(y, t["EncDecAttention.ln"], self.eps), t["EncDecAttention.q"]),
                  a.heads)  # fmt: skip
        kv = linear(memory, t["EncDecAttention.kv"])
        k, v = heads(kv[:, : self.inner], a.heads), heads(kv[:, self.inner :], a.heads)
        ctx, cross = attend(q, k, v, causal=False, scale=1.0)
        y = y + linear(ctx, t["EncDecAttention.o"])
        return self._mlp(t, y), own, cross

    def logits(self, t: dict[str, Any], y: np.ndarray) -> np.ndarray:
        y = rms_norm(y, t["decoder.final_ln"], self.eps) * t["lm_scale"]
        return linear(y, t["lm_w"])
