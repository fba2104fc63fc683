"""BERT-style encoders: BERT, sentence-transformers models such as MiniLM (same layers, weights
saved without the ``bert.`` prefix), RoBERTa (and XLM-R, CamemBERT) and DistilBERT.

RoBERTa numbers positions from the padding index: a token's position is padding_idx + 1 + its
index among the non-padding tokens, and a padding token sits at padding_idx (transformers'
``create_position_ids_from_input_ids``); it has one token type. DistilBERT has no token types
and names its tensors differently (q_lin …, sa_layer_norm, ffn.lin1); the layers are BERT's.

    x = LayerNorm(word[ids] + position[0..L-1] + token_type[0])
    per layer:  a = LayerNorm(x + Attention(x) Wo)          (post-norm)
                x = LayerNorm(a + W2 GELU(W1 a))

Every query sees every token ([CLS] and [SEP] included): no mask for one unpadded sentence.
One sentence is segment 0 (as transformers assumes when no token_type_ids are given); a
sentence pair ([CLS] A [SEP] B [SEP]) puts B and its [SEP] in segment 1, each token adding its
segment's row of the token-type table (models with two or more token types).

References
----------
- Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers", 2019.
- transformers ``models/bert/modeling_bert.py`` (the eager path this reproduces).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attnviz.models.base import Architecture, Family, LayerResult, attend, heads
from attnviz.models.config import Config
from attnviz.models.nn import ACTIVATIONS, layer_norm, linear
from attnviz.models.weights import Tensors

__all__ = ["Bert", "DistilBert"]

ROBERTA_TYPES = ("roberta", "xlm-roberta", "camembert")
# BERT's names -> DistilBERT's, in this order ("attention.output.dense." before "output.dense.").
_DISTIL_NAMES = (
    ("encoder.layer.", "transformer.layer."),
    ("attention.self.query.", "attention.q_lin."),
    ("attention.self.key.", "attention.k_lin."),
    ("attention.self.value.", "attention.v_lin."),
    ("attention.output.dense.", "attention.out_lin."),
    ("attention.output.LayerNorm.", "sa_layer_norm."),
    ("intermediate.dense.", "ffn.lin1."),
    ("output.dense.", "ffn.lin2."),
    ("output.LayerNorm.", "output_layer_norm."),
)


class Bert(Family):
    name = "bert"
    model_types = ("bert", *ROBERTA_TYPES)
    anchor = "embeddings.word_embeddings.weight"

    def __init__(
        self, arch: Architecture, config: Config, eps: float, type_vocab: int,
        padding_idx: int | None = None, table: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__(arch, config)
        self.eps = eps
        self.type_vocab = type_vocab
        self.padding_idx = padding_idx  # RoBERTa: positions count from here (None: from 0)
        self.table = table if table is not None else arch.max_positions  # position rows
        self.act = ACTIVATIONS[arch.activation]

    @classmethod
    def from_config(cls, config: Config) -> Bert:
        d = config.int("hidden_size")
        h = config.int("num_attention_heads")
        pos_type = config.str("position_embedding_type", default="absolute")
        if pos_type != "absolute":
            raise config.error(
                f"position_embedding_type {pos_type!r} is not supported (only 'absolute')"
            )
        causal = config.bool("is_decoder", default=False)
        mt = config.model_type or "bert"
        table = config.int("max_position_embeddings", default=512)
        padding_idx = None
        positions = "learned absolute"
        if mt in ROBERTA_TYPES:
            padding_idx = config.int("pad_token_id", default=1, minimum=0)
            if padding_idx + 1 >= table:
                raise config.error(
                    f"pad_token_id {padding_idx} leaves no position in a table of {table}"
                )
            positions = f"learned absolute, from {padding_idx + 1} (after the padding index)"
        arch = Architecture(
            family=cls.name,
            model_type=mt,
            architecture=config.architecture or "BertModel",
            layers=config.int("num_hidden_layers"),
            heads=h,
            kv_heads=h,
            hidden_size=d,
            head_dim=cls.split(config, d, h),
            intermediate_size=config.int("intermediate_size"),
            max_positions=table - (padding_idx + 1 if padding_idx is not None else 0),
            vocab_size=config.int("vocab_size"),
            causal=causal,
            positions=positions,
            activation=cls.activation(config, "hidden_act", default="gelu"),
            norm="LayerNorm (post)",
        )
        eps = config.float("layer_norm_eps", default=1e-12)
        types = config.int("type_vocab_size", default=1 if padding_idx is not None else 2)
        return cls(arch, config, eps, types, padding_idx, table)

    def shared_shapes(self) -> dict[str, tuple[int, ...]]:
        a = self.arch
        d = a.hidden_size
        out: dict[str, tuple[int, ...]] = {
            "embeddings.word_embeddings.weight": (a.vocab_size, d),
            "embeddings.position_embeddings.weight": (self.table, d),
            "embeddings.LayerNorm.weight": (d,),
            "embeddings.LayerNorm.bias": (d,),
        }
        if self.type_vocab:  # DistilBERT has none
            out["embeddings.token_type_embeddings.weight"] = (self.type_vocab, d)
        return out

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        d, inner = self.arch.hidden_size, self.arch.intermediate_size
        p = f"encoder.layer.{i}."
        out: dict[str, tuple[int, ...]] = {}
        for m in ("query", "key", "value"):
            out[f"{p}attention.self.{m}.weight"] = (d, d)
            out[f"{p}attention.self.{m}.bias"] = (d,)
        out[f"{p}attention.output.dense.weight"] = (d, d)
        out[f"{p}attention.output.dense.bias"] = (d,)
        out[f"{p}attention.output.LayerNorm.weight"] = (d,)
        out[f"{p}attention.output.LayerNorm.bias"] = (d,)
        out[f"{p}intermediate.dense.weight"] = (inner, d)
        out[f"{p}intermediate.dense.bias"] = (inner,)
        out[f"{p}output.dense.weight"] = (d, inner)
        out[f"{p}output.dense.bias"] = (d,)
        out[f"{p}output.LayerNorm.weight"] = (d,)
        out[f"{p}output.LayerNorm.bias"] = (d,)
        return out

    def aliases(self, name: str) -> tuple[str, ...]:
        # TF-converted checkpoints name LayerNorm's scale and shift gamma and beta.
        if "LayerNorm." in name:
            return (name.replace(".weight", ".gamma").replace(".bias", ".beta"),)
        return ()

    def bind_shared(self, w: Tensors) -> dict[str, Any]:
        t: dict[str, Any] = {
            "word": w.rows("embeddings.word_embeddings.weight"),
            "position": w.rows("embeddings.position_embeddings.weight"),
            "ln_w": w["embeddings.LayerNorm.weight"],
            "ln_b": w["embeddings.LayerNorm.bias"],
        }
        if self.type_vocab:
            t["types"] = w.rows("embeddings.token_type_embeddings.weight")
        return t

    def bind_layer(self, i: int, w: Tensors) -> dict[str, Any]:
        p = f"encoder.layer.{i}."
        s = f"{p}attention.self."
        qkv = ("query", "key", "value")
        # torch's Linear stores (out, in); nn.linear takes its .T, a view (no copy).
        # One (D, 3D) product instead of three: [q | k | v] along the output axis.
        return {
            "qkv_w": w.concat(f"{s}{m}.weight" for m in qkv).T,
            "qkv_b": w.concat(f"{s}{m}.bias" for m in qkv),
            "o_w": w[f"{p}attention.output.dense.weight"].T,
            "o_b": w[f"{p}attention.output.dense.bias"],
            "ln1_w": w[f"{p}attention.output.LayerNorm.weight"],
            "ln1_b": w[f"{p}attention.output.LayerNorm.bias"],
            "fc1_w": w[f"{p}intermediate.dense.weight"].T,
            "fc1_b": w[f"{p}intermediate.dense.bias"],
            "fc2_w": w[f"{p}output.dense.weight"].T,
            "fc2_b": w[f"{p}output.dense.bias"],
            "ln2_w": w[f"{p}output.LayerNorm.weight"],
            "ln2_b": w[f"{p}output.LayerNorm.bias"],
        }

    def position_ids(self, ids: np.ndarray) -> np.ndarray:
        """0..L-1; RoBERTa: padding_idx + 1 + the count of non-padding tokens so far, and
        padding_idx for a padding token."""
        if self.padding_idx is None:
            return np.arange(len(ids))
        real = np.asarray(ids) != self.padding_idx
        return np.cumsum(real) * real + self.padding_idx

    def embed(
        self, t: dict[str, Any], ids: np.ndarray, segments: np.ndarray | None = None
    ) -> np.ndarray:
        """``segments``: each token's segment (token type id), None for one sentence."""
        x = t["word"][ids] + t["position"][self.position_ids(ids)]  # (L, D)
        if "types" in t:  # one sentence: every token in segment 0
            x = x + t["types"][np.zeros(len(ids), np.int64) if segments is None else segments]
        elif segments is not None and np.any(segments):
            raise ValueError(f"{self.arch.architecture} has no token types for a second segment")
        return layer_norm(x, t["ln_w"], t["ln_b"], self.eps)

    def layer(self, i: int, t: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, LayerResult]:
        a = self.arch
        d = a.hidden_size
        qkv = linear(x, t["qkv_w"], t["qkv_b"])  # (L, 3D)
        q = heads(qkv[:, :d], a.heads)  # (H, L, E)
        k = heads(qkv[:, d : 2 * d], a.heads)
        v = heads(qkv[:, 2 * d :], a.heads)
        ctx, res = attend(q, k, v, causal=a.causal)  # (L, D)
        x = layer_norm(linear(ctx, t["o_w"], t["o_b"]) + x, t["ln1_w"], t["ln1_b"], self.eps)
        h = self.act(linear(x, t["fc1_w"], t["fc1_b"]))  # (L, I)
        h = linear(h, t["fc2_w"], t["fc2_b"])
        h += x
        return layer_norm(h, t["ln2_w"], t["ln2_b"], self.eps), res


class DistilBert(Bert):
    """DistilBERT: BERT's post-norm layers under other names, and no token types."""

    name = "bert"
    model_types = ("distilbert",)
    anchor = "embeddings.word_embeddings.weight"

    @classmethod
    def from_config(cls, config: Config) -> DistilBert:
        d = config.int("dim", "hidden_size")
        h = config.int("n_heads", "num_attention_heads")
        table = config.int("max_position_embeddings", default=512)
        arch = Architecture(
            family=cls.name,
            model_type="distilbert",
            architecture=config.architecture or "DistilBertModel",
            layers=config.int("n_layers", "num_hidden_layers"),
            heads=h,
            kv_heads=h,
            hidden_size=d,
            head_dim=cls.split(config, d, h),
            intermediate_size=config.int("hidden_dim", "intermediate_size"),
            max_positions=table,
            vocab_size=config.int("vocab_size"),
            causal=False,
            positions="learned absolute (no token types)",
            activation=cls.activation(config, "activation", "hidden_act", default="gelu"),
            norm="LayerNorm (post)",
        )
        return cls(arch, config, 1e-12, 0, None, table)  # DistilBERT's LayerNorm eps is fixed

    def aliases(self, name: str) -> tuple[str, ...]:
        """BERT's tensor names as DistilBERT spells them (the layers are the same)."""
        for bert, distil in _DISTIL_NAMES:
            name = name.replace(bert, distil)
        return (name,)
