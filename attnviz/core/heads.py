"""Splitting a model dimension into heads, and the MHA / MQA / GQA sharing of key/value heads.

Multi-head attention (MHA) gives each of Hq query heads its own key/value head (Hkv = Hq);
multi-query attention (MQA, Shazeer 2019) shares one (Hkv = 1); grouped-query attention
(GQA, Ainslie et al. 2023) shares each key/value head among Hq / Hkv consecutive query heads.
"""

from __future__ import annotations

from typing import Any, Literal

from attnviz.core._xp import array_namespace

__all__ = ["kv_head_for", "kv_heads_for_layout", "merge_heads", "repeat_kv", "split_heads"]


def split_heads(x: Any, n_heads: int) -> Any:
    """(..., L, H*E) -> (..., H, L, E)."""
    *lead, n, d_model = x.shape
    if n_heads < 1 or d_model % n_heads:
        raise ValueError(f"model width {d_model} does not split into {n_heads} heads")
    e = d_model // n_heads
    x = x.reshape(*lead, n, n_heads, e)  # (..., L, H, E)
    return array_namespace(x).moveaxis(x, -2, -3)  # (..., H, L, E)


def merge_heads(x: Any) -> Any:
    """(..., H, L, E) -> (..., L, H*E), the inverse of :func:`split_heads`."""
    *lead, h, n, e = x.shape
    x = array_namespace(x).moveaxis(x, -3, -2)  # (..., L, H, E)
    return x.reshape(*lead, n, h * e)  # (..., L, H*E)


def repeat_kv(x: Any, n_rep: int) -> Any:
    """(..., Hkv, S, E) -> (..., Hkv*n_rep, S, E): each KV head repeated for its query group.

    Head ``h`` of the result is KV head ``h // n_rep`` (consecutive grouping, as torch's
    ``enable_gqa`` and Llama's ``repeat_kv``). This copies; attention itself never needs it.
    """
    if n_rep < 1:
        raise ValueError(f"n_rep must be >= 1, got {n_rep}")
    if n_rep == 1:
        return x
    return array_namespace(x).repeat(x, n_rep, axis=-3)


def kv_head_for(query_head: int, n_q_heads: int, n_kv_heads: int) -> int:
    """The KV head that query head ``query_head`` reads under grouped sharing."""
    if n_kv_heads < 1 or n_q_heads % n_kv_heads:
        raise ValueError(
            f"{n_q_heads} query heads cannot be shared evenly by {n_kv_heads} key/value heads"
        )
    if not 0 <= query_head < n_q_heads:
        raise ValueError(f"query head {query_head} out of range [0, {n_q_heads})")
    return query_head // (n_q_heads // n_kv_heads)


def kv_heads_for_layout(
    layout: Literal["MHA", "MQA", "GQA"], n_q_heads: int, groups: int | None = None
) -> int:
    """Number of KV heads for a layout: MHA -> Hq, MQA -> 1, GQA -> ``groups``."""
    layout_u = layout.upper()
    if layout_u == "MHA":
        return n_q_heads
    if layout_u == "MQA":
        return 1
    if layout_u == "GQA":
        if groups is None or groups < 1 or n_q_heads % groups:
            raise ValueError(f"GQA needs a number of groups that divides {n_q_heads}, got {groups}")
        return groups
    raise ValueError(f"unknown layout {layout!r}; expected 'MHA', 'MQA' or 'GQA'")
