"""What every tokenizer gives the model (:class:`Encoding`), what every tokenizer provides
(:class:`ModelTokenizer`), and the tokenizer settings files they share
(``tokenizer_config.json`` overlaid by ``special_tokens_map.json``).

Shared by :mod:`attnviz.models.tokenizer` and :mod:`attnviz.models.marian_tokenizer`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from attnviz.models.errors import ModelError

__all__ = ["Encoding", "ModelTokenizer", "read_json", "settings", "token_text"]

TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"


@dataclass(frozen=True)
class Encoding:
    """One text as the model reads it.

    ``tokens`` are the model's own strings ("##ing", "Ġthe", "[CLS]"); ``labels`` are the same
    tokens made readable where the raw form is not (byte-level BPE: "Ġthe" -> " the");
    ``special`` marks tokens the post-processor added or the vocabulary declares special.
    """

    ids: np.ndarray  # (L,) int64
    tokens: tuple[str, ...]
    labels: tuple[str, ...]
    special: tuple[bool, ...]
    segments: tuple[int, ...] = ()  # token type ids: 0 for sentence A, 1 for sentence B

    def __len__(self) -> int:
        return len(self.tokens)


class ModelTokenizer(Protocol):
    """What a model's tokenizer provides, whatever files it was read from.

    tokenizer.json, vocab.txt, vocab.json + merges.txt:
    :class:`~attnviz.models.tokenizer.TextTokenizer`; Marian's SentencePiece pair:
    :class:`~attnviz.models.marian_tokenizer.MarianTokenizer`.
    """

    source: Path  # the file it was read from
    kind: str  # which layout, in words

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str, pair: str | None = None, *, special: bool = True) -> Encoding: ...

    def encode_target(self, text: str) -> Encoding: ...

    def from_ids(self, ids: list[int] | np.ndarray) -> Encoding: ...

    def decode(self, ids: list[int] | np.ndarray) -> str: ...


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path.name} is not valid JSON: {exc} ({path})", path) from None
    if not isinstance(doc, dict):
        raise ModelError(f"{path.name} does not hold a JSON object ({path})", path)
    return doc


def token_text(value: Any) -> str | None:
    """A special token as tokenizer_config.json stores it: a string or {"content": ...}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def settings(folder: Path) -> dict[str, Any]:
    """tokenizer_config.json overlaid by special_tokens_map.json (as transformers reads them)."""
    cfg = read_json(folder / TOKENIZER_CONFIG)
    cfg.update(read_json(folder / SPECIAL_TOKENS_MAP))
    return cfg
