"""Cross-attention's numbers: a real encoder–decoder's (its decoder layer and head over the
source), or the toy encoder–decoder's alignment of two sentences.

Queries come from the decoder (L target tokens), keys and values from the encoder (S source
tokens), so the weights are L × S; they are computed by the same scaled dot-product attention
as every other panel, at the session's temperature, with no causal mask (the decoder may read
the whole source). Hidden special tokens are left out on both sides and each row renormalised
over the source tokens shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented

from attnviz.backends import scaled_dot_product_attention
from attnviz.lessons.cross_toy import DECODER_TEXT, ENCODER_TEXT, build_cross, sentence_tokens
from attnviz.state.request import Request, Result
from attnviz.state.views import Params, register_view

__all__ = ["CrossData", "CrossParams", "compute"]


@evented
@dataclass
class CrossParams(Params):
    """The two sentences and the decoder word whose weights are inspected."""

    encoder_text: str = ENCODER_TEXT
    decoder_text: str = DECODER_TEXT
    selected: int = 1  # "cat"
    # A real model's target token whose row is inspected (clipped to the target's length).
    target_token: int = 1

    def validate(self, name: str, value: Any) -> Any:
        if name == "encoder_text":
            sentence_tokens(value, "encoder")  # TextError (a ValueError) says what is wrong
            return value
        if name == "decoder_text":
            n = len(sentence_tokens(value, "decoder"))
            if getattr(self, "_ready", False) and self.selected >= n:
                self.selected = n - 1  # the inspected word stays inside the shorter sentence
            return value
        if name == "target_token":
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"the target token must be picked by its index, got {value!r}")
            return int(value)
        if name == "selected":
            n = len(sentence_tokens(self.decoder_text, "decoder"))
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"the decoder word must be picked by its index, got {value!r}")
            if not 0 <= value < n:
                raise ValueError(f"the decoder word index must lie in [0, {n - 1}], got {value}")
            return int(value)
        return value


@dataclass(frozen=True)
class CrossData:
    decoder_tokens: tuple[str, ...]  # L queries
    encoder_tokens: tuple[str, ...]  # S keys and values
    weights: np.ndarray  # (L, S) alignment: row i is decoder word i's weights over the source
    scores: np.ndarray  # (L, S) scaled scores before the softmax
    output: np.ndarray  # (L, C) what each decoder word reads: a mix of source meanings
    value_names: tuple[str, ...]  # the C meanings
    selected: int
    temperature: float
    trained: bool = False  # a real model's cross-attention (else the hand-built toy)
    layer: int = 0  # the decoder layer shown (a model's)
    head: int = 0
    layers: int = 1  # the decoder's layers


@register_view("cross_attention", params=CrossParams)
def compute(result: Result, params: CrossParams) -> CrossData:
    request = result.request
    if request.source.caps.cross:
        return _model_cross(request, params)
    toy = build_cross(params.encoder_text, params.decoder_text)
    # (L, D) @ (D, E) -> (L, E) queries from the decoder; (S, E) keys and values from the encoder.
    q = (toy.x_dec @ toy.wq)[None].astype(np.float32)  # (1, L, E): one head
    k = (toy.x_enc @ toy.wk)[None].astype(np.float32)  # (1, S, E)
    v = (toy.x_enc @ toy.wv)[None].astype(np.float32)  # (1, S, C)
    out, w = scaled_dot_product_attention(
        q, k, v, temperature=request.temperature, return_weights=True
    )
    scores = (q[0].astype(np.float64) @ k[0].T.astype(np.float64)) / np.sqrt(q.shape[-1])
    return CrossData(
        decoder_tokens=toy.decoder_tokens,
        encoder_tokens=toy.encoder_tokens,
        weights=np.asarray(w[0]),
        scores=scores / request.temperature,
        output=np.asarray(out[0]),
        value_names=toy.value_names,
        selected=min(params.selected, len(toy.decoder_tokens) - 1),
        temperature=request.temperature,
    )


def _model_cross(request: Request, params: CrossParams) -> CrossData:
    """One head of a real decoder layer's cross-attention over the source."""
    ci = request.source.cross_inputs(request.layer)
    h = min(request.head, ci.q.shape[0] - 1)
    q = ci.q[h] if ci.keep_rows is None else ci.q[h][ci.keep_rows]  # (L, E)
    k, v = ci.k[h], ci.v[h]  # (S, E): every source token; hidden ones are masked
    mask = None if ci.keep_keys is None else np.broadcast_to(ci.keep_keys, (len(q), len(k)))
    out, w = scaled_dot_product_attention(
        q[None], k[None], v[None], attn_mask=None if mask is None else mask[None],
        scale=ci.scale, temperature=request.temperature, return_weights=True,
    )  # fmt: skip
    scores = (q.astype(np.float64) @ k.T.astype(np.float64)) * ci.scale / request.temperature
    cols = slice(None) if ci.keep_keys is None else ci.keep_keys
    return CrossData(
        decoder_tokens=ci.queries,
        encoder_tokens=ci.keys,
        weights=np.asarray(w[0])[:, cols],
        scores=scores[:, cols],
        output=np.asarray(out[0]),
        value_names=(),
        selected=min(params.target_token, len(ci.queries) - 1),
        temperature=request.temperature,
        trained=True,
        layer=min(request.layer, ci.layers - 1),
        head=h,
        layers=ci.layers,
    )
