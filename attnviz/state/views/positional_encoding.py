"""The positional-encoding panel's numbers: sinusoids, RoPE rotations, and why order needs adding.

- The sinusoidal matrix PE (positions × dims) of Vaswani et al.
- RoPE: one query vector rotated to positions 0..n-1; each feature pair (i, i + d/2) turns by
  position × theta_i, so a few pairs drawn in their plane trace circles at their own speeds.
- The score between a query at position m and a key at position n as a function of m - n, with
  RoPE and without any position (flat: content alone cannot tell near from far), and the check
  that shifting both positions leaves the RoPE score unchanged.
- Permutation: attention on position-free token vectors, shuffled by a seeded permutation P,
  gives exactly P W Pᵀ; adding sinusoidal positions by slot after the shuffle breaks that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented

from attnviz.core.attention import attention
from attnviz.core.positional import apply_rope, rope_frequencies, sinusoidal_encoding
from attnviz.state.request import Result
from attnviz.state.views import Params, register_view, whole_number

__all__ = [
    "MAX_PERMUTATION_TOKENS",
    "PositionalData",
    "PositionalParams",
    "compute",
    "content_vectors",
    "frequency_indices",
    "permutation_check",
    "rope_scores",
]

MAX_PERMUTATION_TOKENS = 48  # the permutation demo shows at most this many tokens
SHIFT_CHECK = 17  # positions added to both query and key in the relative-offset check

_LIMITS = {"n_positions": (2, 512), "d_model": (4, 512), "pair": (0, 255), "seed": (0, 2**31 - 1)}
_NAMES = {"n_positions": "positions", "d_model": "d_model", "pair": "pair", "seed": "seed"}


@evented
@dataclass
class PositionalParams(Params):
    """Positions shown, model width (even), RoPE/sinusoid base, the pair to follow, the seed."""

    n_positions: int = 64
    d_model: int = 64
    base: float = 10000.0
    pair: int = 0
    seed: int = 0

    def validate(self, name: str, value: Any) -> Any:
        if name == "base":
            if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
                raise ValueError(f"base must be a number, got {value!r}")
            value = float(value)
            if not (np.isfinite(value) and 1.0 < value <= 1e9):
                raise ValueError(f"base must be a number above 1 (10000 is usual), got {value:g}")
            return value
        if name not in _LIMITS:
            return value
        value = whole_number(_NAMES[name], value, *_LIMITS[name])
        if name == "d_model" and value % 2:
            raise ValueError(f"d_model must be even (RoPE rotates pairs of features), got {value}")
        half = self.d_model // 2 if name != "d_model" else value // 2
        if name == "pair" and value >= half:
            raise ValueError(f"pair must lie in [0, {half - 1}] for d_model = {self.d_model}")
        if name == "d_model" and getattr(self, "_ready", False) and self.pair >= half:
            # A narrower model has fewer pairs: follow its last one rather than refuse.
            object.__setattr__(self, "pair", half - 1)
        return value


def frequency_indices(d_model: int, pair: int) -> tuple[int, ...]:
    """The pairs drawn in the rotation plot: the chosen one and a spread from fast to slow."""
    half = d_model // 2
    return tuple(sorted({0, half // 4, half - 1, min(pair, half - 1)}))


def _unit_vector(seed: int, d: int, salt: str) -> np.ndarray:
    digest = hashlib.sha256(f"{salt}:{seed}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    v = rng.standard_normal(d)
    return v / np.linalg.norm(v) * np.sqrt(d)  # entries of unit size on average


def rope_scores(
    q: np.ndarray, k: np.ndarray, offsets: np.ndarray, base: float, start: int = 0
) -> np.ndarray:
    """Scaled score q_m · k_n / √d for m - n = each offset, both positions at least ``start``."""
    m = start + np.maximum(offsets, 0)  # (O,) query positions
    n = start + np.maximum(-offsets, 0)  # (O,) key positions
    qr = apply_rope(np.broadcast_to(q, (len(offsets), len(q)))[:, None, :], m[:, None], base)
    kr = apply_rope(np.broadcast_to(k, (len(offsets), len(k)))[:, None, :], n[:, None], base)
    return (qr[:, 0] * kr[:, 0]).sum(axis=1) / np.sqrt(len(q))  # (O,)


def content_vectors(tokens: tuple[str, ...], d: int, seed: int) -> np.ndarray:
    """(n, d) position-free token vectors: the same word, the same vector."""
    return np.stack([_unit_vector(seed, d, "token:" + t.lower()) for t in tokens])


def permutation_check(
    x: np.ndarray, wq: np.ndarray, wk: np.ndarray, perm: np.ndarray, pe: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Weights before and after shuffling the rows of x, and max |W_shuffled - P W Pᵀ|.

    ``pe`` (n, d), if given, is added by slot (position) after the shuffle, as a model would.
    """
    xs = x[perm]  # (n, d): row i is token perm[i]
    if pe is not None:
        x, xs = x + pe, xs + pe
    w = attention(x @ wq, x @ wk, x, return_weights=True, method="standard")[1]  # (n, n)
    ws = attention(xs @ wq, xs @ wk, xs, return_weights=True, method="standard")[1]
    return w, ws, float(np.abs(ws - w[np.ix_(perm, perm)]).max())


@dataclass(frozen=True)
class PositionalData:
    params: PositionalParams
    sinusoidal: np.ndarray  # (n_positions, d_model)
    frequencies: np.ndarray  # (d_model/2,) theta_i
    pairs: tuple[int, ...]  # the pairs drawn
    rotated: np.ndarray  # (len(pairs), n_positions, 2): q's pair i at each position
    offsets: np.ndarray  # (2n-1,) m - n
    score_rope: np.ndarray  # (2n-1,) with RoPE, positions from 0
    score_rope_shifted: np.ndarray  # (2n-1,) the same offsets, both positions + SHIFT_CHECK
    score_plain: np.ndarray  # (2n-1,) no positional information
    score_pair: np.ndarray  # (2n-1,) the chosen pair's share of the RoPE score
    shift_max_diff: float  # max |score_rope - score_rope_shifted|
    tokens: tuple[str, ...]  # the permutation demo's tokens (first MAX_PERMUTATION_TOKENS)
    permutation: np.ndarray  # (n,) shuffled slot i holds token permutation[i]
    weights: np.ndarray  # (n, n) no positions, original order
    weights_shuffled: np.ndarray  # (n, n) no positions, shuffled order
    perm_max_diff: float  # max |W_shuffled - P W Pᵀ| without positions (rounding only)
    weights_pos: np.ndarray  # (n, n) with sinusoidal positions, original order
    weights_pos_shuffled: np.ndarray
    perm_max_diff_pos: float  # the same check with positions: far from zero
    truncated: bool  # the text had more tokens than the demo shows


@register_view("positional_encoding", params=PositionalParams)
def compute(result: Result, params: PositionalParams) -> PositionalData:
    request = result.request
    n, d, base = params.n_positions, params.d_model, params.base
    half = d // 2
    pair = min(params.pair, half - 1)
    pe = sinusoidal_encoding(n, d, base)
    theta = rope_frequencies(d, base)
    pairs = frequency_indices(d, pair)
    # One query vector carried to every position: rotate_half pairs feature i with i + d/2.
    q = _unit_vector(params.seed, d, "query")
    k = q + 0.5 * _unit_vector(params.seed, d, "key")  # a key that mostly agrees with q
    qr = apply_rope(np.broadcast_to(q, (n, d)), np.arange(n), base)  # (n, d)
    rotated = np.stack([np.stack([qr[:, i], qr[:, i + half]], axis=1) for i in pairs])
    offsets = np.arange(-(n - 1), n)
    with_rope = rope_scores(q, k, offsets, base)
    shifted = rope_scores(q, k, offsets, base, start=SHIFT_CHECK)
    plain = np.full(offsets.shape, float(q @ k) / np.sqrt(d))
    # The chosen pair's term: |q_i||k_i| cos(phase + offset * theta_i), as a share of the score.
    qc = complex(q[pair], q[pair + half])
    kc = complex(k[pair], k[pair + half])
    pair_term = np.real(qc * np.conj(kc) * np.exp(1j * offsets * theta[pair])) / np.sqrt(d)

    tokens = tuple(request.tokens[:MAX_PERMUTATION_TOKENS])
    x = content_vectors(tokens, d, params.seed)
    rng = np.random.default_rng(params.seed)
    wq = rng.standard_normal((d, d)) / np.sqrt(d)
    wk = rng.standard_normal((d, d)) / np.sqrt(d)
    perm = rng.permutation(len(tokens))
    w, ws, diff = permutation_check(x, wq, wk, perm, None)
    pe_tokens = sinusoidal_encoding(len(tokens), d, base)
    wp, wps, diff_pos = permutation_check(x, wq, wk, perm, pe_tokens)
    return PositionalData(
        params=params,
        sinusoidal=pe,
        frequencies=theta,
        pairs=pairs,
        rotated=rotated,
        offsets=offsets,
        score_rope=with_rope,
        score_rope_shifted=shifted,
        score_plain=plain,
        score_pair=pair_term,
        shift_max_diff=float(np.abs(with_rope - shifted).max()),
        tokens=tokens,
        permutation=perm,
        weights=w,
        weights_shuffled=ws,
        perm_max_diff=diff,
        weights_pos=wp,
        weights_pos_shuffled=wps,
        perm_max_diff_pos=diff_pos,
        truncated=len(request.tokens) > MAX_PERMUTATION_TOKENS,
    )
