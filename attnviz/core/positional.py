"""Positional information: sinusoidal encodings and rotary embeddings (RoPE).

Attention alone cannot tell word order: permuting the tokens permutes the outputs the same way.
Sinusoidal encodings (Vaswani et al., 2017) add a position-dependent vector to each embedding;
RoPE (Su et al., 2021) rotates each pair of query/key features by an angle proportional to the
position, so the score q_m · k_n depends on the positions only through m - n.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attnviz.core._xp import array_namespace

__all__ = ["apply_rope", "rope_angles", "rope_frequencies", "sinusoidal_encoding"]


def sinusoidal_encoding(n_positions: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """(n_positions, d_model) matrix: PE[p, 2i] = sin(p / base^(2i/d)), PE[p, 2i+1] = cos(...)."""
    if n_positions < 1 or d_model < 1:
        raise ValueError("n_positions and d_model must be >= 1")
    pos = np.arange(n_positions, dtype=np.float64)[:, None]  # (P, 1)
    i = np.arange(0, d_model, 2, dtype=np.float64)[None, :]  # (1, ceil(d/2))
    angle = pos / base ** (i / d_model)  # (P, ceil(d/2))
    pe = np.empty((n_positions, d_model), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return pe


def rope_frequencies(head_dim: int, base: float = 10000.0) -> np.ndarray:
    """The head_dim/2 rotation frequencies theta_i = base^(-2i/head_dim), fastest first."""
    if head_dim < 2 or head_dim % 2:
        raise ValueError(f"RoPE needs an even head dimension, got {head_dim}")
    return base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)


def rope_angles(
    positions: Any, head_dim: int, base: float = 10000.0, frequencies: Any | None = None
) -> np.ndarray:
    """(..., head_dim/2) rotation angles position * theta_i.

    ``frequencies`` replaces base^(-2i/head_dim) with one frequency per pair: the long-context
    variants (Llama 3, YaRN, LongRoPE) rescale each pair's frequency separately.
    """
    pos = np.asarray(positions, dtype=np.float64)
    if frequencies is None:
        theta = rope_frequencies(head_dim, base)
    else:
        theta = np.asarray(frequencies, dtype=np.float64)
        if theta.shape != (head_dim // 2,) or not np.isfinite(theta).all():
            raise ValueError(
                f"RoPE needs {head_dim // 2} finite frequencies for head dim {head_dim}, got "
                f"shape {theta.shape}"
            )
    return pos[..., None] * theta


def apply_rope(
    x: Any,
    positions: Any | None = None,
    base: float = 10000.0,
    interleaved: bool = False,
    *,
    frequencies: Any | None = None,
    scaling: float = 1.0,
) -> Any:
    """Rotate query or key vectors x (..., L, E) by their positions (default 0..L-1).

    ``interleaved=False`` pairs feature i with i + E/2 (GPT-NeoX / Llama "rotate_half");
    ``interleaved=True`` pairs 2i with 2i+1 (the RoFormer paper). Both give scores that depend
    only on relative offsets. ``frequencies`` (one per pair) replaces base^(-2i/E);
    ``scaling`` multiplies cos and sin (YaRN's and LongRoPE's attention factor: every score
    q·k grows by scaling²).
    """
    xp = array_namespace(x)
    *_, n, e = x.shape
    if positions is None:
        positions = np.arange(n)
    ang = rope_angles(positions, e, base, frequencies)  # (L, E/2)
    cos = xp.asarray(np.cos(ang) * scaling, dtype=x.dtype)
    sin = xp.asarray(np.sin(ang) * scaling, dtype=x.dtype)
    if interleaved:
        x1, x2 = x[..., 0::2], x[..., 1::2]
    else:
        x1, x2 = x[..., : e // 2], x[..., e // 2 :]
    r1 = x1 * cos - x2 * sin
    r2 = x1 * sin + x2 * cos
    out = xp.empty_like(x)
    if interleaved:
        out[..., 0::2], out[..., 1::2] = r1, r2
    else:
        out[..., : e // 2], out[..., e // 2 :] = r1, r2
    return out
