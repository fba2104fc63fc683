"""Memory traffic and arithmetic of standard versus flash attention.

Assumptions (stated so the numbers can be checked by hand):

- Forward pass only, per head: two matrix products of 2·N·N·d FLOPs each (Q·Kᵀ and P·V), so
  4·N²·d FLOPs; a causal mask halves it (only the lower triangle is computed). Softmax's
  exponentials and sums (O(N²) but not multiply-adds) are not counted.
- Standard attention writes the N×N score matrix and the N×N probability matrix to main memory
  (GPU HBM) and reads them back: its extra memory is the N×N probabilities kept for the backward
  pass, N²·dtype_bytes per head. Flash attention keeps score tiles in on-chip memory (SRAM) and
  stores only the output and one log-sum-exp per row: its extra memory is N·4 bytes per head.
- Q, K, V and O (4·N·d values per head) are needed by both and are listed separately.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ASSUMPTIONS", "AttentionCost", "attention_cost"]

ASSUMPTIONS = __doc__.split("checked by hand):")[1].strip()


@dataclass(frozen=True)
class AttentionCost:
    """Bytes and FLOPs of one attention forward pass, all heads and batch together."""

    n: int
    head_dim: int
    heads: int
    batch: int
    dtype_bytes: int
    causal: bool
    flops: int
    qkvo_bytes: int
    standard_extra_bytes: int
    flash_extra_bytes: int

    @property
    def standard_bytes(self) -> int:
        """Q, K, V, O plus the N×N probability matrix."""
        return self.qkvo_bytes + self.standard_extra_bytes

    @property
    def flash_bytes(self) -> int:
        """Q, K, V, O plus one float32 log-sum-exp per query row."""
        return self.qkvo_bytes + self.flash_extra_bytes

    @property
    def ratio(self) -> float:
        """How many times more memory the standard path needs."""
        return self.standard_bytes / self.flash_bytes


def attention_cost(
    n: int,
    head_dim: int,
    heads: int = 1,
    dtype_bytes: int = 2,
    causal: bool = False,
    batch: int = 1,
) -> AttentionCost:
    """Memory and FLOPs of standard and flash attention for sequence length ``n``.

    See the module docstring for the assumptions. ``n`` = 4096 in fp16 gives a 32 MiB
    probability matrix per head, against 16 KiB of log-sum-exp for flash.
    """
    for name, v in (("n", n), ("head_dim", head_dim), ("heads", heads), ("batch", batch)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if dtype_bytes not in (1, 2, 4, 8):
        raise ValueError(f"dtype_bytes must be 1, 2, 4 or 8, got {dtype_bytes!r}")
    bh = heads * batch
    flops = 4 * n * n * head_dim * bh
    if causal:
        flops //= 2
    return AttentionCost(
        n=n,
        head_dim=head_dim,
        heads=heads,
        batch=batch,
        dtype_bytes=dtype_bytes,
        causal=causal,
        flops=flops,
        qkvo_bytes=4 * n * head_dim * dtype_bytes * bh,
        standard_extra_bytes=n * n * dtype_bytes * bh,
        flash_extra_bytes=n * 4 * bh,
    )
