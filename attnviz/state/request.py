"""What a computation is asked (``Request``, frozen from the session) and what it gives back
(``Result``): the data shared by the pipeline that makes them, the views computed from them and
the panels that draw them. Kept apart from the pipeline so that the views import it without a
cycle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from attnviz.core import AttentionTrace

__all__ = ["Request", "Result"]


@dataclass(frozen=True)
class Request:
    """A frozen description of one computation (arrays are copies, never the session's)."""

    scene: str
    tokens: tuple[str, ...]
    x: np.ndarray  # (n, d_model), edits applied
    wq: np.ndarray  # (H, d_model, d_k), edits applied
    wk: np.ndarray
    wv: np.ndarray
    head_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    layer: int
    head: int
    selected_token: int
    temperature: float
    causal: bool
    window: int | None
    backend: str
    logits: tuple[float, ...]
    view_params: dict[str, Any]  # frozen copies, one per panel view that has parameters
    text: str = ""
    model_path: str | None = None  # a real model's folder; None: the toy scene
    hide_special: bool = False  # drop special tokens' rows and columns, renormalise
    # Filled in by run() for a real model: its name and summary, which tokens are special.
    model_summary: str = ""
    special: tuple[bool, ...] = ()
    hidden_tokens: tuple[str, ...] = ()  # the special tokens hidden from view
    attention_path: str | None = None  # saved attention probabilities (.npz/.npy)

    @property
    def is_model(self) -> bool:
        return self.model_path is not None

    @property
    def is_file(self) -> bool:
        """Saved attention: probabilities only, no X, W, Q, K, V or scores."""
        return self.attention_path is not None

    @property
    def window_pair(self) -> tuple[int, int | None] | None:
        """Sliding window as the core's (left, right): ``window`` keys back, none ahead."""
        return None if self.window is None else (self.window, None if not self.causal else 0)


@dataclass(frozen=True)
class Result:
    """Every number the panels draw, computed for one request. Host NumPy arrays only."""

    request: Request
    q: np.ndarray  # (H, n, d_k)
    k: np.ndarray  # (H, n, d_k)
    v: np.ndarray  # (H, n, d_v)
    weights: np.ndarray  # (H, n, n) at the session's temperature and mask
    output: np.ndarray  # (H, n, d_v)
    head_entropy: np.ndarray  # (H, n) entropy of each row, nats
    trace: AttentionTrace  # the selected head, every step, at the session's settings
    weights_unmasked: np.ndarray  # (n, n) selected head, no causal mask
    weights_causal: np.ndarray  # (n, n) selected head, causal mask
    masked_scores_causal: np.ndarray  # (n, n) scores with -inf above the diagonal
    causal_shift: np.ndarray  # (n, n) weights_causal - weights_unmasked: where weight moved
    logit_probs: np.ndarray  # softmax(logits / T)
    logit_probs_t1: np.ndarray  # softmax(logits) at T = 1
    logit_argmax: np.ndarray  # the T -> 0 limit
    logit_entropy: float
    logit_entropy_t1: float
    backend: str  # which backend computed, and why
    seconds: float
    views: dict[str, Any]  # panel id -> that panel's own data, or a ViewError
    # Real models: every layer's weights (layers, H, n, n), at the session's T and mask.
    layer_weights: np.ndarray | None = None
    backend_label: str = ""  # the backend in a few words ("NumPy (CPU)"), for a status bar
