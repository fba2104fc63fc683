"""The KV-cache panel's numbers: the calculator by head layout, a toy cached decode, and a real
model's own cache while it generates.

Calculator: ``kv_cache_bytes`` (exact integers) for MHA (every query head has its own key/value
head), GQA (the chosen number of key/value heads) and MQA (one), with the head-sharing map of
each. Decode: the toy decoder of :mod:`attnviz.lessons.toy_decoder` reads the session's tokens
one at a time; the cache after ``decode_tokens`` steps and the check against recomputing.
Real: at a generation's step (:class:`~attnviz.state.source.GenerationSource`), the model's
K and V of the chosen layer, the whole cache's bytes in the model's dtype with MHA, its own
layout and MQA, and the time per token with the cache and recomputing without it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented

from attnviz.core.heads import kv_head_for
from attnviz.core.kv_cache import kv_cache_bytes
from attnviz.lessons.toy_decoder import N_KV_HEADS, N_LAYERS, TOY_HEAD_DIM, run_toy_decode
from attnviz.state.measure import human_bytes
from attnviz.state.request import Result
from attnviz.state.source import GenerationSource
from attnviz.state.views import Params, register_view, whole_number

__all__ = [
    "DTYPES",
    "MAX_DECODE_TOKENS",
    "PRESETS",
    "KVCacheData",
    "KVCacheParams",
    "Layout",
    "RealCache",
    "chosen_layout",
    "compute",
    "matching_preset",
]

DTYPES: dict[str, float] = {"fp32": 4, "fp16": 2, "bf16": 2, "fp8": 1}
MAX_SEQ_LEN = 128 * 1024
MAX_DECODE_TOKENS = 64  # the toy decode shows at most this many cache rows

# Model shapes: (layers, query heads, key/value heads, head dim), from each model's published
# config.json on the Hugging Face Hub (head dim = hidden_size / num_attention_heads):
#   meta-llama/Llama-2-7b-hf       num_hidden_layers 32, num_attention_heads 32,
#                                  num_key_value_heads 32, hidden_size 4096
#   meta-llama/Llama-2-70b-hf      80 layers, 64 heads, 8 key/value heads, hidden_size 8192
#   meta-llama/Meta-Llama-3-8B     32 layers, 32 heads, 8 key/value heads, hidden_size 4096
#   mistralai/Mistral-7B-v0.1      32 layers, 32 heads, 8 key/value heads, hidden_size 4096
#   tiiuae/falcon-7b               n_layer 32, n_head 71, multi_query true (1 key/value head),
#                                  hidden_size 4544
#   openai-community/gpt2          n_layer 12, n_head 12, n_embd 768
# The seed explainer's calculator: d_model 4096, d_k 128 (so 32 query heads), 32 layers, fp16,
# and a GQA figure that implies 8 key/value heads.
PRESETS: dict[str, tuple[int, int, int, int]] = {
    "Seed explainer (d_model 4096, d_k 128)": (32, 32, 8, 128),
    "Llama-2-7B": (32, 32, 32, 128),
    "Llama-2-70B": (80, 64, 8, 128),
    "Llama-3-8B": (32, 32, 8, 128),
    "Mistral-7B-v0.1": (32, 32, 8, 128),
    "Falcon-7B": (32, 71, 1, 64),
    "GPT-2 small": (12, 12, 12, 64),
}
SHAPE_FIELDS = ("layers", "q_heads", "kv_heads", "head_dim")

_LIMITS = {
    "layers": (1, 1024),
    "q_heads": (1, 1024),
    "kv_heads": (1, 1024),
    "head_dim": (1, 4096),
    "seq_len": (1, MAX_SEQ_LEN),
    "batch": (1, 4096),
    "decode_tokens": (0, MAX_DECODE_TOKENS),
}
_NAMES = {
    "layers": "layers",
    "q_heads": "query heads",
    "kv_heads": "KV heads",
    "head_dim": "head dim",
    "seq_len": "sequence length",
    "batch": "batch",
    "decode_tokens": "decoded tokens",
}


def _sharing_error(kv: int, q: int) -> str:
    return (
        f"{kv} KV heads cannot be shared evenly by {q} query heads: "
        f"the number of KV heads must divide {q}"
    )


@evented
@dataclass
class KVCacheParams(Params):
    """The calculator's model shape and length, and how many toy tokens are decoded."""

    layers: int = 32
    q_heads: int = 32
    kv_heads: int = 8
    head_dim: int = 128
    seq_len: int = 4096
    batch: int = 1
    dtype: str = "fp16"
    decode_tokens: int = 0

    def validate(self, name: str, value: Any) -> Any:
        if name == "dtype":
            if value not in DTYPES:
                raise ValueError(f"dtype must be one of {list(DTYPES)}, got {value!r}")
            return value
        if name not in _LIMITS:
            return value
        value = whole_number(_NAMES[name], value, *_LIMITS[name])
        if not getattr(self, "_trusted", False):  # apply() checks the pair as a whole
            if name == "kv_heads" and self.q_heads % value:
                raise ValueError(_sharing_error(value, self.q_heads))
            if name == "q_heads" and value % self.kv_heads:
                raise ValueError(
                    f"{value} query heads cannot share {self.kv_heads} KV heads evenly: "
                    f"choose a multiple of {self.kv_heads}, or change the KV heads first"
                )
        return value

    def apply(self, **values: Any) -> None:
        """Set several fields as one change (a preset): all are checked first, or none is set."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown calculator fields {sorted(unknown)}")
        object.__setattr__(self, "_trusted", True)  # each field alone; the pair below
        try:
            checked = {name: self.validate(name, v) for name, v in values.items()}
        finally:
            object.__setattr__(self, "_trusted", False)
        q = checked.get("q_heads", self.q_heads)
        kv = checked.get("kv_heads", self.kv_heads)
        if q % kv:
            raise ValueError(_sharing_error(kv, q))
        object.__setattr__(self, "_trusted", True)
        try:
            for name, value in checked.items():
                setattr(self, name, value)
        finally:
            object.__setattr__(self, "_trusted", False)

    def apply_preset(self, name: str) -> None:
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {list(PRESETS)}")
        self.apply(**dict(zip(SHAPE_FIELDS, PRESETS[name], strict=True)))


def matching_preset(p: KVCacheParams) -> str | None:
    """The preset whose shape the parameters have, if any."""
    shape = tuple(getattr(p, f) for f in SHAPE_FIELDS)
    return next((name for name, s in PRESETS.items() if s == shape), None)


@dataclass(frozen=True)
class Layout:
    """One head layout's cache: KV heads, exact bytes, and which KV head each query head reads."""

    name: str  # "MHA", "GQA", "MQA"
    kv_heads: int
    bytes: int
    human: str
    kv_of_query: np.ndarray  # (Hq,) int
    chosen: bool  # the layout the parameters describe


@dataclass(frozen=True)
class RealCache:
    """A real model's KV cache at one step of its generation."""

    model: str
    step: int
    steps: int
    layer: int  # the layer whose K and V are shown
    labels: tuple[str, ...]  # the cached tokens
    keys: np.ndarray  # (Hkv, S, E) of ``layer``
    values: np.ndarray
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    dtype: str  # the model's, as stored
    itemsize: int
    bytes: int  # the whole cache (every layer, K and V) in the model's dtype
    layouts: tuple[Layout, ...]  # MHA, GQA (the model's KV heads), MQA at this length
    cached: bool  # whether this generation decoded with the cache
    ms_per_token: float | None  # this generation's median per token (steps after the first)
    pass_ms: float | None  # one whole pass over these tokens: what recomputing costs

    @property
    def tokens(self) -> int:
        return self.keys.shape[1]

    @property
    def per_token(self) -> int:
        """Bytes the cache grows by with each token."""
        return self.bytes // max(self.tokens, 1)


@dataclass(frozen=True)
class KVCacheData:
    params: KVCacheParams
    preset: str | None
    dtype_bytes: float
    bytes_per_token: int  # all layers, K and V, at the chosen KV heads
    layouts: tuple[Layout, ...]
    # toy decode
    tokens: tuple[str, ...]  # the tokens fed so far
    decode_limit: int  # how many tokens the toy decode can take (tokens of the text, capped)
    trace: Any  # attnviz.lessons.toy_decoder.DecodeTrace
    toy_shape: tuple[int, int, int]  # (layers, KV heads, head dim) of the toy decoder
    real: RealCache | None = None  # a generating model's own cache, at the timeline's step

    @property
    def layout(self) -> dict[str, Layout]:
        return {lay.name: lay for lay in self.layouts}


def chosen_layout(p: KVCacheParams) -> str:
    """What the parameters' KV heads amount to: MHA (one per query head), MQA (one) or GQA."""
    if p.kv_heads == p.q_heads:
        return "MHA"
    return "MQA" if p.kv_heads == 1 else "GQA"


def _layouts(p: KVCacheParams, dtype_bytes: float) -> tuple[Layout, ...]:
    out = []
    chosen = chosen_layout(p)
    for name, hkv in (("MHA", p.q_heads), ("GQA", p.kv_heads), ("MQA", 1)):
        b = kv_cache_bytes(p.layers, hkv, p.head_dim, p.seq_len, dtype_bytes, batch=p.batch)
        kv_of_q = np.array([kv_head_for(h, p.q_heads, hkv) for h in range(p.q_heads)])
        out.append(Layout(name, hkv, b, human_bytes(b), kv_of_q, chosen=name == chosen))
    return tuple(out)


@register_view("kv_cache", params=KVCacheParams)
def compute(result: Result, params: KVCacheParams) -> KVCacheData:
    request = result.request
    if not request.source.caps.has_qkv:
        raise ValueError(request.source.caps.no_qkv_reason)
    dtype_bytes = DTYPES[params.dtype]
    per_token = kv_cache_bytes(params.layers, params.kv_heads, params.head_dim, 1, dtype_bytes)
    limit = min(len(request.tokens), MAX_DECODE_TOKENS)
    steps = min(params.decode_tokens, limit)
    trace = run_toy_decode(np.asarray(request.x)[:steps], steps)
    real = _real_cache(result) if isinstance(request.source, GenerationSource) else None
    return KVCacheData(
        real=real,
        params=params,
        preset=matching_preset(params),
        dtype_bytes=dtype_bytes,
        bytes_per_token=per_token,
        layouts=_layouts(params, dtype_bytes),
        tokens=tuple(request.tokens[:steps]),
        decode_limit=limit,
        trace=trace,
        toy_shape=(N_LAYERS, N_KV_HEADS, TOY_HEAD_DIM),
    )


def _real_cache(result: Result) -> RealCache:
    request = result.request
    source = request.source
    assert isinstance(source, GenerationSource)
    gen, index = source.generation, source.step
    request.source.trace()  # the step's pass (cached): its time is the recomputing cost
    cache = gen.cache_at(index)
    info = gen.model.info
    shape = KVCacheParams(
        layers=info.layers, q_heads=info.heads, kv_heads=info.kv_heads, head_dim=info.head_dim,
        seq_len=max(cache.tokens, 1), batch=1,
        dtype="fp32" if cache.itemsize == 4 else "bf16" if "bfloat16" in info.dtype else "fp16",
    )  # fmt: skip
    layer = min(request.layer, info.layers - 1)
    pass_s = gen.pass_seconds.get(index)
    return RealCache(
        model=info.name, step=index, steps=len(gen.steps), layer=layer,
        labels=gen.encoding(cache.tokens).labels, keys=cache.keys[layer],
        values=cache.values[layer], layers=info.layers, heads=info.heads,
        kv_heads=info.kv_heads, head_dim=info.head_dim, dtype=info.dtype,
        itemsize=cache.itemsize, bytes=cache.bytes(), layouts=_layouts(shape, cache.itemsize),
        cached=gen.cached, ms_per_token=gen.ms_per_token(),
        pass_ms=None if pass_s is None else pass_s * 1e3,
    )  # fmt: skip
