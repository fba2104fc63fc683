"""A toy encoder–decoder for cross-attention: French source, English target, built by hand.

Cross-attention takes its queries from the decoder (the sentence being written) and its keys and
values from the encoder (the sentence being translated), so its weights form an L × S alignment:
row i says which source words target word i reads. Here every number is explicit and
illustrative, not trained:

- both languages embed a word as the *meaning* it carries (one feature per concept: determiner,
  cat, dog, sleep, …), so "cat" and "chat" share the feature ``cat``;
- a word outside the small lexicon gets a stable *spelling* vector (a unit vector seeded by the
  word itself), so a name written the same in both sentences still finds itself;
- a weak *position* feature (cos, sin of π times the relative position) prefers source words
  at the same relative place, which tells the two "le" of "le chat mange le poisson" apart;
- Wq asks for the decoder word's meaning, spelling and place, Wk offers the encoder word's, and
  Wv passes on the source word's meaning.

A real encoder first mixes its sentence with self-attention; the toy skips that, so the
alignment shows the cross-attention step alone. The gains are set in logits (after the 1/√E
scaling of scaled dot-product attention): a meaning match adds ``MATCH_LOGIT``, the same place
adds up to ``POSITION_LOGIT``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from attnviz.lessons.scenes import TextError
from attnviz.lessons.toy_model import tokenize

__all__ = [
    "CONCEPTS",
    "DECODER_TEXT",
    "ENCODER_TEXT",
    "MAX_WORDS",
    "CrossInput",
    "build_cross",
    "sentence_tokens",
]

ENCODER_TEXT = "Le chat dort"
DECODER_TEXT = "The cat sleeps"
MAX_WORDS = 32  # a sentence pair, not a document: each word gets its own row and label

CONCEPTS = ("det", "cat", "dog", "mouse", "fish", "sleep", "eat", "see", "black", "small",
            "and", "punct")  # fmt: skip
N_CONCEPTS = len(CONCEPTS)
N_SPELLING = 8
N_POSITION = 2
D_MODEL = N_CONCEPTS + N_SPELLING + N_POSITION
MATCH_LOGIT = 6.0  # scaled score of a query and a key that carry the same meaning
SPELLING_LOGIT = 5.0  # ... of two unknown words spelt alike
POSITION_LOGIT = 1.5  # ... of two words at the same relative place (cos of the gap otherwise)

_ENGLISH = {
    "the": "det", "a": "det", "an": "det",
    "cat": "cat", "cats": "cat", "dog": "dog", "dogs": "dog", "mouse": "mouse", "fish": "fish",
    "sleeps": "sleep", "sleep": "sleep", "sleeping": "sleep",
    "eats": "eat", "eat": "eat", "sees": "see", "see": "see",
    "black": "black", "small": "small", "little": "small", "and": "and",
}  # fmt: skip
_FRENCH = {
    "le": "det", "la": "det", "les": "det", "un": "det", "une": "det",
    "chat": "cat", "chats": "cat", "chien": "dog", "chiens": "dog", "souris": "mouse",
    "poisson": "fish", "dort": "sleep", "dorment": "sleep", "mange": "eat", "mangent": "eat",
    "voit": "see", "voient": "see", "noir": "black", "noire": "black",
    "petit": "small", "petite": "small", "et": "and",
}  # fmt: skip
LEXICONS = {"decoder": _ENGLISH, "encoder": _FRENCH}
ROLE_NAMES = {"decoder": "decoder (English)", "encoder": "encoder (French)"}


def sentence_tokens(text: str, role: str) -> tuple[str, ...]:
    """The words of one side's sentence, or a TextError saying what to type instead."""
    if role not in LEXICONS:
        raise ValueError(f"role must be 'encoder' or 'decoder', got {role!r}")
    if not isinstance(text, str):
        raise TextError(f"the {ROLE_NAMES[role]} sentence must be text, got {text!r}")
    tokens = tuple(tokenize(text))
    if not tokens:
        raise TextError(f"The {ROLE_NAMES[role]} sentence is empty: type at least one word.")
    if len(tokens) > MAX_WORDS:
        raise TextError(
            f"The {ROLE_NAMES[role]} sentence has {len(tokens)} words; cross-attention here "
            f"shows at most {MAX_WORDS}, one row or column each. Shorten it."
        )
    return tokens


def _spelling(word: str) -> np.ndarray:
    """A unit vector fixed by the word's spelling: the same word, the same vector."""
    seed = int.from_bytes(hashlib.sha256(word.lower().encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(N_SPELLING)
    return v / np.linalg.norm(v)


def embed_sentence(tokens: tuple[str, ...], role: str) -> np.ndarray:
    """X (n, D_MODEL): meaning, then spelling (unknown words only), then relative position."""
    lexicon = LEXICONS[role]
    n = len(tokens)
    x = np.zeros((n, D_MODEL))
    for i, tok in enumerate(tokens):
        word = tok.lower()
        if word in lexicon:
            x[i, CONCEPTS.index(lexicon[word])] = 1.0
        elif not any(ch.isalnum() for ch in word):
            x[i, CONCEPTS.index("punct")] = 1.0
        else:
            x[i, N_CONCEPTS : N_CONCEPTS + N_SPELLING] = _spelling(word)
        p = (i + 0.5) / n  # relative place in (0, 1): sentences of different lengths line up
        x[i, -2:] = (math.cos(math.pi * p), math.sin(math.pi * p))
    return x


@dataclass(frozen=True)
class CrossInput:
    """Both sentences embedded, and the one cross-attention head's projections."""

    decoder_tokens: tuple[str, ...]  # L target words: the queries
    encoder_tokens: tuple[str, ...]  # S source words: the keys and values
    x_dec: np.ndarray  # (L, D_MODEL)
    x_enc: np.ndarray  # (S, D_MODEL)
    wq: np.ndarray  # (D_MODEL, E): applied to the decoder
    wk: np.ndarray  # (D_MODEL, E): applied to the encoder
    wv: np.ndarray  # (D_MODEL, N_CONCEPTS): applied to the encoder
    value_names: tuple[str, ...]  # what each column of the output means


def build_cross(encoder_text: str, decoder_text: str) -> CrossInput:
    """Embed a French source and an English target and write down Wq, Wk, Wv."""
    enc = sentence_tokens(encoder_text, "encoder")
    dec = sentence_tokens(decoder_text, "decoder")
    e = D_MODEL
    root_e = math.sqrt(e)  # scaled dot-product attention divides q·k by √E; the gains undo it
    gains = np.concatenate([
        np.full(N_CONCEPTS, MATCH_LOGIT), np.full(N_SPELLING, SPELLING_LOGIT),
        np.full(N_POSITION, POSITION_LOGIT),
    ])  # fmt: skip
    wq = np.diag(gains * root_e)  # (D, E): the decoder word asks for itself, in each block
    wk = np.eye(D_MODEL, e)  # (D, E): the encoder word offers itself
    wv = np.eye(D_MODEL, N_CONCEPTS)  # (D, C): the source word's meaning is passed on
    return CrossInput(
        decoder_tokens=dec,
        encoder_tokens=enc,
        x_dec=embed_sentence(dec, "decoder"),
        x_enc=embed_sentence(enc, "encoder"),
        wq=wq,
        wk=wk,
        wv=wv,
        value_names=CONCEPTS,
    )
