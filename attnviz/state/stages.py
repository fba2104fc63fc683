"""The stages of a computation, each cached by its inputs:

    source → layer inputs (X, Q, K, V)  → weights at (T, mask, window) → what a view shows
             (projections, once per text)   (per layer, or per head)

A temperature change computes the weights again and nothing before them; a head change takes
its head from the layer's weights when they are cached, else computes that one head; a real
model's forward pass runs once per text (in the source) and only the layers a visible panel
asks for are attended. Caches are keyed by the source's ``key`` and the settings, bounded in
bytes, and shared by every result on the same inputs: a hidden panel shown later finds what the
visible ones already computed.

``COUNTS`` counts the computations of each stage (not the cache hits), so tests can say "a
temperature change ran no projection and no other layer".
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnviz.backends import recording_fallbacks, scaled_dot_product_attention
from attnviz.core import AttentionTrace, attention_trace
from attnviz.core.masks import causal_mask
from attnviz.core.subset import keep_positions, renormalise_kept
from attnviz.state.source import LayerInputs, Source, Window

__all__ = [
    "COUNTS",
    "Settings",
    "causal_pair",
    "clear",
    "head_attention",
    "layer_attention",
    "layer_inputs",
    "trace",
]

COUNTS: collections.Counter[str] = collections.Counter()


@dataclass(frozen=True)
class Settings:
    """What the weights depend on besides the source: temperature, mask, the user's window
    (a model layer's own window wins), and the backend that computes them."""

    temperature: float
    causal: bool
    window: Window
    backend: str = "numpy"

    def window_for(self, inputs: LayerInputs) -> Window:
        return inputs.window if inputs.window is not None else self.window

    def attention(
        self,
        inputs: LayerInputs,
        head: int | None = None,
        *,
        causal: bool | None = None,
        window: Window | bool = True,
    ) -> dict[str, Any]:
        """The compute core's arguments for ``inputs`` (one ``head``, or every head) at these
        settings: ``causal`` and ``window`` override the settings' (``window=True``: the
        layer's own, else the user's). A layer's logit bias (T5's position bias) is divided by
        the temperature with the scores: T rescales the whole logit."""
        pick = (lambda a: a) if head is None else (lambda a: a[head])
        bias = inputs.bias
        if bias is not None:
            bias = pick(bias) if self.temperature == 1 else pick(bias) / self.temperature
        return {
            "query": pick(inputs.q), "key": pick(inputs.k), "value": pick(inputs.v),
            "attn_mask": bias, "is_causal": self.causal if causal is None else causal,
            "scale": inputs.scale, "temperature": self.temperature,
            "window": self.window_for(inputs) if window is True else window,
            "softcap": inputs.softcap,
        }  # fmt: skip


class Memo:
    """Least recently used values by key, at most ``max_items`` of them and ``max_bytes`` of
    arrays; thread-safe."""

    def __init__(self, name: str, max_bytes: int, max_items: int) -> None:
        self.name, self.max_bytes, self.max_items = name, max_bytes, max_items
        self._items: collections.OrderedDict[Hashable, tuple[Any, int]] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        with recording_fallbacks() as fell:
            value = compute()  # outside the lock: a slow layer must not stall the main thread
        COUNTS[self.name] += 1
        _read_only(value)  # shared by every result on these inputs: never written
        if fell:  # the GPU failed and NumPy computed: not kept under the GPU's settings
            return value
        size = _nbytes(value)
        with self._lock:
            if key not in self._items and size <= self.max_bytes:
                self._items[key] = (value, size)
                self._bytes += size
                while self._bytes > self.max_bytes or len(self._items) > self.max_items:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self._bytes -= dropped
        return value

    def peek(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            return None if item is None else item[0]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def _read_only(value: Any) -> None:
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, tuple | list):
        for v in value:
            _read_only(v)
    elif isinstance(value, AttentionTrace | LayerInputs):
        for f in value.__dataclass_fields__:
            _read_only(getattr(value, f))


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, tuple | list):
        return sum(_nbytes(v) for v in value)
    if isinstance(value, AttentionTrace | LayerInputs):
        return sum(_nbytes(getattr(value, f)) for f in value.__dataclass_fields__)
    return 0


# What is worth keeping: the projections of the last few texts (a forward pass is the costly
# step), and the weights at the last two settings (going back and forth between heads, or to
# the previous temperature). Weights at every temperature a slider passed would hold hundreds of
# megabytes nobody returns to; on this VM, holding them made every new 16 MiB array page-fault
# (a 2,048-token softmax went from 8 to 40 ms).
_MiB = 1024 * 1024
_inputs = Memo("projections", 512 * _MiB, max_items=8)
_layers = Memo("layer attention", 512 * _MiB, max_items=2)
_heads = Memo("head attention", 128 * _MiB, max_items=2)
_traces = Memo("trace", 256 * _MiB, max_items=2)
_pairs = Memo("causal pair", 128 * _MiB, max_items=2)


def clear() -> None:
    """Forget every cached stage (tests; a model folder rewritten is a new key anyway)."""
    for memo in (_inputs, _layers, _heads, _traces, _pairs):
        memo.clear()


def layer_inputs(source: Source, layer: int) -> LayerInputs:
    """X, Q, K, V of ``layer``, read only, once per source and layer."""

    return _inputs.get((source.key, layer), lambda: source.layer_inputs(layer))


def _shown(source: Source, w: np.ndarray) -> np.ndarray:
    """Weights among the shown tokens: hidden ones dropped, rows renormalised."""
    return w if source.keep is None else renormalise_kept(w, source.keep)


def layer_attention(source: Source, layer: int, s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(weights (H, n, n), output (H, n, Ev)) of every head of ``layer``, among the shown
    tokens. Saved probabilities are shown as saved (output: (H, n, 0), there is none)."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        if not source.caps.has_qkv:
            w = np.asarray(source.saved_weights(layer))
            return w, np.zeros((*w.shape[:-1], 0), dtype=np.float32)
        li = layer_inputs(source, layer)
        out, w = scaled_dot_product_attention(
            **s.attention(li), return_weights=True, backend=s.backend
        )
        return _finish(source, li.v, np.asarray(w), np.asarray(out))

    return _layers.get((source.key, layer, s), compute)


def _finish(
    source: Source, v: np.ndarray, w: np.ndarray, out: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    if source.keep is None:
        return w, out
    w = _shown(source, w)
    # What the renormalised weights mix: the kept values.
    return w, np.matmul(w, v[..., source.keep, :]).astype(np.float32)


def head_attention(
    source: Source, layer: int, head: int, s: Settings
) -> tuple[np.ndarray, np.ndarray]:
    """(weights (n, n), output (n, Ev)) of one head: from the layer's when they are cached."""
    whole = _layers.peek((source.key, layer, s))
    if whole is not None:
        return whole[0][head], whole[1][head]

    def compute() -> tuple[np.ndarray, np.ndarray]:
        if not source.caps.has_qkv:
            w = np.asarray(source.saved_weights(layer)[head])
            return w, np.zeros((w.shape[0], 0), dtype=np.float32)
        li = layer_inputs(source, layer)
        out, w = scaled_dot_product_attention(
            **s.attention(li, head), return_weights=True, backend=s.backend
        )
        return _finish(source, li.v[head], np.asarray(w), np.asarray(out))

    return _heads.get((source.key, layer, head, s), compute)


def trace(source: Source, layer: int, head: int, s: Settings) -> AttentionTrace:
    """Every step of one head (scores, scaled, masked, weights, output) among the shown
    tokens; for saved probabilities the scores are NaN (there are none) and Q, K, V empty."""

    def compute() -> AttentionTrace:
        if not source.caps.has_qkv:
            w = np.asarray(source.saved_weights(layer)[head])
            n = w.shape[0]
            none = np.zeros((n, 0), dtype=np.float32)
            nan = np.full((n, n), np.nan, dtype=np.float32)
            return AttentionTrace(
                query=none, key=none, value=none, scores=nan, scaled_scores=nan,
                masked_scores=nan, weights=w, output=none, visible=w > 0, scale=float("nan"),
                temperature=1.0,
            )  # fmt: skip
        li = layer_inputs(source, layer)
        tr = attention_trace(**s.attention(li, head))
        keep = source.keep
        if keep is None:
            return tr
        tw = renormalise_kept(tr.weights, keep)
        tv = tr.value[keep]
        return AttentionTrace(
            query=tr.query[keep], key=tr.key[keep], value=tv,
            scores=keep_positions(tr.scores, keep),
            scaled_scores=keep_positions(tr.scaled_scores, keep),
            masked_scores=keep_positions(tr.masked_scores, keep),
            weights=tw, output=(tw @ tv).astype(tr.output.dtype),
            visible=keep_positions(tr.visible, keep), scale=tr.scale, temperature=tr.temperature,
        )  # fmt: skip

    return _traces.get((source.key, layer, head, s.temperature, s.causal, s.window), compute)


def causal_pair(
    source: Source, layer: int, head: int, s: Settings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One head without and with the causal mask (the layer's own window kept, the user's
    not), and its scaled scores with −∞ above the diagonal: what the causal-mask panel
    compares. Saved probabilities: the saved weights twice, and NaN scores."""
    settings = Settings(s.temperature, causal=False, window=None, backend=s.backend)

    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not source.caps.has_qkv:
            w = np.asarray(source.saved_weights(layer)[head])
            return w, w, np.full(w.shape, np.nan, dtype=np.float32)
        li = layer_inputs(source, layer)
        pair = []
        for causal in (False, True):
            _, w = scaled_dot_product_attention(
                **s.attention(li, head, causal=causal, window=li.window),
                return_weights=True,
                backend=s.backend,
            )
            pair.append(_shown(source, np.asarray(w)))
        scaled = trace(source, layer, head, s).scaled_scores
        masked = np.where(causal_mask(scaled.shape[-1]).mask, scaled, -np.inf)
        return pair[0], pair[1], masked.astype(np.float32, copy=False)

    return _pairs.get((source.key, layer, head, settings), compute)
