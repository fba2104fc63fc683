"""Cross-attention's own numbers: the toy encoder–decoder's alignment of two sentences.

Queries come from the decoder sentence (L words), keys and values from the encoder sentence
(S words), so the weights are L × S; they are computed by the same scaled dot-product attention
as every other panel, at the session's temperature, with no mask (the decoder may read the whole
source).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented

from attnviz.backends import scaled_dot_product_attention
from attnviz.lessons.cross_toy import DECODER_TEXT, ENCODER_TEXT, build_cross, sentence_tokens
from attnviz.state.request import Result
from attnviz.state.views import Params, register_view

__all__ = ["CrossData", "CrossParams", "compute"]


@evented
@dataclass
class CrossParams(Params):
    """The two sentences and the decoder word whose weights are inspected."""

    encoder_text: str = ENCODER_TEXT
    decoder_text: str = DECODER_TEXT
    selected: int = 1  # "cat"

    def validate(self, name: str, value: Any) -> Any:
        if name == "encoder_text":
            sentence_tokens(value, "encoder")  # TextError (a ValueError) says what is wrong
            return value
        if name == "decoder_text":
            n = len(sentence_tokens(value, "decoder"))
            if getattr(self, "_ready", False) and self.selected >= n:
                self.selected = n - 1  # the inspected word stays inside the shorter sentence
            return value
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


@register_view("cross_attention", params=CrossParams)
def compute(result: Result, params: CrossParams) -> CrossData:
    request = result.request
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
