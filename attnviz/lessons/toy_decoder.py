"""A toy decoder that reads the lesson's sentence one token at a time through a KV cache.

Two attention-only layers, four query heads sharing two key/value heads (GQA), head width 4 and
RoPE, with weights drawn from a seeded normal distribution: nothing is trained, the point is the
bookkeeping. Each step feeds the next token's embedding, appends its keys and values to the cache
and reads the whole cache; the same prefix recomputed from scratch under the causal mask must
give the same outputs, which :func:`run_toy_decode` checks at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.core.decoding import DecoderLayer, decode_step, decoder_forward, new_cache

__all__ = [
    "N_KV_HEADS",
    "N_LAYERS",
    "N_Q_HEADS",
    "TOY_HEAD_DIM",
    "DecodeTrace",
    "build_toy_decoder",
    "run_toy_decode",
]

N_LAYERS = 2
N_Q_HEADS = 4
N_KV_HEADS = 2
TOY_HEAD_DIM = 4


def build_toy_decoder(d_model: int, seed: int = 0) -> list[DecoderLayer]:
    """The toy decoder's layers for embeddings of width ``d_model`` (same seed, same weights)."""
    if d_model < 1:
        raise ValueError(f"d_model must be >= 1, got {d_model}")
    rng = np.random.default_rng(seed)
    e, hq, hkv = TOY_HEAD_DIM, N_Q_HEADS, N_KV_HEADS
    s_in, s_out = 1.0 / np.sqrt(d_model), 0.5 / np.sqrt(hq * e)  # keep activations near unit size
    return [
        DecoderLayer(
            wq=rng.normal(0.0, s_in, (d_model, hq * e)),
            wk=rng.normal(0.0, s_in, (d_model, hkv * e)),
            wv=rng.normal(0.0, s_in, (d_model, hkv * e)),
            wo=rng.normal(0.0, s_out, (hq * e, d_model)),
            n_q_heads=hq,
            n_kv_heads=hkv,
        )
        for _ in range(N_LAYERS)
    ]


@dataclass(frozen=True)
class DecodeTrace:
    """What ``steps`` cached decoding steps left behind, and the check against recomputing.

    keys, values: (layers, Hkv, T, E) the cache's contents after the last step (post-RoPE);
    cached, recomputed: (T, D) each position's output by the two routes (recomputed: the whole
    prefix at once under the causal mask); step_diff: (T,) the largest |cached - recomputed|
    of each position.
    """

    steps: int
    keys: np.ndarray
    values: np.ndarray
    cached: np.ndarray
    recomputed: np.ndarray
    step_diff: np.ndarray
    cache_bytes: int

    @property
    def max_abs_diff(self) -> float:
        return float(self.step_diff.max()) if self.step_diff.size else 0.0


def run_toy_decode(x: np.ndarray, steps: int, seed: int = 0) -> DecodeTrace:
    """Feed the first ``steps`` rows of x (n, D) one at a time through the toy decoder."""
    x = np.asarray(x, dtype=np.float64)
    if not 0 <= steps <= x.shape[0]:
        raise ValueError(f"steps must lie in [0, {x.shape[0]}], got {steps}")
    layers = build_toy_decoder(x.shape[1], seed)
    cache = new_cache(layers)
    cached = np.zeros((steps, x.shape[1]))
    for t in range(steps):
        cached[t] = decode_step(x[t], layers, cache)
    # Decoding without a cache: the whole prefix again, every position under the causal mask.
    recomputed = decoder_forward(x[:steps], layers) if steps else np.zeros((0, x.shape[1]))
    diff = np.abs(cached - recomputed).max(axis=1) if steps else np.zeros(0)
    keys = np.stack([cache.keys(i)[0] for i in range(N_LAYERS)])  # (layers, Hkv, T, E)
    values = np.stack([cache.values(i)[0] for i in range(N_LAYERS)])
    return DecodeTrace(
        steps=steps,
        keys=keys.copy(),
        values=values.copy(),
        cached=cached,
        recomputed=recomputed,
        step_diff=diff,
        cache_bytes=cache.nbytes,
    )
