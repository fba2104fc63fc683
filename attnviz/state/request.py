"""What a computation is asked (``Request``, frozen from the session) and what it gives back
(``Result``): the data shared by the pipeline that makes them, the views computed from them and
the panels that draw them. Kept apart from the pipeline so that the views import it without a
cycle.

A result computes each of its numbers when first asked for, through the cached stages
(:mod:`attnviz.state.stages`), and keeps it. The worker thread asks, before the result is
delivered, for what the visible panels declared they need (``Result.warm``); a panel shown
later asks for its own, and finds in the stage caches what others already computed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnviz.backends import BackendChoice, recording_fallbacks
from attnviz.core import AttentionTrace, entropy, hardmax, softmax
from attnviz.state import stages
from attnviz.state.source import Source, Window
from attnviz.state.views import LazyViews

__all__ = ["STAGES", "NotFiniteError", "Request", "Result", "needs_of"]


@dataclass(frozen=True)
class Request:
    """A frozen description of one computation: a source and the settings it is shown at."""

    source: Source
    layer: int
    head: int
    selected_token: int
    temperature: float
    causal: bool
    window: int | None
    backend: str
    logits: tuple[float, ...]
    view_params: dict[str, Any]  # frozen copies, one per panel view that has parameters

    # -- what the source shows -------------------------------------------------------------
    @property
    def tokens(self) -> tuple[str, ...]:
        return self.source.tokens

    @property
    def head_names(self) -> tuple[str, ...]:
        return self.source.head_names

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.source.feature_names(self.layer)

    @property
    def model_summary(self) -> str:
        return self.source.summary

    @property
    def special(self) -> tuple[bool, ...]:
        return self.source.special

    @property
    def hidden_tokens(self) -> tuple[str, ...]:
        return self.source.hidden_tokens

    @property
    def generated_from(self) -> int | None:
        """Where the tokens a model generated begin among the shown ones (None: none)."""
        return self.source.generated_from

    @property
    def segments(self) -> tuple[int, ...]:
        """Per token: 0 sentence A, 1 sentence B of a sentence pair; () for one text."""
        return self.source.segments

    @property
    def x(self) -> np.ndarray:
        """(n, d_model) what the layer reads, among the shown tokens ((n, 0) without X)."""
        if not self.source.caps.has_qkv:
            return np.zeros((len(self.tokens), 0), dtype=np.float32)
        x = stages.layer_inputs(self.source, self.layer).x
        return x if self.source.keep is None else x[self.source.keep]

    def _matrix(self, i: int) -> np.ndarray:
        m = self.source.matrices()
        return m[i] if m is not None else np.zeros((self.source.caps.heads, 0, 0), np.float32)

    @property
    def wq(self) -> np.ndarray:
        """(H, d_model, d_k), where the source's W are its own and small; else (H, 0, 0)."""
        return self._matrix(0)

    @property
    def wk(self) -> np.ndarray:
        return self._matrix(1)

    @property
    def wv(self) -> np.ndarray:
        return self._matrix(2)

    @property
    def window_pair(self) -> Window:
        """Sliding window as the core's (left, right): ``window`` keys back, none ahead."""
        return None if self.window is None else (self.window, None if not self.causal else 0)

    @property
    def settings(self) -> stages.Settings:
        return stages.Settings(self.temperature, self.causal, self.window_pair)


class NotFiniteError(ValueError):
    """The numbers overflowed or a model's weights hold NaN; nothing of it is drawn."""


# Fields whose arrays must be finite to be drawn. Masked scores (−∞ on purpose) and the
# saved-attention NaN scores are not checked.
_CHECKED = ("q", "k", "v", "weights", "head_weights", "output", "layer_weights")


class _stage:
    """A result field computed on first access (under the result's lock) and kept."""

    def __init__(self, fn: Callable[[Result], Any]) -> None:
        self.fn, self.name = fn, fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Result | None, owner: type) -> Any:
        if obj is None:
            return self
        return obj._compute(self.name, self.fn)


class Result:
    """Every number the panels draw for one request, computed when first asked for.

    Arrays are host NumPy arrays, read only. ``STAGES`` names the fields a panel may declare
    it needs; ``views[panel_id]`` is that panel's own data (or a ViewError), computed on first
    access too.
    """

    def __init__(self, request: Request, choice: BackendChoice) -> None:
        self.request = request
        self.backend = str(choice)  # which backend computed, and why
        self.backend_label = choice.label  # a few words ("NumPy (CPU)"), for a status bar
        self.seconds = 0.0  # time the worker spent on it before delivery
        self._choice = choice
        self._lock = threading.RLock()
        self._done: dict[str, Any] = {}
        r = request
        self.settings = stages.Settings(r.temperature, r.causal, r.window_pair, choice.name)
        # The logits demo is a handful of numbers: computed at once.
        logits = np.asarray(r.logits, dtype=np.float64)
        self.logit_probs = softmax(logits, temperature=r.temperature)
        self.logit_probs_t1 = softmax(logits)
        self.logit_argmax = hardmax(logits)
        self.logit_entropy = float(entropy(self.logit_probs))
        self.logit_entropy_t1 = float(entropy(self.logit_probs_t1))
        self.views = LazyViews(self)

    # -- laziness --------------------------------------------------------------------------
    def _compute(self, name: str, fn: Callable[[Result], Any]) -> Any:
        with self._lock:
            if name in self._done:
                return self._done[name]
            with recording_fallbacks() as fell:
                value = fn(self)
            if fell:  # the GPU failed during this stage: say what computed it
                choice = BackendChoice("numpy", fell[-1], fallback_from="cupy")
                self.backend, self.backend_label = str(choice), choice.label
            elif fell.kernel and self.backend == str(self._choice):
                # On the GPU, but its standard path instead of our flash kernel: say why.
                self.backend = (
                    f"{self._choice}; standard path, not the flash kernel: {fell.kernel[-1]}"
                )
            if name in _CHECKED:
                _check_finite(self.request, name, value)
            self._done[name] = value
            return value

    def warm(self, needs: Iterable[str] | None = None) -> Result:
        """Compute now what ``needs`` names (fields, or ``view:<panel id>``); None: all."""
        for need in STAGES + tuple(f"view:{p}" for p in self.views) if needs is None else needs:
            if need.startswith("view:"):
                _ = self.views[need[5:]]
            else:
                getattr(self, need)
        return self

    def ready(self, needs: Iterable[str]) -> bool:
        """True when everything ``needs`` names is computed (nothing left to compute)."""
        for need in needs:
            done = self.views.computed(need[5:]) if need.startswith("view:") else need in self._done
            if not done:
                return False
        return True

    # -- the selected layer ----------------------------------------------------------------
    @_stage
    def q(self) -> np.ndarray:
        """(H, n, d_k) queries of the selected layer ((H, n, 0) without Q, K, V)."""
        return self._qkv(0)

    @_stage
    def k(self) -> np.ndarray:
        return self._qkv(1)

    @_stage
    def v(self) -> np.ndarray:
        return self._qkv(2)

    def _qkv(self, i: int) -> np.ndarray:
        src, r = self.request.source, self.request
        if not src.caps.has_qkv:
            return np.zeros((src.caps.heads, len(r.tokens), 0), dtype=np.float32)
        li = stages.layer_inputs(src, r.layer)
        a = (li.q, li.k, li.v)[i]
        return a if src.keep is None else a[:, src.keep]

    @_stage
    def logit_bias(self) -> np.ndarray | None:
        """(n, n) what the selected head adds to its logits (T5's relative position bias,
        among the shown tokens), or None: most models add nothing."""
        src, r = self.request.source, self.request
        if not src.caps.has_qkv:
            return None
        bias = stages.layer_inputs(src, r.layer).bias
        if bias is None:
            return None
        b = bias[r.head]
        return b if src.keep is None else b[np.ix_(src.keep, src.keep)]

    @_stage
    def weights(self) -> np.ndarray:
        """(H, n, n) every head of the selected layer, at the request's temperature and mask."""
        return stages.layer_attention(self.request.source, self.request.layer, self.settings)[0]

    @_stage
    def output(self) -> np.ndarray:
        """(H, n, d_v) every head's output."""
        return stages.layer_attention(self.request.source, self.request.layer, self.settings)[1]

    @_stage
    def head_entropy(self) -> np.ndarray:
        """(H, n) entropy of each row, nats."""
        return entropy(self.weights)

    @_stage
    def layer_weights(self) -> np.ndarray | None:
        """(layers, H, n, n) every layer's weights (trained sources; None for the toy)."""
        src, r = self.request.source, self.request
        if not src.caps.trained:
            return None
        return np.stack([
            self.weights if i == r.layer else stages.layer_attention(src, i, self.settings)[0]
            for i in range(src.caps.layers)
        ])  # fmt: skip

    # -- the selected head -----------------------------------------------------------------
    @_stage
    def head_weights(self) -> np.ndarray:
        """(n, n) the selected head's weights: ``weights[head]``, without computing the others."""
        r = self.request
        return stages.head_attention(r.source, r.layer, r.head, self.settings)[0]

    @_stage
    def trace(self) -> AttentionTrace:
        """The selected head, every step, at the request's settings."""
        r = self.request
        return stages.trace(r.source, r.layer, r.head, self.settings)

    def _pair(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r = self.request
        return stages.causal_pair(r.source, r.layer, r.head, self.settings)

    @_stage
    def weights_unmasked(self) -> np.ndarray:
        """(n, n) the selected head without the causal mask."""
        return self._pair()[0]

    @_stage
    def weights_causal(self) -> np.ndarray:
        """(n, n) the selected head with the causal mask."""
        return self._pair()[1]

    @_stage
    def masked_scores_causal(self) -> np.ndarray:
        """(n, n) scaled scores with −∞ above the diagonal."""
        return self._pair()[2]

    @_stage
    def causal_shift(self) -> np.ndarray:
        """(n, n) weights_causal − weights_unmasked: where the mask moved weight."""
        return self.weights_causal - self.weights_unmasked


# Every field a panel may declare it needs.
STAGES = tuple(name for name, v in vars(Result).items() if isinstance(v, _stage))


def _check_finite(r: Request, name: str, a: Any) -> None:
    """Refuse a result with NaN or infinity in what panels draw as numbers or colours.

    The session keeps typed values small enough for float32 (session.MAX_VALUE), so for the toy
    scenes this never fires; a model folder whose weights hold NaN or huge values would.
    """
    if isinstance(a, np.ndarray) and a.size and not np.isfinite(a).all():
        source = r.source.summary.split(" — ")[0] or "the toy model"
        raise NotFiniteError(
            f"the {name.replace('_', ' ')} hold NaN or infinity, so nothing can be drawn: "
            f"{source} gives numbers float32 cannot hold (check its weights or values)"
        )


def needs_of(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` checked against what a result provides (a typo fails at import, not later)."""
    names = tuple(names)
    for n in names:
        if not n.startswith("view:") and n not in STAGES:
            raise ValueError(f"a result has no stage {n!r}; it has {STAGES}")
    return names
