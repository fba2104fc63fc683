"""Loading a model folder and running it: :func:`load` -> :class:`Model`, whose
:meth:`Model.forward` returns a :class:`ModelTrace` with every layer's attention.

Loading checks everything it can before reading tensor data: config.json, the family, every
needed tensor's presence, shape and dtype (from the safetensors headers), the tokenizer, and
that the model fits in memory. Then it maps the safetensors files and reads nothing more: each
layer's tensors become float32 (fused, transposed: the family's ``bind_layer``) when that layer
first runs. Converted layers are kept while they fit in a memory budget (a share of the memory
available at load time); a layer beyond it is converted again on every pass and dropped after,
so a model whose float32 copy does not fit still runs, in about its file size, one float32
layer and the activations.

Measured on a 1.1 B-parameter bf16 model (``benchmarks/model_1b.py``, docs/benchmarks.md),
converting every layer again costs 0.6–0.8 s a pass (+30–40 % at 128 tokens), hence the cache:
a pass over kept layers is what it was when loading converted everything, and only layers
beyond the budget pay again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from attnviz.core.attention import AttentionTrace, attention_trace
from attnviz.core.heads import kv_head_for
from attnviz.models.base import Architecture, Family
from attnviz.models.bert import Bert, DistilBert
from attnviz.models.config import Config, read_config, text_model
from attnviz.models.errors import PICKLE_SUFFIXES, ModelError, pickle_refusal
from attnviz.models.gemma import Gemma2, Gemma3
from attnviz.models.gpt2 import GPT2
from attnviz.models.gpt_neox import GPTNeoX
from attnviz.models.llama import Llama
from attnviz.models.mixtral import Mixtral
from attnviz.models.olmo import Olmo
from attnviz.models.seq2seq import Bart
from attnviz.models.t5 import T5
from attnviz.models.tokenizer import Encoding, ModelTokenizer, load_tokenizer, tokenizer_files
from attnviz.models.weights import (
    MappedWeights,
    TensorInfo,
    Tensors,
    WeightFiles,
    open_weights,
    owned_bytes,
)

__all__ = [
    "FAMILIES",
    "Model",
    "ModelInfo",
    "ModelSpec",
    "ModelTrace",
    "Progress",
    "family_for",
    "inspect",
    "load",
]

FAMILIES: tuple[type[Family], ...] = (
    Bert,
    DistilBert,
    GPT2,
    GPTNeoX,
    Llama,
    Gemma2,
    Gemma3,
    Mixtral,
    Olmo,
    Bart,
    T5,
)
SUPPORTED = ", ".join(mt for f in FAMILIES for mt in f.model_types)
_DTYPE_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}
# progress(done, total, what): e.g. (3, 22, "layer 3 of 22 converted to float32").
Progress = Callable[[int, int, str], None]
# Of the memory left once the mapped files and one layer are counted, the share converted layers
# may keep: the rest is for the activations (a 512-token trace of a 1-B model is ~1 GiB), the
# GUI and everything else running.
CACHE_SHARE = 0.5


def family_for(config: Config) -> type[Family]:
    """The family that runs this config.json, or ModelError saying what is supported."""
    mt = config.model_type
    for fam in FAMILIES:
        if mt in fam.model_types:
            return fam
    if not mt:
        raise config.error(f"has no model_type; attnviz runs model types {SUPPORTED}")
    raise config.error(
        f"model_type {mt!r} ({config.architecture}) is not supported; attnviz runs BERT-, "
        f"RoBERTa-, DistilBERT-, GPT-2-, GPT-NeoX-, Llama-, OLMo-, BART-, Marian- and T5-style "
        f"models (model types {SUPPORTED})"
    )


def _folder_of(path: str | os.PathLike[str]) -> Path:
    p = Path(path).expanduser()
    if p.suffix.lower() in PICKLE_SUFFIXES and p.is_file():
        raise pickle_refusal(p)
    if p.is_file():
        return p.parent
    if not p.is_dir():
        raise ModelError(f"no model folder at {p}", p)
    return p


# Folder names that say nothing about the model: name it by its parent as well.
_GENERIC = frozenset({"model", "models", "checkpoint", "final", "hf", "weights", "export", "out"})


def display_name(folder: Path, config: Config | None = None) -> str:
    """What to call a model: the repository id ("org/name") of a Hugging Face cache snapshot;
    else the name config.json was saved under (``_name_or_path``, a repository id or the last
    part of a path); else the folder's name, with its parent's when it says nothing ("model")."""
    parts = folder.resolve().parts if folder.exists() else folder.parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return parts[-3][len("models--") :].replace("--", "/")
    saved = config.doc.get("_name_or_path") if config is not None else None
    if isinstance(saved, str) and saved.strip() and "\x00" not in saved:
        p = Path(saved.strip())
        if not p.is_absolute() and len(p.parts) <= 2 and ".." not in p.parts:
            return str(p)  # "org/name", as on the Hub
        if p.name and p.name.lower() not in _GENERIC:
            return p.name
    name = folder.name
    if name.lower() in _GENERIC and folder.parent.name:
        return f"{folder.parent.name}/{name}"
    return name


def _count(n: int) -> str:
    for div, unit in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if n >= div:
            return f"{n / div:.1f}{unit}"
    return str(n)


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI shows about a loaded model."""

    name: str
    path: Path
    family: str  # "bert", "gpt2" or "llama"
    model_type: str
    architecture: str
    layers: int
    heads: int
    kv_heads: int
    hidden_size: int
    head_dim: int
    max_positions: int
    vocab_size: int
    dtype: str  # as stored ("float32", "bfloat16", ...); computed in float32
    parameters: int  # in the tensors the forward pass reads (no LM head, no pooler)
    causal: bool
    positions: str
    tokenizer: str  # which tokenizer files were used

    def summary(self) -> str:
        """One line, e.g. 'all-MiniLM-L6-v2 — BERT, 6 layers × 12 heads, d=384, float32'."""
        kv = f" ({self.kv_heads} KV heads)" if self.kv_heads != self.heads else ""
        return (
            f"{self.name} — {self.architecture}, {self.layers} layers × {self.heads} heads{kv}, "
            f"d={self.hidden_size}, {self.dtype}, {_count(self.parameters)} parameters"
        )


@dataclass(frozen=True)
class ModelTrace:
    """One forward pass: tokens, and every layer's q, k, v and attention probabilities.

    Shapes (L tokens, E = head_dim):
    attentions (layers, Hq, L, L) float32, each row a probability distribution over keys;
    q (layers, Hq, L, E); k and v (layers, Hkv, L, E) — after RoPE for Llama-style models, and
    *not* repeated over query groups: query head h reads key/value head ``kv_head(h)``;
    hidden_states (layers + 1, L, D): the first layer's input, then each layer's output
    (no final norm).
    """

    tokens: tuple[str, ...]
    labels: tuple[str, ...]
    special: tuple[bool, ...]
    ids: np.ndarray  # (L,) int64
    attentions: np.ndarray
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    hidden_states: np.ndarray
    scales: tuple[float, ...]  # per layer: what multiplies q·k
    windows: tuple[tuple[int | None, int | None] | None, ...]  # per layer (sliding window)
    causal: bool
    softcaps: tuple[float | None, ...] = ()  # per layer: attention-logit soft-cap, or None
    # per layer: (H, L, L) added to the logits (T5's relative position bias), or None
    biases: tuple[np.ndarray | None, ...] = ()
    segments: tuple[int, ...] = ()  # per token: 0 sentence A, 1 sentence B (a pair); () one text

    @property
    def layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def heads(self) -> int:
        return self.attentions.shape[1]

    @property
    def kv_heads(self) -> int:
        return self.k.shape[1]

    def __len__(self) -> int:
        return len(self.tokens)

    def kv_head(self, head: int) -> int:
        """The key/value head that query head ``head`` reads (itself unless GQA/MQA)."""
        return kv_head_for(head, self.heads, self.kv_heads)

    def steps(self, layer: int, head: int) -> AttentionTrace:
        """Every intermediate of one head's attention (scores, masked scores, weights, output),
        recomputed by the compute core from this trace's q, k, v; for the Q/K/V panel."""
        if not 0 <= layer < self.layers or not 0 <= head < self.heads:
            raise IndexError(f"layer {layer}, head {head} outside {self.layers} × {self.heads}")
        kv = self.kv_head(head)
        bias = self.biases[layer] if self.biases else None
        return attention_trace(
            self.q[layer, head], self.k[layer, kv], self.v[layer, kv],
            attn_mask=None if bias is None else bias[head], is_causal=self.causal,
            scale=self.scales[layer], window=self.windows[layer],
            softcap=self.softcaps[layer] if self.softcaps else None,
        )  # fmt: skip


@dataclass(frozen=True)
class ModelSpec:
    """A model folder checked without reading tensor data (what discovery reports on)."""

    folder: Path
    config: Config
    family: Family  # parsed config, no weights yet
    weights: WeightFiles
    tensors: dict[str, TensorInfo]  # every tensor the forward pass reads, by unprefixed name
    tokenizer: str  # which tokenizer files are present
    # the final norm and output layer, where stored (decoders; read only to generate)
    head: dict[str, TensorInfo] = field(default_factory=dict)

    @property
    def generation_problem(self) -> str | None:
        """Why the model cannot predict the next token, or None when it can."""
        return self.family.head_problem(self.head)

    @property
    def arch(self) -> Architecture:
        return self.family.arch

    @property
    def float32_bytes(self) -> int:
        return sum(t.size for t in self.tensors.values()) * 4

    @property
    def mapped_bytes(self) -> int:
        """Bytes of the needed tensors as stored (what mapping the files may make resident)."""
        return sum(t.nbytes for t in self.tensors.values())

    def layer_float32_bytes(self, i: int) -> int:
        """Bytes of layer ``i``'s tensors in float32."""
        return sum(self.tensors[n].size for n in self.family.layer_shapes(i)) * 4

    @property
    def dtype(self) -> str:
        dts = sorted({t.dtype for t in self.tensors.values()})
        return " + ".join(_DTYPE_NAMES.get(d, d) for d in dts)


def inspect(path: str | os.PathLike[str]) -> ModelSpec:
    """Check a model folder (config, family, tensor names/shapes/dtypes, tokenizer files)
    without reading any tensor data. Raises ModelError naming the file and the problem."""
    folder = _folder_of(path)
    config = text_model(read_config(folder))
    family = family_for(config).from_config(config)
    weights = open_weights(folder)
    tensors = family.resolve(weights.tensors)
    head = family.resolve_head(weights.tensors)
    tok = tokenizer_files(folder)
    if tok is None:
        load_tokenizer(folder)  # raises the ModelError that names what is missing
    return ModelSpec(folder, config, family, weights, tensors, tok or "", head)


def _available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable, else physical RAM), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


class LayerWeights:
    """Each layer's float32 tensors, bound by the family from the mapped files when the layer
    first runs, and kept while the kept layers' own bytes stay within ``budget``; a layer
    beyond it is bound again on each pass (and freed by the caller after use)."""

    def __init__(self, spec: ModelSpec, mapped: MappedWeights, budget: int) -> None:
        self.spec = spec
        self.mapped = mapped
        self.budget = budget
        self.kept_bytes = 0
        self._shared: dict[str, Any] | None = None
        self._head: dict[str, Any] | None = None
        self._kept: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @property
    def kept(self) -> int:
        """How many layers are kept converted."""
        return len(self._kept)

    def fits(self, i: int) -> bool:
        """Whether layer ``i`` is kept, or would be if converted now."""
        return i in self._kept or self.kept_bytes + self.spec.layer_float32_bytes(i) <= self.budget

    def _tensors(self) -> Tensors:
        return Tensors(self.mapped, self.spec.tensors)

    def shared(self) -> dict[str, Any]:
        """What the family's ``embed`` reads (bound once; embeddings stay mapped)."""
        if self._shared is None:
            with self._lock:
                if self._shared is None:
                    self._shared = self.spec.family.bind_shared(self._tensors())
        return self._shared

    def head(self) -> dict[str, Any]:
        """The final norm and output layer, float32 (bound on the first generation step: the
        output layer, vocabulary × hidden, is the largest tensor many models have)."""
        problem = self.spec.generation_problem
        if problem is not None:
            raise ModelError(problem, self.spec.folder)
        if self._head is None:
            with self._lock:
                if self._head is None:
                    anchor = self.spec.family.anchor
                    infos = {**self.spec.head, anchor: self.spec.tensors[anchor]}
                    self._head = self.spec.family.bind_head(Tensors(self.mapped, infos))
        return self._head

    def layer(self, i: int) -> tuple[dict[str, Any], bool]:
        """Layer ``i``'s bound tensors, and whether they were converted by this call."""
        t = self._kept.get(i)
        if t is not None:
            return t, False
        with self._lock:  # one conversion at a time; another pass may have kept it meanwhile
            t = self._kept.get(i)
            if t is not None:
                return t, False
            w = self._tensors()
            t = self.spec.family.bind_layer(i, w)
            self.mapped.release(w.used.values())  # converted: the raw pages are not needed
            size = owned_bytes(t)
            if self.kept_bytes + size <= self.budget:
                self._kept[i] = t
                self.kept_bytes += size
            return t, True


class Model:
    """A trained model run by attnviz's own compute core (float32 NumPy, no torch).

    Build with :func:`load`. Thread-safe for concurrent :meth:`forward` calls: a layer's
    float32 tensors are converted under a lock and never written after.
    """

    def __init__(
        self, spec: ModelSpec, tokenizer: ModelTokenizer, weights: LayerWeights | None = None,
        progress: Progress | None = None,
    ) -> None:  # fmt: skip
        self.spec = spec
        self.family = spec.family
        self.tokenizer = tokenizer
        self.weights = weights  # None: opened for its tokenizer and description only
        self.progress = progress  # default callback for conversions during forward passes
        a = spec.arch
        self.info = ModelInfo(
            name=display_name(spec.folder, spec.config),
            path=spec.folder,
            family=a.family,
            model_type=a.model_type,
            architecture=a.architecture,
            layers=a.layers,
            heads=a.heads,
            kv_heads=a.kv_heads,
            hidden_size=a.hidden_size,
            head_dim=a.head_dim,
            max_positions=a.max_positions,
            vocab_size=a.vocab_size,
            dtype=spec.dtype,
            parameters=sum(t.size for t in spec.tensors.values()),
            causal=a.causal,
            positions=a.positions,
            tokenizer=tokenizer.kind,
        )

    def __repr__(self) -> str:
        return f"<attnviz Model {self.info.summary()}>"

    @property
    def reads_pairs(self) -> bool:
        """True when the model tells two segments apart (BERT's token types: sentence pairs)."""
        return getattr(self.family, "type_vocab", 0) >= 2

    def encode(self, text: str, pair: str | None = None) -> Encoding:
        """Token ids, tokens, readable labels, special-token flags and segments of ``text``
        (and of ``pair``, sentence B, for a model that :attr:`reads_pairs`).

        Raises ModelError when the text gives no token, is longer than the model's positions,
        the tokenizer yields an id the embedding table lacks, or a pair is given to a model
        without token types.
        """
        pair = pair or None  # an empty sentence B is one sentence (as transformers reads it)
        if pair is not None and not self.reads_pairs:
            raise ModelError(
                f"{self.info.name} has no token types to tell two sentences apart: give it one "
                "text (sentence pairs are for BERT-style models with two token types)"
            )
        enc = self.tokenizer.encode(text, pair)
        n, limit = len(enc), self.info.max_positions
        if n == 0:
            raise ModelError("the text gives no tokens: type something for the model to read")
        if n > limit:
            raise ModelError(
                f"the text is {n} tokens long, but {self.info.name} reads at most {limit} "
                f"(max positions in {self.spec.config.path.name}); shorten it",
                self.spec.config.path,
            )
        if enc.ids.size and int(enc.ids.max()) >= self.info.vocab_size:
            bad = int(enc.ids.max())
            raise ModelError(
                f"{self.tokenizer.source.name} gives token id {bad}, but the model's embedding "
                f"table has {self.info.vocab_size} rows: tokenizer and weights do not match",
                self.tokenizer.source,
            )
        return enc

    def tokenize(self, text: str) -> list[str]:
        """The tokens the model reads, special tokens included (e.g. ['[CLS]', 'hi', '[SEP]'])."""
        return list(self.encode(text).tokens)

    def forward(
        self, text: str, progress: Progress | None = None, pair: str | None = None
    ) -> ModelTrace:
        """Run the model on ``text``; see :class:`ModelTrace` for what comes back.

        ``progress(done, total, what)`` (else the one given to :func:`load`) is called after
        each layer that had to be converted to float32 in this pass: every layer on the first
        pass, only those beyond the memory budget after that. ``pair``: sentence B of a
        sentence pair (models that :attr:`reads_pairs`), read as segment 1.
        """
        pair = pair or None
        return self.run(self.encode(text, pair), progress, pair=pair is not None)

    def run(
        self, enc: Encoding, progress: Progress | None = None, *, pair: bool = False
    ) -> ModelTrace:
        """:meth:`forward` on an encoding (e.g. token ids the model generated,
        ``tokenizer.from_ids``): every layer over every token, no cache."""
        fam, n = self.family, self.info.layers
        store = self.loaded_weights()
        report = progress if progress is not None else self.progress
        kw = {"segments": np.asarray(enc.segments)} if pair else {}
        x = fam.embed(store.shared(), enc.ids, **kw)  # (L, D)
        hidden = np.empty((n + 1, *x.shape), x.dtype)
        hidden[0] = x
        out: list[np.ndarray] = []  # attentions, q, k, v: (layers, ...) each
        meta = []
        for i in range(n):
            t, converted = store.layer(i)
            x, res = fam.layer(i, t, x)
            del t  # a layer outside the budget is freed before the next one is converted
            if converted and report is not None:
                report(i + 1, n, f"layer {i + 1} of {n} converted to float32")
            parts = (res.weights, res.q, res.k, res.v)
            if not out:  # filled layer by layer: no list of arrays, then a stacked copy
                out = [np.empty((n, *a.shape), a.dtype) for a in parts]
            for whole, part in zip(out, parts, strict=True):
                whole[i] = part
            hidden[i + 1] = x
            meta.append((res.scale, res.window, res.softcap, res.bias))
        attentions, q, k, v = out
        return ModelTrace(
            tokens=enc.tokens,
            labels=enc.labels,
            special=enc.special,
            ids=enc.ids,
            attentions=attentions,
            q=q,
            k=k,
            v=v,
            hidden_states=hidden,
            scales=tuple(m[0] for m in meta),
            windows=tuple(m[1] for m in meta),
            causal=self.info.causal,
            softcaps=tuple(m[2] for m in meta),
            biases=tuple(m[3] for m in meta),
            segments=enc.segments if pair else (),
        )

    def loaded_weights(self) -> LayerWeights:
        """The weights store; ModelError for a model opened for its tokenizer only."""
        if self.weights is None:
            raise ModelError(
                f"{self.info.name} was opened for its tokenizer only: load it with "
                "attnviz.models.load to run it",
                self.spec.folder,
            )
        return self.weights

    def prepare(self, progress: Progress | None = None) -> int:
        """Convert, ahead of the first pass, every layer the memory budget keeps; returns how
        many are kept. ``progress`` as in :meth:`forward` (one call per converted layer)."""
        store = self.loaded_weights()
        report = progress if progress is not None else self.progress
        store.shared()
        n = self.family.blocks
        for i in range(n):
            if not store.fits(i):
                break
            if store.layer(i)[1] and report is not None:
                report(i + 1, n, f"layer {i + 1} of {n} converted to float32")
        return store.kept

    def attentions(self, text: str) -> np.ndarray:
        """(layers, heads, L, L) float32 attention probabilities of ``text``."""
        return self.forward(text).attentions


def load(
    path: str | os.PathLike[str], progress: Progress | None = None, cache_bytes: int | None = None
) -> Model:
    """Load a model from a local folder in Hugging Face layout; never downloads or unpickles.

    The weights are memory-mapped, not read: each layer becomes float32 when it first runs
    (see the module's docstring), and :meth:`Model.prepare` converts ahead of time.

    Parameters
    ----------
    path : folder (or a file inside it) holding config.json, model.safetensors (or
        model.safetensors.index.json and its shards) and tokenizer.json (or vocab.txt, or
        vocab.json + merges.txt).
    progress : called as ``progress(done, total, what)``: once when the weights are mapped
        (done 0), then after each layer converted to float32 during forward passes (unless a
        pass gives its own). A plain callable; it runs on the thread that runs the model.
    cache_bytes : how many bytes of converted layers to keep; None: a share
        (``CACHE_SHARE``) of the memory available now beyond what running needs. 0 converts
        every layer on every pass.

    Raises
    ------
    ModelError
        Naming the file and the problem: missing or pickle-only weights, a truncated or
        corrupt safetensors file, tensors that disagree with config.json, an unsupported
        architecture, or weights too large for this machine's memory.
    """
    spec = inspect(path)
    tokenizer = load_tokenizer(spec.folder)
    fam = spec.family
    avail = _available_memory()
    n = fam.blocks
    sizes = [spec.layer_float32_bytes(i) for i in range(n)]
    running = spec.mapped_bytes + max(sizes, default=0)  # the mapped files + one layer
    if cache_bytes is None:
        spare = 0 if avail is None else max(avail - running, 0)
        budget = min(int(spare * CACHE_SHARE), sum(sizes))
    else:
        budget = min(max(int(cache_bytes), 0), sum(sizes))
    _check_memory(spec, running + budget, avail, "as float32, one layer at a time", budget)
    store = LayerWeights(spec, MappedWeights(spec.weights), budget)
    if progress is not None:
        progress(0, n, f"weights mapped; {n} layers become float32 as they first run")
    return Model(spec, tokenizer, store, progress)


def _check_memory(
    spec: ModelSpec, need: int, avail: int | None, how: str, kept: int | None = None
) -> None:
    """Refuse, before anything is allocated, a model that needs more memory than is free."""
    if avail is None or need <= avail:
        return
    gib = 2**30
    if kept is None:
        parts = ""
    else:
        layer = need - spec.mapped_bytes - kept
        parts = (
            f": {spec.mapped_bytes / gib:.1f} GiB of {spec.dtype} weights mapped from the "
            f"files, {layer / gib:.1f} GiB for the largest layer in float32"
            + (f" and {kept / gib:.1f} GiB of layers kept converted" if kept else "")
        )
    raise ModelError(
        f"{display_name(spec.folder)} needs about {need / gib:.1f} GiB of memory {how}{parts}, "
        f"but only {avail / gib:.1f} GiB is available",
        spec.folder,
    )
