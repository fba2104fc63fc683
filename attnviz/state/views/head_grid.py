"""The head grid's own numbers: one summary row per head of the current layer.

Data flow: the tiles are drawn from ``Result.weights`` (H, n, n), computed once for every
panel that shows the layer; this view adds the per-head summaries of
:mod:`attnviz.core.head_stats` from those same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.core.head_stats import HeadStats, head_stats
from attnviz.state.request import Result
from attnviz.state.views import register_view

__all__ = ["STAT_NAMES", "HeadGridData", "compute"]

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


@register_view("head_grid")
def compute(result: Result, params: None = None) -> HeadGridData:
    w = result.weights
    return HeadGridData(
        layer=result.request.layer,
        head_names=result.request.head_names,
        stats=head_stats(w),
        max_entropy=float(np.log(w.shape[-1])),
    )
