"""A toy one-layer attention model whose heads are built, not trained, to show known patterns.

Every number is explicit and illustrative: each token's embedding X is a few named semantic
features (noun, animate, pronoun, verb, ...) followed by a positional part (cos/sin of the position
at four frequencies). Each head's Wq, Wk, Wv are written down so that a recognisable pattern
appears once the compute core runs attention:

- head 1, *previous token*: the query rotates the position back by one step, so token i matches
  the key of token i-1;
- head 2, *same position*: query and key both read the position, so each token looks at itself
  and its neighbours;
- head 3, *pronoun -> noun*: a pronoun's query asks for "animate noun", which only such nouns'
  keys answer — "it" finds "cat", not "mat";
- head 4, *verb -> its nouns*: a verb's query asks for nouns and pronouns; other tokens spread
  their attention.

Real trained heads are messier; the lecture point is that such patterns can be read off Q·Kᵀ.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FEATURES",
    "HEAD_NAMES",
    "MAX_TOKENS",
    "ToyModel",
    "build_toy_model",
    "embed",
    "tokenize",
]

FEATURES = ("noun", "animate", "pronoun", "verb", "function", "adjective", "sentiment", "punct")
N_SEM = len(FEATURES)
FREQS = np.array([0.9, 0.35, 2.1, 1.45])  # positional angular frequencies, incommensurate
N_POS = 2 * len(FREQS)
D_MODEL = N_SEM + N_POS
HEAD_DIM = 8
HEAD_NAMES = ("previous token", "same position", "pronoun → noun", "verb → nouns")

# Above this many tokens the L×L views would need more memory than a lecture laptop should
# spend (the Q/K/V trace alone keeps five L×L float64 matrices).
MAX_TOKENS = 2048

_LEXICON: dict[str, dict[str, float]] = {
    "cat": {"noun": 1.0, "animate": 1.0},
    "dog": {"noun": 1.0, "animate": 1.0},
    "mat": {"noun": 1.0},
    "game": {"noun": 1.0},
    "it": {"pronoun": 1.0},
    "he": {"pronoun": 1.0},
    "she": {"pronoun": 1.0},
    "they": {"pronoun": 1.0},
    "i": {"pronoun": 1.0, "animate": 0.5},
    "sat": {"verb": 1.0},
    "was": {"verb": 0.7, "function": 0.3},
    "love": {"verb": 1.0, "sentiment": 1.0},
    "the": {"function": 1.0},
    "this": {"function": 1.0},
    "a": {"function": 1.0},
    "on": {"function": 1.0},
    "because": {"function": 1.0},
    "tired": {"adjective": 1.0},
    "!": {"punct": 1.0, "sentiment": 0.5},
}

_TOKEN_RE = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]+")


def tokenize(text: str) -> list[str]:
    """Split text into words and runs of punctuation or symbols (emoji stay whole)."""
    return _TOKEN_RE.findall(text)


def _semantic(token: str) -> np.ndarray:
    known = _LEXICON.get(token.lower())
    vec = np.zeros(N_SEM)
    if known is not None:
        for name, value in known.items():
            vec[FEATURES.index(name)] = value
        return vec
    if not any(ch.isalnum() for ch in token):
        vec[FEATURES.index("punct")] = 1.0
        return vec
    # Unknown word: small, stable features from its spelling (the same word, the same vector).
    seed = int.from_bytes(hashlib.sha256(token.lower().encode()).digest()[:8], "little")
    return np.random.default_rng(seed).uniform(0.0, 0.4, N_SEM)


def _positional(n: int) -> np.ndarray:
    ang = np.arange(n)[:, None] * FREQS[None, :]  # (n, 4)
    out = np.empty((n, N_POS))
    out[:, 0::2] = np.cos(ang)
    out[:, 1::2] = np.sin(ang)
    return out


def embed(tokens: list[str]) -> np.ndarray:
    """X (n, 16): eight semantic features then eight positional ones, per token."""
    sem = np.stack([_semantic(t) for t in tokens]) if tokens else np.zeros((0, N_SEM))
    return np.concatenate([sem, _positional(len(tokens))], axis=1)


def _rotation(steps: float) -> np.ndarray:
    """(8, 8) block rotation taking position p's (cos, sin) pairs to position p + steps."""
    r = np.zeros((N_POS, N_POS))
    for m, w in enumerate(FREQS):
        c, s = np.cos(w * steps), np.sin(w * steps)
        # row vector [cos a, sin a] @ [[c, s], [-s, c]] = [cos(a + w*steps), sin(a + w*steps)]
        r[2 * m : 2 * m + 2, 2 * m : 2 * m + 2] = [[c, s], [-s, c]]
    return r


def _f(name: str) -> int:
    return FEATURES.index(name)


@dataclass(frozen=True)
class ToyModel:
    """Per-head projections, each (d_model, head_dim): Q = X @ wq[h], and so on."""

    wq: np.ndarray  # (H, d_model, head_dim)
    wk: np.ndarray  # (H, d_model, head_dim)
    wv: np.ndarray  # (H, d_model, head_dim)
    head_names: tuple[str, ...]

    @property
    def n_heads(self) -> int:
        return self.wq.shape[0]


def build_toy_model() -> ToyModel:
    """The four hand-built heads described in the module docstring."""
    h, d, e = len(HEAD_NAMES), D_MODEL, HEAD_DIM
    wq, wk = np.zeros((h, d, e)), np.zeros((h, d, e))
    pos = slice(N_SEM, D_MODEL)
    eye = np.eye(N_POS)
    # head 1: previous token. q_i = g·p_{i-1}, k_j = p_j -> q·k = g·Σ cos(w(i-1-j)).
    wq[0, pos, :] = 2.4 * _rotation(-1.0)
    wk[0, pos, :] = eye
    # head 2: same position, a softer peak on the diagonal.
    wq[1, pos, :] = 1.6 * eye
    wk[1, pos, :] = eye
    # head 3: pronoun -> animate noun. Query column 0 asks for "animate", key column 0 answers.
    wq[2, _f("pronoun"), 0] = 4.5
    wk[2, _f("animate"), 0] = 1.0
    wk[2, _f("noun"), 0] = 0.35
    wq[2, pos, 1:] = 0.5 * eye[:, 1:]  # other tokens: a faint look at themselves
    wk[2, pos, 1:] = eye[:, 1:]
    # head 4: verb -> nouns and pronouns (its subject and object); adjectives look at verbs.
    wq[3, _f("verb"), 0] = 6.0
    wk[3, _f("noun"), 0] = 1.0
    wk[3, _f("pronoun"), 0] = 0.8
    wq[3, _f("adjective"), 1] = 5.0
    wk[3, _f("verb"), 1] = 1.0
    # Values: each head copies the semantic features it cares about, and a little position.
    wv = np.zeros((h, d, e))
    for head in range(h):
        wv[head, :N_SEM, :] = np.eye(N_SEM, e)
        wv[head, pos, :] = 0.1 * eye[:, :e]
    return ToyModel(wq=wq, wk=wk, wv=wv, head_names=HEAD_NAMES)
