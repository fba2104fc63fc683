"""The flash-attention panel's numbers: memory against N, the seed's figure, and a tile trace.

- Memory of standard and flash attention for N = 128 … 128K from
  :func:`attnviz.core.memory.attention_cost` (its assumptions in ``ASSUMPTIONS``).
- The seed explainer's comparison (N = 4,096, fp16, one head) as our accounting gives it.
- A small example run through :func:`attnviz.core.flash.flash_attention` with ``record=True``:
  every (Q tile, K tile) step with the running max m, sum l and rescale factor alpha, and the
  exactness check |flash - standard|.

The live measurement is not here: it is run on demand (``attnviz.state.measure``); only its
size is a parameter, refused on assignment when it would not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented

from attnviz.core.attention import attention
from attnviz.core.flash import TileStep, flash_attention
from attnviz.core.memory import ASSUMPTIONS, AttentionCost, attention_cost
from attnviz.state.measure import check_fits
from attnviz.state.request import Result
from attnviz.state.views import Params, register_view, whole_number

__all__ = [
    "CURVE_N",
    "DTYPES",
    "GPU_TILE",
    "SEED_N",
    "FlashData",
    "FlashParams",
    "compute",
    "tile_example",
]

DTYPES = {"fp32": 4, "fp16": 2, "fp8": 1}
CURVE_N = 2 ** np.arange(7, 18)  # 128 … 131,072
SEED_N = 4096  # the seed explainer's sequence length
GPU_TILE = 64  # query rows and keys per tile in attnviz's CUDA kernel (cupy_backend._Q_TILE)
TILE_HEAD_DIM = 4

_LIMITS = {
    "n": (16, 1 << 20),
    "head_dim": (1, 1024),
    "measure_n": (16, 1 << 24),
    "tile_n": (2, 32),
    "block_q": (1, 32),
    "block_k": (1, 32),
    "seed": (0, 2**31 - 1),
}
_NAMES = {
    "n": "N",
    "head_dim": "head dim",
    "measure_n": "measured N",
    "tile_n": "example length",
    "block_q": "Q tile rows",
    "block_k": "K tile columns",
    "seed": "seed",
}


@evented
@dataclass
class FlashParams(Params):
    """Accounting (N, head dim, dtype), the measured N, and the tiling example's shape."""

    n: int = SEED_N
    head_dim: int = 64
    dtype: str = "fp16"
    measure_n: int = 1024
    tile_n: int = 12
    block_q: int = 4
    block_k: int = 4
    causal: bool = False
    seed: int = 0

    def validate(self, name: str, value: Any) -> Any:
        if name == "dtype":
            if value not in DTYPES:
                raise ValueError(f"dtype must be one of {list(DTYPES)}, got {value!r}")
            return value
        if name == "causal":
            return bool(value)
        if name not in _LIMITS:
            return value
        value = whole_number(_NAMES[name], value, *_LIMITS[name])
        if name == "measure_n":
            check_fits(value, self.head_dim)  # refuse before anything is allocated
        return value


@dataclass(frozen=True)
class FlashData:
    params: FlashParams
    assumptions: str
    curve_n: np.ndarray  # (K,) sequence lengths
    curve_standard: np.ndarray  # (K,) bytes, standard path (float64 for plotting; exact below)
    curve_flash: np.ndarray  # (K,) bytes, flash path
    cost: AttentionCost  # at params.n
    seed_cost: AttentionCost  # N = 4096, fp16, one head, params.head_dim
    gpu_tile_bytes: int  # one GPU tile's working set in on-chip memory (Q, K, V tiles and S)
    # tiling example
    q: np.ndarray  # (tile_n, E)
    k: np.ndarray
    v: np.ndarray
    weights: np.ndarray  # (tile_n, tile_n) the probabilities flash never stores (for the grid)
    tiles: tuple[TileStep, ...]
    skipped_tiles: int
    output_flash: np.ndarray  # (tile_n, E)
    output_standard: np.ndarray
    lse: np.ndarray  # (tile_n,)
    max_abs_diff: float  # max |flash - standard| of the example's output


def tile_example(
    n: int, block_q: int, block_k: int, causal: bool, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any, np.ndarray, np.ndarray]:
    """The tiling example: q, k, v (n, 4) and the recorded flash run, the standard weights and
    output. Logits are spread (×3) so the running maximum visibly changes between tiles."""
    rng = np.random.default_rng(seed)
    q = 3.0 * rng.standard_normal((n, TILE_HEAD_DIM))
    k = rng.standard_normal((n, TILE_HEAD_DIM))
    v = rng.standard_normal((n, TILE_HEAD_DIM))
    run = flash_attention(q, k, v, is_causal=causal, block_q=block_q, block_k=block_k, record=True)
    out, w = attention(q, k, v, is_causal=causal, return_weights=True, method="standard")
    return q, k, v, run, w, out


@register_view("flash_attention", params=FlashParams)
def compute(result: Result, params: FlashParams) -> FlashData:
    caps = result.request.source.caps
    if not caps.has_qkv:
        raise ValueError(caps.no_qkv_reason)
    dtype_bytes = DTYPES[params.dtype]
    costs = [attention_cost(int(n), params.head_dim, dtype_bytes=dtype_bytes) for n in CURVE_N]
    d = params.head_dim
    # Q tile (64 × d), K and V tiles (64 × d each), the 64 × 64 score tile; m, l per row.
    tile_bytes = (3 * GPU_TILE * d + GPU_TILE * GPU_TILE) * dtype_bytes + 2 * GPU_TILE * 4
    q, k, v, run, w, out = tile_example(
        params.tile_n, params.block_q, params.block_k, params.causal, params.seed
    )
    return FlashData(
        params=params,
        assumptions=ASSUMPTIONS,
        curve_n=CURVE_N.copy(),
        curve_standard=np.array([c.standard_bytes for c in costs], dtype=np.float64),
        curve_flash=np.array([c.flash_bytes for c in costs], dtype=np.float64),
        cost=attention_cost(params.n, d, dtype_bytes=dtype_bytes),
        seed_cost=attention_cost(SEED_N, d, heads=1, dtype_bytes=2),
        gpu_tile_bytes=tile_bytes,
        q=q,
        k=k,
        v=v,
        weights=w,
        tiles=tuple(run.tiles),
        skipped_tiles=run.skipped_tiles,
        output_flash=np.asarray(run.output),
        output_standard=out,
        lse=np.asarray(run.lse),
        max_abs_diff=float(np.abs(np.asarray(run.output) - out).max()),
    )
