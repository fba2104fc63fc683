"""Tiled attention with an online softmax: the readable twin of the CUDA flash kernel.

The L×S score matrix is never formed. For each tile of ``block_q`` queries the keys are visited in
tiles of ``block_k``, keeping per query row a running maximum m, a running sum l of
exp(logit - m) and an unnormalised output acc (Milakov & Gimelshein 2018; Dao et al.,
"FlashAttention", 2022, Algorithm 1; FlashAttention-2, 2023, for the loop order):

    for each K/V tile not fully masked:
        s     = (q_tile * scale / T) @ k_tileᵀ          scores of this tile       (bq, bk)
        s     = -inf where masked
        m_new = max(m, rowmax(s))
        p     = exp(s - m_new)
        alpha = exp(m - m_new)                          rescales what came before
        l     = l * alpha + rowsum(p)
        acc   = acc * alpha + p @ v_tile
        m     = m_new
    O = acc / l        lse = m + log(l)                 (rows with l = 0: O = 0, lse = -inf)

``attnviz/backends/kernels/flash_attention.cu`` runs the same loop per thread block.

When Cauchy-Schwarz proves every logit lies within +-80 (the usual case) the running maximum is
fixed at 0 instead: exp cannot overflow, alpha is 1 and the row-max pass disappears, which is the
largest saving NumPy can make. ``record=True`` always keeps the true running maximum, so the
teaching panel shows the rescaling as the kernel does it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from attnviz.core._problem import Problem, prepare
from attnviz.core.softmax import flush_subnormal_exponents

__all__ = ["FlashResult", "TileStep", "flash_attention", "flash_forward", "weights_from_lse"]

DEFAULT_BLOCK_Q = 256
DEFAULT_BLOCK_K = 4096


@dataclass(frozen=True)
class TileStep:
    """One K/V tile visited by one Q tile of one head: the running state before and after."""

    head: tuple[int, ...]
    q_block: tuple[int, int]
    k_block: tuple[int, int]
    m_before: np.ndarray
    m_after: np.ndarray
    l_before: np.ndarray
    l_after: np.ndarray
    alpha: np.ndarray


@dataclass(frozen=True)
class FlashResult:
    """Output (*batch, Hq, L, Ev), log-sum-exp (*batch, Hq, L), and the tile trace if recorded."""

    output: Any
    lse: Any
    tiles: list[TileStep] = field(default_factory=list)
    skipped_tiles: int = 0


def flash_forward(
    p: Problem,
    block_q: int = DEFAULT_BLOCK_Q,
    block_k: int = DEFAULT_BLOCK_K,
    record: bool = False,
) -> FlashResult:
    """Run the tiled online-softmax forward on a checked :class:`Problem`."""
    if block_q < 1 or block_k < 1:
        raise ValueError(f"block sizes must be >= 1, got block_q={block_q}, block_k={block_k}")
    xp = p.xp
    out = xp.zeros(p.out_shape, dtype=p.q.dtype)
    lse = xp.full(p.out_shape[:-1], -np.inf, dtype=p.q.dtype)
    tiles: list[TileStep] = []
    skipped = 0
    fixed_max = not record and p.logits_bounded()
    factor = p.q_factor
    visible = None if p.visible is None else xp.broadcast_to(p.visible, p.scores_shape)
    bias = None if p.bias is None else xp.broadcast_to(p.bias, p.scores_shape)
    for head in np.ndindex(*p.batch, p.hq):
        kv_head = (*head[:-1], head[-1] // p.group)
        q = p.q[head]  # (L, E)
        k = p.k[kv_head]  # (S, E), shared by the group's query heads, never copied per head
        # [V | 1]: one GEMM gives both p @ v and the row sums of p.
        v1 = xp.concatenate([p.v[kv_head], xp.ones((p.length_k, 1), dtype=q.dtype)], axis=1)
        for i0 in range(0, p.length_q, block_q):
            i1 = min(i0 + block_q, p.length_q)
            lo, hi = p.key_range(i0, i1)
            nq = i1 - i0
            qs = q[i0:i1] * factor  # (bq, E): scale (and temperature, uncapped) in the Q tile
            m = xp.full(nq, 0.0 if fixed_max else -np.inf, dtype=q.dtype)
            acc = xp.zeros((nq, p.ev + 1), dtype=q.dtype)  # last column: l
            for j0 in range(lo, hi, block_k):
                j1 = min(j0 + block_k, hi)
                hidden = p.tile_invisible(i0, i1, j0, j1)
                if visible is not None:
                    vis_tile = visible[(*head, slice(i0, i1), slice(j0, j1))]
                    if not vis_tile.any():
                        skipped += 1
                        continue
                    hidden_m = ~vis_tile
                    hidden = hidden_m if hidden is None else hidden_m | xp.asarray(hidden)
                elif hidden is not None and hidden.all():
                    skipped += 1
                    continue
                s = qs @ k[j0:j1].T  # (bq, bk)
                p.cap_logits(s)
                if bias is not None:
                    s += bias[(*head, slice(i0, i1), slice(j0, j1))]
                if fixed_max:
                    xp.exp(s, out=s)
                    if hidden is not None:
                        s[xp.asarray(hidden)] = 0.0
                    acc += s @ v1[j0:j1]
                    continue
                if hidden is not None:
                    s[xp.asarray(hidden)] = -np.inf
                m_new = xp.maximum(m, s.max(axis=1))
                m_safe = xp.where(xp.isfinite(m_new), m_new, 0.0)  # all-masked so far: shift 0
                s -= m_safe[:, None]
                flush_subnormal_exponents(s)
                xp.exp(s, out=s)
                alpha = xp.exp(m - m_safe)  # exp(-inf) = 0 on the first visible tile
                if record:
                    tiles.append(
                        TileStep(
                            head=head,
                            q_block=(i0, i1),
                            k_block=(j0, j1),
                            m_before=np.array(m),
                            m_after=np.array(m_new),
                            l_before=np.array(acc[:, -1]),
                            l_after=np.array(acc[:, -1] * alpha + s.sum(axis=1)),
                            alpha=np.array(alpha),
                        )
                    )
                acc *= alpha[:, None]
                acc += s @ v1[j0:j1]
                m = m_new
            l_ = acc[:, -1]
            seen = l_ > 0
            out[(*head, slice(i0, i1))] = acc[:, :-1] / xp.where(seen, l_, 1.0)[:, None]
            with np.errstate(divide="ignore"):
                lse[(*head, slice(i0, i1))] = xp.where(seen, m + xp.log(l_), -np.inf)
    return FlashResult(output=out, lse=lse, tiles=tiles, skipped_tiles=skipped)


def flash_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    *,
    temperature: float = 1.0,
    window: tuple[int | None, int | None] | None = None,
    softcap: float | None = None,
    block_q: int = DEFAULT_BLOCK_Q,
    block_k: int = DEFAULT_BLOCK_K,
    record: bool = False,
) -> FlashResult:
    """Tiled attention returning output, log-sum-exp and (``record=True``) the tile trace.

    Arguments as :func:`attnviz.scaled_dot_product_attention`. The output has the caller's dtype;
    the log-sum-exp stays in the compute dtype.
    """
    p = prepare(
        query, key, value, attn_mask, is_causal, scale, enable_gqa, temperature, window, softcap
    )
    r = flash_forward(p, block_q=block_q, block_k=block_k, record=record)
    lse = r.lse if p.had_heads else r.lse[..., 0, :]
    return FlashResult(p.finish(r.output), lse, r.tiles, r.skipped_tiles)


def weights_from_lse(p: Problem, lse: Any) -> Any:
    """Attention probabilities exp(logit - lse), 0 where masked: the flash path's weights.

    This materialises (*batch, Hq, L, S); use it only where that fits (visualisation).
    """
    xp = p.xp
    s = p.mask_scores(p.cap_logits(p.scores(p.q_factor)))  # (*b, Hq, L, S), -inf where hidden
    lse_ = lse[..., None]
    s -= xp.where(xp.isfinite(lse_), lse_, 0.0)
    flush_subnormal_exponents(s)
    xp.exp(s, out=s)
    s *= xp.isfinite(lse_)  # rows that see no key: zeros
    return s
