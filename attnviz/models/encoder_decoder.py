"""Running an encoder–decoder :class:`~attnviz.models.model.Model` (BART, Marian): a source
sentence and a target give three attentions — the encoder's self-attention, the decoder's
causal self-attention, and the decoder's cross-attention over the source.

>>> m = models.load("~/models/opus-mt-fr-en")                           # doctest: +SKIP
>>> target = translate(m, "Le chat est assis.")                          # doctest: +SKIP
>>> pair = forward_pair(m, "Le chat est assis.", target)                 # doctest: +SKIP
>>> pair.cross.attentions.shape   # (decoder layers, heads, target tokens, source tokens)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.models.base import LayerResult
from attnviz.models.errors import ModelError
from attnviz.models.model import Model, ModelTrace
from attnviz.models.seq2seq import CrossTrace, Seq2SeqFamily
from attnviz.models.tokenizer import Encoding

__all__ = [
    "MAX_NEW_TOKENS",
    "PairTrace",
    "decoder_encoding",
    "family_of",
    "forward_pair",
    "is_encoder_decoder",
    "translate",
]

MAX_NEW_TOKENS = 64  # a sentence, not a document: greedy decoding stops here at the latest


@dataclass(frozen=True)
class PairTrace:
    """One source sentence and one target through an encoder–decoder."""

    encoder: ModelTrace  # source tokens, bidirectional
    decoder: ModelTrace  # decoder_start + target tokens, causal self-attention
    cross: CrossTrace  # decoder queries over encoder keys and values


def is_encoder_decoder(model: Model) -> bool:
    return isinstance(model.family, Seq2SeqFamily)


def family_of(model: Model) -> Seq2SeqFamily:
    fam = model.family
    if not isinstance(fam, Seq2SeqFamily):
        raise ModelError(
            f"{model.info.name} is not an encoder–decoder: it has no target sentence and no "
            "cross-attention"
        )
    return fam


def decoder_encoding(model: Model, target: str) -> Encoding:
    """What the decoder reads for ``target``: its start token, then the target's tokens
    (without the end-of-sentence token the tokenizer would append)."""
    fam = family_of(model)
    if not isinstance(target, str):
        raise TypeError(f"target must be a str, got {type(target).__name__}")
    body = model.tokenizer.encode_target(target).ids if target.strip() else []
    enc = model.tokenizer.from_ids([fam.decoder_start, *(int(i) for i in body)])
    limit = model.info.max_positions
    if len(enc) > limit:
        raise ModelError(
            f"the target is {len(enc)} tokens long with the start token, but {model.info.name} "
            f"reads at most {limit}; shorten it"
        )
    if int(enc.ids.max()) >= getattr(fam, "decoder_vocab", model.info.vocab_size):
        raise ModelError(
            f"the tokenizer gives a target token id the decoder's vocabulary lacks "
            f"({int(enc.ids.max())}): tokenizer and weights do not match"
        )
    return enc


def _trace(enc: Encoding, hidden: list[np.ndarray], results: list[LayerResult], causal: bool,
           ) -> ModelTrace:  # fmt: skip
    return ModelTrace(
        tokens=enc.tokens, labels=enc.labels, special=enc.special, ids=enc.ids,
        attentions=np.stack([r.weights for r in results]),
        q=np.stack([r.q for r in results]), k=np.stack([r.k for r in results]),
        v=np.stack([r.v for r in results]), hidden_states=np.stack(hidden),
        scales=tuple(r.scale for r in results), windows=tuple(r.window for r in results),
        causal=causal, softcaps=tuple(r.softcap for r in results),
        biases=tuple(r.bias for r in results),
    )  # fmt: skip


Stack = tuple[np.ndarray, list[np.ndarray], list[LayerResult], list[LayerResult]]


def _decode(model: Model, ids: np.ndarray, memory: np.ndarray) -> Stack:
    fam, store = family_of(model), model.loaded_weights()
    y = fam.embed_decoder(store.shared(), ids)
    hidden, own, cross = [y], [], []
    for i in range(fam.decoder_layers):
        t, _ = store.layer(model.info.layers + i)  # the decoder's blocks follow the encoder's
        y, s, c = fam.decoder_layer(i, t, y, memory)
        hidden.append(y)
        own.append(s)
        cross.append(c)
    return y, hidden, own, cross


def forward_pair(model: Model, source: str, target: str) -> PairTrace:
    """Run the encoder on ``source`` and the decoder on ``target`` (teacher forcing)."""
    fam = family_of(model)
    encoder = model.forward(source)
    dec = decoder_encoding(model, target)
    memory = fam.encoder_output(model.loaded_weights().shared(), encoder.hidden_states[-1])
    _, hidden, own, cross = _decode(model, dec.ids, memory)
    return PairTrace(
        encoder=encoder,
        decoder=_trace(dec, hidden, own, causal=True),
        cross=CrossTrace(
            attentions=np.stack([r.weights for r in cross]),
            q=np.stack([r.q for r in cross]),
            k=np.stack([r.k for r in cross]),
            v=np.stack([r.v for r in cross]),
            scales=tuple(r.scale for r in cross),
        ),
    )


def translate(model: Model, source: str, max_new_tokens: int = MAX_NEW_TOKENS) -> str:
    """The model's greedy output for ``source`` (most likely token at each step, never the
    padding token, until end of sentence or ``max_new_tokens``), as text."""
    return model.tokenizer.decode(greedy_ids(model, source, max_new_tokens)[1:])


def greedy_ids(model: Model, source: str, max_new_tokens: int = MAX_NEW_TOKENS) -> np.ndarray:
    """Decoder ids of greedy decoding, the start token first (and end of sentence last, when
    reached). Recomputes the decoder over the whole prefix at each step (no KV cache)."""
    fam = family_of(model)
    if not 1 <= max_new_tokens <= MAX_NEW_TOKENS:
        raise ValueError(f"max_new_tokens must lie in [1, {MAX_NEW_TOKENS}], got {max_new_tokens}")
    shared = model.loaded_weights().shared()
    memory = fam.encoder_output(shared, model.forward(source).hidden_states[-1])
    ids = [fam.decoder_start]
    limit = min(max_new_tokens, model.info.max_positions - 1)
    for _ in range(limit):
        y, *_ = _decode(model, np.asarray(ids, dtype=np.int64), memory)
        logits = fam.logits(shared, y[-1:])[0].astype(np.float64)
        if fam.pad is not None and fam.pad < logits.size:
            logits[fam.pad] = -np.inf
        nxt = int(np.argmax(logits))
        ids.append(nxt)
        if nxt == fam.eos:
            break
    return np.asarray(ids, dtype=np.int64)
