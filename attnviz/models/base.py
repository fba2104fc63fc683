"""What every model family provides: its shape read from config.json, the tensors it needs
(names and shapes, checked against the files before any data is read), how it arranges each
layer's float32 tensors, and a forward pass that hands back each layer's queries, keys, values
and attention probabilities.

Attention itself is always :func:`attnviz.scaled_dot_product_attention` with
``return_weights=True``: the numbers shown are those of the compute core the app teaches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from attnviz.backends import scaled_dot_product_attention
from attnviz.core.heads import merge_heads, split_heads
from attnviz.models.config import Config
from attnviz.models.errors import ModelError
from attnviz.models.nn import ACTIVATIONS
from attnviz.models.weights import TensorInfo, Tensors

__all__ = ["Architecture", "Family", "LayerResult", "Past", "attend"]

# A layer's keys and values so far, (Hkv, S, E) and (Hkv, S, Ev): its KV cache. A decoder layer
# given one reads its new rows after them (positions S, S+1, …) and hands back the longer pair.
Past = tuple[np.ndarray, np.ndarray]


FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")


@dataclass(frozen=True)
class Architecture:
    """The numbers that describe a model, read from its config.json."""

    family: str  # "bert", "gpt2" or "llama"
    model_type: str  # config.json's model_type ("bert", "roberta", "gpt2", "llama", "qwen3" …)
    architecture: str  # config.json's architectures[0], e.g. "BertForMaskedLM"
    layers: int
    heads: int  # query heads per layer
    kv_heads: int  # key/value heads per layer (< heads: grouped-query attention)
    hidden_size: int
    head_dim: int
    intermediate_size: int
    max_positions: int
    vocab_size: int
    causal: bool
    positions: str  # how order enters: "learned absolute" or "rotary (RoPE, θ = ...)"
    activation: str
    norm: str  # "LayerNorm (post)", "LayerNorm (pre)", "RMSNorm (pre)"


@dataclass(frozen=True)
class LayerResult:
    """One attention layer of one forward pass."""

    q: np.ndarray  # (Hq, L, E), after RoPE where the model uses it
    k: np.ndarray  # (Hkv, L, E), after RoPE; not repeated over the query group
    v: np.ndarray  # (Hkv, L, Ev)
    weights: np.ndarray  # (Hq, L, L) attention probabilities
    scale: float
    window: tuple[int | None, int | None] | None
    softcap: float | None = None  # attention-logit soft-capping (Gemma 2)
    bias: np.ndarray | None = None  # (H, L, S) added to the logits (T5's position bias)


def attend(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    causal: bool,
    scale: float | None = None,
    window: tuple[int | None, int | None] | None = None,
    softcap: float | None = None,
    bias: np.ndarray | None = None,
    past: Past | None = None,
) -> tuple[np.ndarray, LayerResult]:
    """Attention through the compute core; returns (merged output (L, Hq*Ev), LayerResult).

    ``past``: the layer's cached keys and values (S earlier positions), read before ``k`` and
    ``v``; the L queries then sit at positions S … S+L-1, and causality and the window count
    from there. The LayerResult's k and v are the whole sequence's (the next step's past).
    """
    mask, is_causal, win = bias, causal, window
    if past is not None and past[0].shape[1]:
        k = np.concatenate([past[0], k], axis=1)
        v = np.concatenate([past[1], v], axis=1)
        mask = _offset_mask(q.shape[1], k.shape[1], causal, window)  # bottom-right aligned
        is_causal, win = False, None
    out, w = scaled_dot_product_attention(
        q, k, v, is_causal=is_causal, scale=scale, enable_gqa=q.shape[0] != k.shape[0],
        attn_mask=mask, window=win, softcap=softcap, return_weights=True,
        method="standard",
    )  # fmt: skip
    s = 1.0 / float(np.sqrt(q.shape[-1])) if scale is None else scale
    return merge_heads(out), LayerResult(q, k, v, w, s, window, softcap, bias)


def _offset_mask(
    n: int, s: int, causal: bool, window: tuple[int | None, int | None] | None
) -> np.ndarray:
    """(n, s) True where query row r (at position s - n + r) may see key j."""
    pos = np.arange(s - n, s)[:, None]
    j = np.arange(s)[None, :]
    ok = j <= pos if causal else np.ones((n, s), bool)
    if window is not None:
        left, right = window
        if left is not None:
            ok &= j >= pos - left
        if right is not None:
            ok &= j <= pos + right
    return ok


def heads(x: np.ndarray, n: int) -> np.ndarray:
    """(L, n*E) -> (n, L, E), contiguous so the core's batched matmuls need no copies."""
    return np.ascontiguousarray(split_heads(x, n))


class Family(ABC):
    """A model family: parse config.json, name the tensors, run the forward pass.

    Weights reach a family one layer at a time. :meth:`bind_shared` arranges what every pass
    needs (embeddings: looked up row by row, never converted whole); :meth:`bind_layer`
    arranges layer ``i``'s float32 tensors (fused q/k/v, transposes) into a dict that
    :meth:`layer` reads. The loader decides when a layer is bound and how long its dict is
    kept (see ``attnviz.models.model``); a family holds no weights itself.
    """

    name: ClassVar[str]
    model_types: ClassVar[tuple[str, ...]]
    # A tensor name every checkpoint of the family has; what precedes it is the name prefix
    # ("bert.", "transformer.", "model." or nothing).
    anchor: ClassVar[str]

    def __init__(self, arch: Architecture, config: Config) -> None:
        self.arch = arch
        self.config = config

    @classmethod
    @abstractmethod
    def from_config(cls, config: Config) -> Family:
        """Read and check the family's hyper-parameters."""

    def shared_shapes(self) -> dict[str, tuple[int, ...]]:
        """The tensors outside the layers (name without prefix) and their expected shapes."""
        raise NotImplementedError

    def layer_shapes(self, i: int) -> dict[str, tuple[int, ...]]:
        """Layer ``i``'s tensors (name without prefix) and their expected shapes."""
        raise NotImplementedError

    @property
    def blocks(self) -> int:
        """How many units of weights are bound one at a time (:meth:`bind_layer`): the layers
        (an encoder–decoder: the encoder's, then the decoder's)."""
        return self.arch.layers

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor the forward pass reads (name without prefix) and its expected shape."""
        out = self.shared_shapes()
        for i in range(self.blocks):
            out.update(self.layer_shapes(i))
        return out

    def aliases(self, name: str) -> tuple[str, ...]:
        """Other names a tensor may be stored under in older checkpoints."""
        return ()

    def bind_shared(self, w: Tensors) -> dict[str, Any]:
        """What :meth:`embed` reads, from ``w`` (float32 tensors by unprefixed name)."""
        raise NotImplementedError

    def bind_layer(self, i: int, w: Tensors) -> dict[str, Any]:
        """Layer ``i``'s float32 tensors from ``w``, arranged as :meth:`layer` wants them."""
        raise NotImplementedError

    @abstractmethod
    def embed(self, t: dict[str, Any], ids: np.ndarray) -> np.ndarray:
        """(L,) token ids -> (L, D) input of the first layer; ``t`` from :meth:`bind_shared`."""

    @abstractmethod
    def layer(self, i: int, t: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, LayerResult]:
        """Layer ``i``: (L, D) -> (L, D) and what its attention saw; ``t`` from
        :meth:`bind_layer`."""

    # -- generation: decoders that predict the next token ----------------------------------
    # A decoder family sets these and implements embed(start=), layer(past=), bind_head and
    # logits; the rest leave `generates` False.
    generates: ClassVar[bool] = False
    final_norm: ClassVar[tuple[str, ...]] = ()  # the final norm's tensors, under the prefix
    output_name: ClassVar[str] = "lm_head.weight"  # the output layer, at the file's root
    tied_default: ClassVar[bool] = False  # transformers' tie_word_embeddings default
    prefix: str = ""  # the name prefix resolve() found ("model.", "transformer.", "")

    def head_shapes(self) -> dict[str, tuple[int, ...]]:
        """The final norm's and output layer's tensors (unprefixed) and their shapes."""
        d, v = self.arch.hidden_size, self.arch.vocab_size
        return {**dict.fromkeys(self.final_norm, (d,)), self.output_name: (v, d)}

    @property
    def head_tied(self) -> bool:
        """Whether the output layer is the token embedding (tie_word_embeddings)."""
        return self.config.bool("tie_word_embeddings", default=self.tied_default)

    def resolve_head(self, tensors: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
        """The final norm and output layer found in the files (after :meth:`resolve`), those
        of the right shape and a float dtype; absent ones are left out (see
        :meth:`head_problem`)."""
        if not self.generates:
            return {}
        out: dict[str, TensorInfo] = {}
        for name, shape in self.head_shapes().items():
            where = ("", self.prefix) if name == self.output_name else (self.prefix,)
            for p in where:
                t = tensors.get(p + name)
                if t is not None and t.shape == shape and t.dtype in FLOAT_DTYPES:
                    out[name] = t
                    break
        return out

    def head_problem(self, found: dict[str, TensorInfo]) -> str | None:
        """Why this model cannot predict tokens (None: it can), given :meth:`resolve_head`."""
        if not self.generates:
            kind = "an encoder" if not self.arch.causal else "not a decoder-only model"
            return f"{self.arch.architecture} is {kind}: it does not predict the next token"
        missing = [n for n in self.final_norm if n not in found]
        if missing:
            return (f"the files lack the final norm ({self.prefix}{missing[0]}) that turns the "
                    "last layer into next-token scores")  # fmt: skip
        if self.output_name not in found and not self.head_tied:
            v, d = self.arch.vocab_size, self.arch.hidden_size
            return (f"the output layer is not tied to the embeddings (tie_word_embeddings is "
                    f"false), but no {self.output_name} of shape {(v, d)} is stored: the files "
                    "hold the model without its language-model head")  # fmt: skip
        return None

    def bind_head(self, w: Tensors) -> dict[str, Any]:
        """The final norm and the output layer (D, V), float32; ``w`` holds the head's
        tensors and the token embedding (:attr:`anchor`)."""
        out = self.output_name if self.output_name in w and not self.head_tied else self.anchor
        t: dict[str, Any] = {"out_w": w[out].T}
        for n in self.final_norm:
            t[n] = w[n]
        return t

    def logits(self, t: dict[str, Any], x: np.ndarray) -> np.ndarray:
        """(L, D) last-layer output -> (L, V) next-token logits; ``t`` from :meth:`bind_head`."""
        raise NotImplementedError

    # -- shared checks ---------------------------------------------------------------------

    @staticmethod
    def activation(config: Config, *keys: str, default: str) -> str:
        act = config.str(*keys, default=default)
        if act not in ACTIVATIONS:
            raise config.error(
                f"activation {act!r} is not supported (supported: {', '.join(ACTIVATIONS)})"
            )
        return act

    @staticmethod
    def split(config: Config, hidden: int, heads: int) -> int:
        if hidden % heads:
            raise config.error(f"hidden size {hidden} does not split into {heads} heads")
        return hidden // heads

    def resolve(self, tensors: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
        """Find every needed tensor in the files and check its shape and dtype.

        Returns {unprefixed name: TensorInfo}. Raises ModelError naming the file and tensor.
        """
        prefixes = sorted(
            {
                n[: -len(self.anchor)]
                for n in tensors
                if n.endswith(self.anchor)
                and (n == self.anchor or n[: -len(self.anchor)].endswith("."))
            },
            key=len,
        )
        if not prefixes:
            files = sorted({t.file.name for t in tensors.values()}) or ["the weight files"]
            raise ModelError(
                f"{', '.join(files)} hold no tensor named '…{self.anchor}': these are not the "
                f"weights of a {self.arch.architecture} ({self.name}-style) model",
                next(iter(tensors.values())).file if tensors else None,
            )
        want = self.tensor_shapes()
        best: tuple[int, str, list[str]] | None = None
        for p in prefixes:
            missing = [n for n in want if self._find(tensors, p, n) is None]
            if not missing:
                self.prefix = p
                return self._checked(tensors, p, want)
            if best is None or len(missing) < best[0]:
                best = (len(missing), p, missing)
        assert best is not None
        _, p, missing = best
        some = next(t.file for n, t in tensors.items() if n.endswith(self.anchor))
        listed = ", ".join(p + m for m in missing[:4]) + (" …" if len(missing) > 4 else "")
        raise ModelError(
            f"{some.name} lacks {len(missing)} tensor(s) that config.json implies "
            f"({self.arch.layers} layers): {listed}",
            some,
        )

    def _find(self, tensors: dict[str, TensorInfo], prefix: str, name: str) -> TensorInfo | None:
        for n in (name, *self.aliases(name)):
            t = tensors.get(prefix + n)
            if t is not None:
                return t
        return None

    def _checked(
        self, tensors: dict[str, TensorInfo], prefix: str, want: dict[str, tuple[int, ...]]
    ) -> dict[str, TensorInfo]:
        out: dict[str, TensorInfo] = {}
        for name, shape in want.items():
            t = self._find(tensors, prefix, name)
            assert t is not None
            if t.shape != shape:
                raise ModelError(
                    f"tensor {t.name!r} in {t.file.name} has shape {t.shape}, but config.json "
                    f"implies {shape}",
                    t.file,
                )
            if t.dtype not in FLOAT_DTYPES:
                raise ModelError(
                    f"tensor {t.name!r} in {t.file.name} is {t.dtype}; attnviz reads float "
                    "weights (F32, F16, BF16, F64) only, not quantised or integer ones",
                    t.file,
                )
            out[name] = t
        return out
