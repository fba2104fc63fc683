"""Where the numbers come from: a toy scene, a real model, or a saved-attention file.

A :class:`Source` says what it can provide (:class:`Capabilities`) and provides it: the tokens
it shows, and per layer either the inputs of attention (X, Q, K, V, scale, window) or saved
probabilities. Panels, views and the pipeline ask its capabilities, never its kind, so a new
source (a generating decoder, a training run) is one class here and nothing elsewhere.

Sources are cheap to make and immutable; what is costly to compute (a model's forward pass, a
scene's embeddings) is cached by the source's inputs, so two sources made from the same session
share their numbers.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from attnviz.lessons.scenes import SceneInput, get_scene
from attnviz.models import Model, ModelError, ModelTrace, inspect, load
from attnviz.models.attention_file import AttentionFile, load_attention_file
from attnviz.models.encoder_decoder import (
    PairTrace,
    decoder_encoding,
    forward_pair,
    is_encoder_decoder,
    translate,
)
from attnviz.models.generation import Generation, GenerationStep, Sampling
from attnviz.models.tokenizer import Encoding, load_tokenizer
from attnviz.train import Trainer

if TYPE_CHECKING:
    from attnviz.state.session import Edit, Session

__all__ = [
    "LOAD_EVENTS",
    "STACKS",
    "Capabilities",
    "CrossInputs",
    "FileSource",
    "GenerationSource",
    "LayerInputs",
    "ModelSource",
    "Source",
    "ToySource",
    "TrainingSource",
    "attention_file",
    "forward_lock",
    "generate",
    "loaded_model",
    "model_stamp",
    "model_trace",
    "model_translation",
    "pair_trace",
    "source_of",
    "tokenizing_model",
]

Window = tuple[int | None, int | None] | None
STACKS = ("encoder", "decoder")  # an encoder–decoder's self-attention stacks

FILE_NO_QKV = (
    "A saved-attention file holds only the attention probabilities: there are no Q, K, V or "
    "scores to show. Choose “Toy model” or a real model to see them."
)


# -- reading inputs once per version of their files ------------------------------------------
def model_stamp(folder: str | Path) -> float:
    """Newest modification time of a model folder's files: a cache key that notices rewrites."""
    folder = Path(folder)
    times = [folder.stat().st_mtime]
    for f in folder.iterdir():
        if f.suffix in (".json", ".safetensors", ".txt"):
            try:
                times.append(f.stat().st_mtime)
            except OSError:
                continue
    return max(times)


@functools.lru_cache(maxsize=4)
def _attention_file(path: str, stamp: tuple[float, int]) -> AttentionFile:
    return load_attention_file(path)


def attention_file(path: str | os.PathLike[str]) -> AttentionFile:
    """Saved attention read (never unpickled) once per version of the file; ModelError if
    unusable. Self-attention only: the app's panels share one token list for rows and keys."""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except OSError:
        return load_attention_file(p)  # raises the ModelError that says what is wrong
    att = _attention_file(str(p.resolve()), (st.st_mtime, st.st_size))
    if att.tokens != att.key_tokens:
        n_q, n_k = att.attentions.shape[-2:]
        raise ModelError(
            f"{p.name}: cross-attention ({n_q} queries × {n_k} keys, two token lists) cannot be "
            "shown yet; the app shows self-attention files, where queries and keys are the "
            f"same tokens ({p})",
            p,
        )
    return att


@functools.lru_cache(maxsize=8)
def _tokenizing_model(folder: str, stamp: float) -> Model:
    """A model checked (config, tensor headers) with its tokenizer, but no weights read.

    ``Model.encode`` and ``Model.info`` need only these; the pipeline loads the weights on
    the worker thread.
    """
    spec = inspect(folder)
    return Model(spec, load_tokenizer(spec.folder))


def tokenizing_model(path: str | os.PathLike[str]) -> Model:
    """The checked, tokenizer-only model of a folder (or file inside it); ModelError if unusable."""
    p = Path(path).expanduser()
    folder = p.parent if p.is_file() else p
    if not folder.is_dir():
        inspect(p)  # raises the ModelError that says what is wrong
    try:
        stamp = model_stamp(folder)
    except OSError as exc:
        raise ModelError(f"cannot read {folder}: {exc.strerror}", folder) from None
    return _tokenizing_model(str(folder.resolve()), stamp)


@dataclass(frozen=True)
class Capabilities:
    """What a source can provide; everything that differs between sources is said here."""

    has_qkv: bool  # X, Q, K, V, scores and outputs exist (saved probabilities have none)
    editable: bool  # X and W are the source's own, small, and can be edited cell by cell
    trained: bool  # a trained model's numbers: explanations speak of the model, not the toy
    adjustable: bool  # temperature and mask apply (saved probabilities are shown as saved)
    typed_text: bool  # the user's text is what it shows
    layers: int
    heads: int
    user_window: bool = False  # the user's sliding window applies (a model has its own)
    no_qkv_reason: str = ""  # what to say where Q, K or V would be shown, when has_qkv is False
    trained_causal: bool = False  # trained to see only earlier tokens: the mask stays on
    second_text: str = ""  # what a second text is ("Target", "Sentence B"); "": none is read
    stacks: tuple[str, ...] = ()  # an encoder–decoder's stacks (STACKS); () for one stack
    cross: bool = False  # the source has real cross-attention (cross_inputs)


@dataclass(frozen=True)
class LayerInputs:
    """What one layer's attention reads, over every position of the source (hidden ones too).

    q, k, v: (H, L, E) with key/value heads repeated to the query heads; x: (L, D), the layer's
    input; scale multiplies q·k (None: 1/√E); window is the layer's own sliding window (a
    model's), or None where the user's window applies; softcap caps the logits (Gemma 2).
    """

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    x: np.ndarray
    scale: float | None
    window: Window
    softcap: float | None = None  # the layer's attention-logit soft-cap (Gemma 2)
    bias: np.ndarray | None = None  # (H, L, L) added to the logits (T5's position bias)


@dataclass(frozen=True)
class CrossInputs:
    """What one decoder layer's cross-attention reads: q (H, Lt, E) from the decoder, k and v
    (H, Ls, E) from the encoder's output, over every token (hidden ones too); ``keep_rows`` and
    ``keep_keys`` say which are shown (None: all)."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scale: float
    queries: tuple[str, ...]  # the shown decoder tokens
    keys: tuple[str, ...]  # the shown source tokens
    keep_rows: np.ndarray | None
    keep_keys: np.ndarray | None
    layers: int  # the decoder's layers


class Source(ABC):
    """One input the app shows. Subclasses fill in the attributes and the providers."""

    caps: Capabilities
    key: tuple[Any, ...]  # identifies its numbers: equal keys, equal numbers (stage caches)
    tokens: tuple[str, ...]  # the tokens shown
    head_names: tuple[str, ...]
    summary: str = ""  # one line naming a trained source ("" for the toy scenes)
    special: tuple[bool, ...] = ()  # per shown token: a special token ([CLS], <s> …)
    hidden_tokens: tuple[str, ...] = ()  # special tokens hidden from view
    # Per shown token: 0 sentence A, 1 sentence B of a sentence pair; () for one text.
    segments: tuple[int, ...] = ()
    # Positions shown among the source's own (None: all): hidden special tokens are dropped and
    # each row renormalised over the kept keys.
    keep: np.ndarray | None = None
    # Among the shown tokens, where those a model generated begin (None: all were typed).
    generated_from: int | None = None

    @property
    def name(self) -> str:
        """The source's name in a sentence (a model's name, "the toy model")."""
        return self.summary.split(" — ")[0] if self.summary else "the toy model"

    def layer_inputs(self, layer: int) -> LayerInputs:
        """X, Q, K, V, scale and window of ``layer``; ValueError when ``caps.has_qkv`` is False."""
        raise ValueError(self.caps.no_qkv_reason)

    def saved_weights(self, layer: int) -> np.ndarray:
        """(H, n, n) saved probabilities of ``layer`` (sources without Q, K, V only)."""
        raise ValueError("this source computes its attention; it holds no saved probabilities")

    def matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(Wq, Wk, Wv), each (H, d_model, d_k), where they are the source's own and small."""
        return None

    def cross_inputs(self, layer: int) -> CrossInputs:
        """Decoder layer ``layer``'s cross-attention inputs (sources with ``caps.cross``); a
        layer past the decoder's last is its last."""
        raise ValueError("this source has no cross-attention: it is not an encoder–decoder")

    @abstractmethod
    def feature_names(self, layer: int) -> tuple[str, ...]:
        """Names of X's columns at ``layer`` (empty without X)."""


# -- the toy scenes ------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _built(scene: str, text: str) -> SceneInput:
    built = get_scene(scene).build(text)
    for a in (built.x, built.wq, built.wk, built.wv):
        a.setflags(write=False)  # shared by every source of this text: never written
    return built


class ToySource(Source):
    """A toy scene: hand-made embeddings and projections for the typed text, edits applied."""

    def __init__(self, scene: str, text: str, edits: tuple[Edit, ...] = ()) -> None:
        built = _built(scene, text)
        x, wq, wk, wv = built.x, built.wq, built.wk, built.wv
        if edits:
            mats = {"X": x.copy(), "Wq": wq.copy(), "Wk": wk.copy(), "Wv": wv.copy()}
            for matrix, head, row, col, value in edits:
                target = mats[matrix] if matrix == "X" else mats[matrix][head]
                if 0 <= row < target.shape[0] and 0 <= col < target.shape[1]:
                    target[row, col] = value
            x, wq, wk, wv = (mats[m] for m in ("X", "Wq", "Wk", "Wv"))
        self.scene, self.text, self.edits = scene, text, edits
        self.x, self.wq, self.wk, self.wv = x, wq, wk, wv
        self.tokens = built.tokens
        self.head_names = built.head_names
        self._features = built.feature_names
        self.key = ("toy", scene, text, edits)
        self.caps = Capabilities(
            has_qkv=True, editable=True, trained=False, adjustable=True, typed_text=True,
            layers=1, heads=len(built.head_names), user_window=True,
        )  # fmt: skip

    def layer_inputs(self, layer: int) -> LayerInputs:
        return _toy_layer(self)

    def matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.wq, self.wk, self.wv

    def feature_names(self, layer: int) -> tuple[str, ...]:
        return self._features


def _toy_layer(source: ToySource) -> LayerInputs:
    # Projections: (n, d) @ (H, d, d_k) -> (H, n, d_k).
    q = np.matmul(source.x, source.wq).astype(np.float32)
    k = np.matmul(source.x, source.wk).astype(np.float32)
    v = np.matmul(source.x, source.wv).astype(np.float32)
    return LayerInputs(q, k, v, source.x, None, None)


# -- real models: loaded once per folder version, run once per text, on the worker thread ----
_load_lock = threading.Lock()


@functools.lru_cache(maxsize=2)
class LoadEvents:
    """What loading a model says while it runs (on the thread that runs the model):
    ``progress(folder, done, total, what)`` as layers become float32 on the first pass."""

    progress = Signal(str, int, int, str)


LOAD_EVENTS = LoadEvents()


def _load(folder: str, stamp: float) -> Model:
    def progress(done: int, total: int, what: str) -> None:
        # A listener's failure (a window closed mid-load) must not fail the model: progress
        # only informs.
        with contextlib.suppress(Exception):
            LOAD_EVENTS.progress.emit(folder, done, total, what)

    return load(folder, progress=progress)


def loaded_model(folder: str) -> Model:
    """The model in ``folder`` with its weights, loaded once per version of its files."""
    with _load_lock:  # two workers must not read the same gigabytes twice
        return _load(folder, model_stamp(folder))


# Each trace holds every layer's q, k, v and hidden states (about 77 MB for BERT-base at 512
# tokens); four are enough for going back and forth between texts, sixteen held 1.2 GB.
@functools.lru_cache(maxsize=4)
def _forward(folder: str, stamp: float, text: str, pair: str) -> ModelTrace:
    return loaded_model(folder).forward(text, pair=pair or None)


# One model pass at a time: two passes of one model share its converted layers, and a pass
# asked for twice (two panels, a repeated request) runs once and is found in the cache.
forward_lock = threading.Lock()


def model_trace(folder: str, text: str, pair: str = "") -> ModelTrace:
    """One forward pass of the model on ``text`` (and sentence B ``pair``), cached: sliders
    re-softmax, never re-run."""
    with forward_lock:
        return _forward(folder, model_stamp(folder), text, pair)


@functools.lru_cache(maxsize=4)
def _pair(folder: str, stamp: float, text: str, target: str) -> PairTrace:
    return forward_pair(loaded_model(folder), text, target)


@functools.lru_cache(maxsize=16)
def _translation(folder: str, stamp: float, text: str) -> str:
    return translate(loaded_model(folder), text)


def model_translation(folder: str, text: str) -> str:
    """An encoder–decoder's greedy translation of ``text`` (cached per text and model files)."""
    return _translation(folder, model_stamp(folder), text)


def pair_trace(folder: str, text: str, target: str) -> PairTrace:
    """One encoder–decoder pass on a source text and a target, cached like :func:`model_trace`."""
    with forward_lock:
        return _pair(folder, model_stamp(folder), text, target)


def _kept(enc: Encoding, hide_special: bool, what: str) -> np.ndarray | None:
    """Which tokens are shown (None: all); ValueError when hiding would leave none."""
    if not hide_special:
        return None
    keep = ~np.asarray(enc.special, dtype=bool)
    if not keep.any():
        raise ValueError(f"the {what} has no tokens besides special ones; type some words")
    return keep


def _shown(tokens: tuple[str, ...], keep: np.ndarray | None) -> tuple[str, ...]:
    return tokens if keep is None else tuple(t for t, k in zip(tokens, keep, strict=True) if k)


class ModelSource(Source):
    """A real model's attention on the text: its forward pass runs once per text, when first
    asked for (on the worker thread), and is shared by every request on that text.

    An encoder–decoder reads ``text`` as its source sentence and ``text_b`` as the target; the
    self-attention shown is the ``stack``'s ("encoder" or "decoder"), and its cross-attention
    is :meth:`cross_inputs`.
    """

    def __init__(
        self, folder: str, text: str, hide_special: bool = False, text_b: str = "",
        stack: str = "encoder",
    ) -> None:  # fmt: skip
        model = tokenizing_model(folder)  # checked, tokenizer only: cheap on the main thread
        info = model.info
        self.folder, self.text, self.hide_special = folder, text, hide_special
        self.text_b, self.stack = text_b, stack
        self.seq2seq = is_encoder_decoder(model)
        if stack not in STACKS or (stack != "encoder" and not self.seq2seq):
            raise ValueError(
                f"{info.name} has one stack of layers; only an encoder–decoder has a decoder "
                "stack to choose"
                if stack in STACKS
                else f"stack must be one of {STACKS}, got {stack!r}"
            )
        layers, second = info.layers, ""
        if self.seq2seq:
            src = model.encode(text)
            tgt = decoder_encoding(model, text_b)
            self._keeps = (_kept(src, hide_special, "source text"),
                           _kept(tgt, hide_special, "target"))  # fmt: skip
            self._pair_tokens = (src.tokens, tgt.tokens)
            enc = src if stack == "encoder" else tgt
            if stack == "decoder":
                layers = model.family.decoder_layers  # type: ignore[attr-defined]
            second = "Target"
        elif model.reads_pairs:
            enc = model.encode(text, text_b or None)  # [CLS] A [SEP] B [SEP]
            second = "Sentence B"
        else:
            if text_b:
                raise ValueError(
                    f"{info.name} reads one text: it has no second sentence (no token types) "
                    "and no target"
                )
            enc = model.encode(text)
        special = np.asarray(enc.special, dtype=bool)
        self.keep = _kept(enc, hide_special, "target" if stack == "decoder" else "text")
        kept = self.keep if self.keep is not None else np.ones(len(special), dtype=bool)
        self.tokens = _shown(enc.tokens, self.keep)
        self.special = tuple(bool(s) for s, k in zip(special, kept, strict=True) if k)
        if second == "Sentence B" and text_b:
            self.segments = tuple(g for g, k in zip(enc.segments, kept, strict=True) if k)
        self.hidden_tokens = tuple(t for t, k in zip(enc.tokens, kept, strict=True) if not k)
        self.summary = info.summary()
        if self.seq2seq:
            self.summary += f" · {stack} self-attention"
        self.head_names = tuple(f"head {i + 1}" for i in range(info.heads))
        self.key = ("model", folder, model_stamp(folder), text, hide_special, text_b, stack)
        causal = info.causal or stack == "decoder"
        self.caps = Capabilities(
            has_qkv=True, editable=False, trained=True, adjustable=True, typed_text=True,
            layers=layers, heads=info.heads, trained_causal=causal, second_text=second,
            stacks=STACKS if self.seq2seq else (), cross=self.seq2seq,
        )  # fmt: skip

    def trace(self) -> ModelTrace:
        if self.seq2seq:
            pair = pair_trace(self.folder, self.text, self.text_b)
            return pair.encoder if self.stack == "encoder" else pair.decoder
        return model_trace(self.folder, self.text, self.text_b)

    def cross_inputs(self, layer: int) -> CrossInputs:
        if not self.seq2seq:
            return super().cross_inputs(layer)
        cross = pair_trace(self.folder, self.text, self.text_b).cross
        src_keep, tgt_keep = self._keeps
        layer = min(layer, cross.attentions.shape[0] - 1)  # the decoder may have fewer layers
        return CrossInputs(
            q=cross.q[layer], k=cross.k[layer], v=cross.v[layer], scale=cross.scales[layer],
            queries=_shown(self._pair_tokens[1], tgt_keep),
            keys=_shown(self._pair_tokens[0], src_keep),
            keep_rows=tgt_keep, keep_keys=src_keep, layers=cross.attentions.shape[0],
        )  # fmt: skip

    def layer_inputs(self, layer: int) -> LayerInputs:
        return _trace_inputs(self.trace(), layer)

    def feature_names(self, layer: int) -> tuple[str, ...]:
        return tuple(f"h{i + 1}" for i in range(self.trace().hidden_states.shape[-1]))


def _trace_inputs(tr: ModelTrace, layer: int) -> LayerInputs:
    kv = [tr.kv_head(h) for h in range(tr.heads)]
    return LayerInputs(
        q=tr.q[layer], k=tr.k[layer][kv], v=tr.v[layer][kv],
        x=np.asarray(tr.hidden_states[layer], dtype=np.float32),
        scale=tr.scales[layer], window=tr.windows[layer],
        softcap=tr.softcaps[layer] if tr.softcaps else None,
        bias=tr.biases[layer] if tr.biases else None,
    )  # fmt: skip


# -- a decoder generating: the sequence it read at one step ------------------------------
def generate(
    folder: str, text: str, sampling: Sampling, *, n: int, cached: bool = True,
    stop: Callable[[], bool] | None = None,
    on_step: Callable[[GenerationStep], None] | None = None,
) -> Generation:  # fmt: skip
    """Load the model (once per folder version) and generate up to ``n`` tokens from ``text``
    (on the worker thread). Each step holds :data:`forward_lock`, so the app's other passes
    wait at most one step; ``stop()`` is asked before each step."""
    model = loaded_model(folder)
    gen = Generation(model, text, sampling, cached=cached)

    def one_step() -> bool:
        if gen.finished or (stop is not None and stop()):
            return False
        with forward_lock:
            step = gen.step()
        if on_step is not None:
            on_step(step)
        return True

    for _ in range(n):
        if not one_step():
            break
    return gen


class GenerationSource(Source):
    """Step ``step`` of a generation: the prompt and the tokens generated before it, as the
    model read them when it chose the step's token. The last shown token is the query whose
    attention produced it; every panel shows that pass (recomputed whole, once per step)."""

    def __init__(self, folder: str, gen: Generation, step: int, hide_special: bool = False,
                 ) -> None:  # fmt: skip
        if not 1 <= step <= len(gen.steps):
            raise ValueError(f"step {step} is outside the generation's {len(gen.steps)} steps")
        info = gen.model.info
        self.folder, self.generation, self.step, self.hide_special = folder, gen, step, hide_special
        self.text = gen.prompt_text
        enc = gen.encoding(gen.steps[step - 1].read)
        self.keep = _kept(enc, hide_special, "text")
        kept = self.keep if self.keep is not None else np.ones(len(enc), dtype=bool)
        self.tokens = _shown(enc.tokens, self.keep)
        self.special = tuple(bool(s) for s, k in zip(enc.special, kept, strict=True) if k)
        self.hidden_tokens = tuple(t for t, k in zip(enc.tokens, kept, strict=True) if not k)
        self.generated_from = int(kept[: len(gen.prompt)].sum())
        self.summary = f"{info.summary()} · generating, step {step} of {len(gen.steps)}"
        self.head_names = tuple(f"head {i + 1}" for i in range(info.heads))
        self.key = ("generation", folder, id(gen), step, hide_special)
        self.caps = Capabilities(
            has_qkv=True, editable=False, trained=True, adjustable=True, typed_text=True,
            layers=info.layers, heads=info.heads, trained_causal=True,
        )  # fmt: skip

    def trace(self) -> ModelTrace:
        with forward_lock:
            return self.generation.trace_at(self.step)

    def layer_inputs(self, layer: int) -> LayerInputs:
        return _trace_inputs(self.trace(), layer)

    def feature_names(self, layer: int) -> tuple[str, ...]:
        return tuple(f"h{i + 1}" for i in range(self.generation.model.info.hidden_size))


class FileSource(Source):
    """Saved attention probabilities (.npz/.npy): shown as saved, no Q, K, V or scores."""

    def __init__(self, path: str) -> None:
        att = attention_file(path)
        self.path = path
        self._att = att
        self.tokens = att.tokens
        self.head_names = tuple(f"head {i + 1}" for i in range(att.heads))
        self.summary = f"{att.path.name} (saved attention, {att.layers} layers × {att.heads} heads)"
        st = att.path.stat()
        self.key = ("file", str(att.path), st.st_mtime, st.st_size)
        self.caps = Capabilities(
            has_qkv=False, editable=False, trained=True, adjustable=False, typed_text=False,
            layers=att.layers, heads=att.heads, no_qkv_reason=FILE_NO_QKV,
        )  # fmt: skip

    def saved_weights(self, layer: int) -> np.ndarray:
        return self._att.attentions[layer]

    def feature_names(self, layer: int) -> tuple[str, ...]:
        return ()


class TrainingSource(Source):
    """Checkpoint ``index`` of a training run (the Training panel's), on its probe: a repeated
    random sequence whose induction and previous-token scores the panel reports."""

    def __init__(self, trainer: Trainer, index: int) -> None:
        if not 1 <= index <= len(trainer.checkpoints):
            raise ValueError(f"checkpoint {index} is outside the run's {len(trainer.checkpoints)}")
        self.trainer, self.index = trainer, index
        task, cfg = trainer.task, trainer.model.config
        step = trainer.checkpoints[index - 1].step
        self.tokens = tuple(task.vocab[int(i)] for i in trainer.probe)
        self.special = tuple(int(i) == 0 for i in trainer.probe)
        self.head_names = tuple(f"head {i + 1}" for i in range(cfg.heads))
        self.summary = (f"tiny transformer ({cfg.layers} layers × {cfg.heads} heads, "
                        f"d={cfg.d_model}) — {task.title}, step {step:,}")  # fmt: skip
        self.key = ("training", id(trainer), index)
        self.caps = Capabilities(
            has_qkv=True, editable=False, trained=True, adjustable=True, typed_text=True,
            layers=cfg.layers, heads=cfg.heads, trained_causal=True,
        )  # fmt: skip

    @property
    def name(self) -> str:
        return "the tiny transformer"

    def layer_inputs(self, layer: int) -> LayerInputs:
        s = self.trainer.forward_at(self.index).cache[layer]
        f32 = np.float32
        return LayerInputs(
            q=s["q"][0].astype(f32), k=s["k"][0].astype(f32), v=s["v"][0].astype(f32),
            x=s["x"][0].astype(f32), scale=1.0 / float(np.sqrt(s["q"].shape[-1])), window=None,
        )  # fmt: skip

    def feature_names(self, layer: int) -> tuple[str, ...]:
        return tuple(f"h{i + 1}" for i in range(self.trainer.model.config.d_model))


def source_of(session: Session) -> Source:
    """The source the session shows."""
    if session.training is not None and session.train_view:
        return TrainingSource(session.training, session.train_view)
    gen = session.generation
    if gen is not None and session.gen_step and session.model_path is not None:
        return GenerationSource(session.model_path, gen, session.gen_step, session.hide_special)
    if session.attention_path is not None:
        return FileSource(session.attention_path)
    if session.model_path is not None:
        return ModelSource(
            session.model_path, session.text, session.hide_special, session.text_b, session.stack
        )
    return ToySource(session.scene, session.text, session.edits)
