"""The head grid's own numbers: one summary row per head of the current layer.

Data flow: the tiles are drawn from ``Result.weights`` (H, n, n), which the pipeline computes
for every panel; this view adds the per-head summaries of :mod:`attnviz.core.head_stats`. A view
is handed only the request, so it computes the layer's weights again through the same call the
pipeline makes (``layer_weights``); a test pins the two to the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.backends import scaled_dot_product_attention
from attnviz.core.head_stats import HeadStats, head_stats
from attnviz.state.request import Request
from attnviz.state.views import register_view

__all__ = ["STAT_NAMES", "HeadGridData", "compute", "layer_weights"]

STAT_NAMES = ("mean row entropy (nats)", "mean distance |i − j| (tokens)", "share on first token")


@dataclass(frozen=True)
class HeadGridData:
    layer: int
    head_names: tuple[str, ...]
    stats: HeadStats  # each field (H,)
    max_entropy: float  # log n: the entropy of a uniform row, for scale

    def table(self) -> np.ndarray:
        """(H, 3): the summaries side by side, columns as STAT_NAMES."""
        return np.stack(list(self.stats), axis=1)


def layer_weights(request: Request) -> np.ndarray:
    """(H, n, n) weights of the request's layer, at its temperature, mask and window."""
    r = request
    # Projections: (n, d) @ (H, d, d_k) -> (H, n, d_k), as the pipeline does.
    q = np.matmul(r.x, r.wq).astype(np.float32)
    k = np.matmul(r.x, r.wk).astype(np.float32)
    v = np.matmul(r.x, r.wv).astype(np.float32)
    _, w = scaled_dot_product_attention(
        q, k, v, is_causal=r.causal, temperature=r.temperature, window=r.window_pair,
        return_weights=True,
    )  # fmt: skip
    return np.asarray(w)


@register_view("head_grid")
def compute(request: Request, params: None = None) -> HeadGridData:
    w = layer_weights(request)
    return HeadGridData(
        layer=request.layer,
        head_names=request.head_names,
        stats=head_stats(w),
        max_entropy=float(np.log(w.shape[-1])),
    )
