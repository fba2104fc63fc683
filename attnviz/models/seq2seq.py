"""Encoder–decoders: BART and Marian (opus-mt), with their real cross-attention.

The encoder reads the source sentence with bidirectional self-attention; the decoder reads the
target so far with causal self-attention, then *cross-attends*: its queries come from the
decoder's hidden states, its keys and values from the encoder's output. Both stacks are
post-norm (as transformers' ``BartEncoderLayer`` / ``BartDecoderLayer``)::

    encoder layer:  x = LN(x + SelfAttn(x));  x = LN(x + W2 act(W1 x))
    decoder layer:  y = LN(y + CausalSelfAttn(y));  y = LN(y + CrossAttn(q=y, k=v=enc))
                    y = LN(y + W2 act(W1 y))

BART: learned positions offset by 2 (the table has max_positions + 2 rows), a LayerNorm on the
embeddings (``layernorm_embedding``). Marian: fixed sinusoidal positions from 0 with the sine
half before the cosine half (not interleaved), no embedding LayerNorm. Both scale token
embeddings by √d when ``scale_embedding`` is set, share one embedding table between encoder,
decoder and output layer (Marian may give the decoder its own vocabulary), and add
``final_logits_bias`` to the output logits.

The decoder reads ``decoder_start_token_id`` followed by the target's tokens (teacher forcing:
row i is the decoder predicting token i + 1). Greedy decoding picks the most likely next token
until the end-of-sentence token, never the padding token (Marian's rule).

References
----------
- Lewis et al., "BART: Denoising Sequence-to-Sequence Pre-training", 2020.
- Junczys-Dowmunt et al., "Marian: Fast Neural Machine Translation in C++", 2018.
- transformers ``models/bart/modeling_bart.py`` and ``models/marian/modeling_marian.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnviz.core.positional import sinusoidal_encoding
from attnviz.models.base import Architecture, Family, LayerResult, attend, heads
from attnviz.models.config import Config
from attnviz.models.nn import ACTIVATIONS, layer_norm, linear
from attnviz.models.weights import TensorInfo, Tensors

__all__ = ["Bart", "CrossTrace", "Seq2SeqFamily"]

ATTENTION_PARTS = ("q_proj", "k_proj", "v_proj", "out_proj")
BLOCKS = {"encoder": ("self_attn",), "decoder": ("self_attn", "encoder_attn")}


@dataclass(frozen=True)
class CrossTrace:
    """The decoder's cross-attention over the encoder's output, every layer.

    attentions (layers, H, Lt, Ls): row i is target token i's weights over the source tokens;
    q (layers, H, Lt, E) from the decoder; k, v (layers, H, Ls, E) from the encoder's output.
    """

    attentions: np.ndarray
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scales: tuple[float, ...]


class Seq2SeqFamily(Family):
    """An encoder–decoder. Its weights come in blocks bound one at a time: the encoder's layers
    (0 … layers − 1), then the decoder's (layers … layers + decoder_layers − 1). :meth:`embed`
    and :meth:`layer` run the encoder (so everything that runs an encoder runs this one);
    :meth:`embed_decoder`, :meth:`decoder_layer` and :meth:`logits` run the decoder over the
    encoder's output. ``t`` is always what :meth:`bind_shared` or :meth:`bind_layer` gave."""

    decoder_layers: int
    decoder_start: int  # the id the decoder reads first
    eos: int | None
    pad: int | None

    @property
    def blocks(self) -> int:
        return self.arch.layers + self.decoder_layers

    def stack_of(self, i: int) -> tuple[str, int]:
        """Block ``i`` as ("encoder" | "decoder", its index in that stack)."""
        e = self.arch.layers
        return ("encoder", i) if i < e else ("decoder", i - e)

    def embed_decoder(self, t: dict[str, Any], ids: np.ndarray) -> np.ndarray:
        """(Lt,) decoder token ids -> (Lt, D)."""
        raise NotImplementedError

    def encoder_output(self, t: dict[str, Any], x: np.ndarray) -> np.ndarray:
        """The last encoder layer's output -> what cross-attention reads (T5: a final norm)."""
        return x

    def decoder_layer(
        self, i: int, t: dict[str, Any], y: np.ndarray, memory: np.ndarray
    ) -> tuple[np.ndarray, LayerResult, LayerResult]:
        """Decoder layer ``i`` (block layers + i) over the encoder output ``memory``:
        (y, self-attention, cross-attention)."""
        raise NotImplementedError

    def logits(self, t: dict[str, Any], y: np.ndarray) -> np.ndarray:
        """(Lt, D) last decoder states -> (Lt, target vocabulary) next-token logits."""
        raise NotImplementedError


class Bart(Seq2SeqFamily):
    """BART and Marian (opus-mt): the same post-norm layers, different positions."""

    name = "bart"
    model_types = ("bart", "marian")
    anchor = "encoder.layers.0.self_attn.q_proj.weight"

    def __init__(
        self, arch: Architecture, config: Config, *, decoder_layers: int, ffn: tuple[int, int],
        decoder_vocab: int, learned_positions: bool, embedding_norm: bool, embed_scale: float,
        shared: bool, tied: bool, decoder_start: int, eos: int | None, pad: int | None,
    ) -> None:  # fmt: skip
        super().__init__(arch, config)
        self.decoder_layers = decoder_layers
        self.ffn = ffn  # (encoder, decoder) inner sizes
        self.decoder_vocab = decoder_vocab
        self.learned_positions = learned_positions
        self.embedding_norm = embedding_norm
        self.embed_scale = embed_scale
        self.shared = shared  # one token table for encoder and decoder
        self.tied = tied  # the output layer is the decoder's token table
        self.decoder_start, self.eos, self.pad = decoder_start, eos, pad
        self.act: Callable[[np.ndarray], np.ndarray] = ACTIVATIONS[arch.activation]

    @classmethod
    def from_config(cls, config: Config) -> Bart:
        mt = config.model_type
        d = config.int("d_model")
        h = config.int("encoder_attention_heads")
        hd = config.int("decoder_attention_heads")
        if hd != h:
            raise config.error(
                f"encoder and decoder differ in heads ({h} and {hd}); attnviz shows one head "
                "count per model"
            )
        marian = mt == "marian"
        vocab = config.int("vocab_size")
        shared = config.bool("share_encoder_decoder_embeddings", default=True) if marian else True
        decoder_vocab = vocab if shared else config.int("decoder_vocab_size", default=vocab)
        pad = config.int("pad_token_id", default=1, minimum=0)
        max_pos = config.int("max_position_embeddings", default=1024)
        arch = Architecture(
            family=cls.name,
            model_type=mt,
            architecture=config.architecture
            or ("MarianMTModel" if marian else "BartForConditionalGeneration"),
            layers=config.int("encoder_layers"),
            heads=h,
            kv_heads=h,
            hidden_size=d,
            head_dim=cls.split(config, d, h),
            intermediate_size=config.int("encoder_ffn_dim"),
            max_positions=max_pos,
            vocab_size=vocab,
            causal=False,
            positions="fixed sinusoidal" if marian else "learned absolute (offset 2)",
            activation=cls.activation(config, "activation_function", default="gelu"),
            norm="LayerNorm (post)",
        )
        scale = math.sqrt(d) if config.bool("scale_embedding", default=False) else 1.0
        eos = config.raw("eos_token_id", default=None)
        return cls(
            arch, config, decoder_layers=config.int("decoder_layers"),
            ffn=(arch.intermediate_size, config.int("decoder_ffn_dim")),
            decoder_vocab=decoder_vocab, learned_positions=not marian, embedding_norm=not marian,
            embed_scale=scale, shared=shared,
            tied=config.bool("tie_word_embeddings", default=True),
            decoder_start=config.int("decoder_start_token_id", default=pad, minimum=0),
            eos=eos if isinstance(eos, int) else None, pad=pad,
        )  # fmt: skip

    # -- tensors ---------------------------------------------------------------------------
    def _tokens(self, stack: str) -> str:
        return "shared.weight" if self.shared else f"{stack}.embed_tokens.weight"

    def shared_shapes(self) -> dict[str, tuple[int, ...]]:
        a = self.arch
        d = a.hidden_size
        out: dict[str, tuple[int, ...]] = {}
        if self.shared:
            out["shared.weight"] = (a.vocab_size, d)
        else:
            out["encoder.embed_tokens.weight"] = (a.vocab_size, d)
            out["decoder.embed_tokens.weight"] = (self.decoder_vocab, d)
        for stack in ("encoder", "decoder"):
            if self.learned_positions:
                out[f"{stack}.embed_positions.weight"] = (a.max_positions + 2, d)
            if self.embedding_norm:
                out[f"{stack}.layernorm_embedding.weight"] = (d,)
                out[f"{stack}.layernorm_embedding.bias"] = (d,)
        return out

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        d = self.arch.hidden_size
        stack, j = self.stack_of(i)
        inner = self.ffn[stack == "decoder"]
        p = f"{stack}.layers.{j}."
        out: dict[str, tuple[int, ...]] = {}
        for block in BLOCKS[stack]:
            for part in ATTENTION_PARTS:
                out[f"{p}{block}.{part}.weight"] = (d, d)
                out[f"{p}{block}.{part}.bias"] = (d,)
            out[f"{p}{block}_layer_norm.weight"] = (d,)
            out[f"{p}{block}_layer_norm.bias"] = (d,)
        out[f"{p}fc1.weight"] = (inner, d)
        out[f"{p}fc1.bias"] = (inner,)
        out[f"{p}fc2.weight"] = (d, inner)
        out[f"{p}fc2.bias"] = (d,)
        out[f"{p}final_layer_norm.weight"] = (d,)
        out[f"{p}final_layer_norm.bias"] = (d,)
        return out

    def aliases(self, name: str) -> tuple[str, ...]:
        # Checkpoints saved before tied tables were deduplicated name the encoder's copy.
        if name == "shared.weight":
            return ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight")
        return ()

    def resolve(self, tensors: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
        found = super().resolve(tensors)
        v, d = self.decoder_vocab, self.arch.hidden_size
        # Outside the "model." prefix: the output layer's bias and, when untied, its weight.
        for name, shape in (("final_logits_bias", (1, v)), ("lm_head.weight", (v, d))):
            t = tensors.get(name)
            if t is not None and t.shape == shape and t.dtype in ("F32", "F16", "BF16", "F64"):
                found[name] = t
        if not self.tied and "lm_head.weight" not in found:
            raise self.config.error(
                "says the output layer is not tied to the embeddings (tie_word_embeddings is "
                f"false), but no lm_head.weight of shape {(v, d)} is stored"
            )
        return found

    def bind_shared(self, w: Tensors) -> dict[str, Any]:
        t: dict[str, Any] = {}
        for stack in ("encoder", "decoder"):
            t[f"{stack}.tokens"] = w.rows(self._tokens(stack))
            if self.learned_positions:
                t[f"{stack}.positions"] = w.rows(f"{stack}.embed_positions.weight")
            if self.embedding_norm:
                t[f"{stack}.ln_w"] = w[f"{stack}.layernorm_embedding.weight"]
                t[f"{stack}.ln_b"] = w[f"{stack}.layernorm_embedding.bias"]
        # The output layer is read whole by every decoding step: converted once, here.
        untied = not self.tied and "lm_head.weight" in w
        t["lm_w"] = w["lm_head.weight" if untied else self._tokens("decoder")].T
        has_bias = "final_logits_bias" in w
        t["lm_b"] = (
            w["final_logits_bias"].reshape(-1)
            if has_bias
            else np.zeros(self.decoder_vocab, np.float32)
        )
        return t

    def bind_layer(self, i: int, w: Tensors) -> dict[str, Any]:
        stack, j = self.stack_of(i)
        p = f"{stack}.layers.{j}."
        t: dict[str, Any] = {}
        for block in BLOCKS[stack]:
            b = f"{p}{block}."
            if block == "self_attn":  # one (D, 3D) product: [q | k | v]
                t["self_attn.qkv_w"] = w.concat(f"{b}{m}.weight" for m in ATTENTION_PARTS[:3]).T
                t["self_attn.qkv_b"] = w.concat(f"{b}{m}.bias" for m in ATTENTION_PARTS[:3])
            else:  # q from the decoder, [k | v] from the encoder's output
                t[f"{block}.q_w"] = w[f"{b}q_proj.weight"].T
                t[f"{block}.q_b"] = w[f"{b}q_proj.bias"]
                t[f"{block}.kv_w"] = w.concat([f"{b}k_proj.weight", f"{b}v_proj.weight"]).T
                t[f"{block}.kv_b"] = w.concat([f"{b}k_proj.bias", f"{b}v_proj.bias"])
            t[f"{block}.o_w"] = w[f"{b}out_proj.weight"].T
            t[f"{block}.o_b"] = w[f"{b}out_proj.bias"]
            t[f"{block}.ln_w"] = w[f"{p}{block}_layer_norm.weight"]
            t[f"{block}.ln_b"] = w[f"{p}{block}_layer_norm.bias"]
        for m in ("fc1", "fc2"):
            t[f"{m}_w"] = w[f"{p}{m}.weight"].T
            t[f"{m}_b"] = w[f"{p}{m}.bias"]
        t["ln_w"] = w[f"{p}final_layer_norm.weight"]
        t["ln_b"] = w[f"{p}final_layer_norm.bias"]
        return t

    # -- forward ---------------------------------------------------------------------------
    def _embed(self, t: dict[str, Any], stack: str, ids: np.ndarray) -> np.ndarray:
        d = self.arch.hidden_size
        n = len(ids)
        if n > self.arch.max_positions:
            raise ValueError(f"{n} tokens, but the model has {self.arch.max_positions} positions")
        x = t[f"{stack}.tokens"][ids] * np.float32(self.embed_scale)
        if self.learned_positions:
            x = x + t[f"{stack}.positions"][2 : n + 2]  # BART's table starts at offset 2
        else:
            pe = sinusoidal_encoding(n, d)
            x = x + np.concatenate([pe[:, 0::2], pe[:, 1::2]], axis=1).astype(np.float32)
        if self.embedding_norm:
            x = layer_norm(x, t[f"{stack}.ln_w"], t[f"{stack}.ln_b"], 1e-5)
        return x.astype(np.float32, copy=False)

    def embed(self, t: dict[str, Any], ids: np.ndarray) -> np.ndarray:
        return self._embed(t, "encoder", ids)

    def embed_decoder(self, t: dict[str, Any], ids: np.ndarray) -> np.ndarray:
        return self._embed(t, "decoder", ids)

    def _self_attention(
        self, t: dict[str, Any], x: np.ndarray, causal: bool
    ) -> tuple[np.ndarray, LayerResult]:
        a = self.arch
        d = a.hidden_size
        qkv = linear(x, t["self_attn.qkv_w"], t["self_attn.qkv_b"])
        q, k, v = (heads(qkv[:, j * d : (j + 1) * d], a.heads) for j in range(3))
        ctx, res = attend(q, k, v, causal=causal)
        out = linear(ctx, t["self_attn.o_w"], t["self_attn.o_b"]) + x
        return layer_norm(out, t["self_attn.ln_w"], t["self_attn.ln_b"], 1e-5), res

    def _mlp(self, t: dict[str, Any], x: np.ndarray) -> np.ndarray:
        h = linear(self.act(linear(x, t["fc1_w"], t["fc1_b"])), t["fc2_w"], t["fc2_b"])
        return layer_norm(h + x, t["ln_w"], t["ln_b"], 1e-5)

    def layer(self, i: int, t: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, LayerResult]:
        x, res = self._self_attention(t, x, causal=False)
        return self._mlp(t, x), res

    def decoder_layer(
        self, i: int, t: dict[str, Any], y: np.ndarray, memory: np.ndarray
    ) -> tuple[np.ndarray, LayerResult, LayerResult]:
        a = self.arch
        d = a.hidden_size
        y, own = self._self_attention(t, y, causal=True)
        q = heads(linear(y, t["encoder_attn.q_w"], t["encoder_attn.q_b"]), a.heads)  # (H, Lt, E)
        kv = linear(memory, t["encoder_attn.kv_w"], t["encoder_attn.kv_b"])  # (Ls, 2D)
        k, v = heads(kv[:, :d], a.heads), heads(kv[:, d:], a.heads)  # (H, Ls, E)
        ctx, cross = attend(q, k, v, causal=False)
        out = linear(ctx, t["encoder_attn.o_w"], t["encoder_attn.o_b"]) + y
        y = layer_norm(out, t["encoder_attn.ln_w"], t["encoder_attn.ln_b"], 1e-5)
        return self._mlp(t, y), own, cross

    def logits(self, t: dict[str, Any], y: np.ndarray) -> np.ndarray:
        return linear(y, t["lm_w"], t["lm_b"])
