"""Marian (Helsinki-NLP opus-mt) tokenizers as they ship: two SentencePiece models and a JSON
vocabulary, read the way transformers' ``MarianTokenizer`` reads them.

Files: ``source.spm`` and ``target.spm`` (SentencePiece models of each language),
``vocab.json`` (piece -> model id; shared by both sides unless ``separate_vocabs`` is set in
``tokenizer_config.json``, then the target's ids are in ``target_vocab.json``).

A source text is read as ``MarianTokenizer`` does:

1. split on the added tokens (``</s>``, ``<unk>``, ``<pad>`` and any ``added_tokens_decoder``
   entries of tokenizer_config.json, honouring their lstrip/rstrip), which stay whole;
2. in each remaining part, a leading language code such as ``>>fra<<`` is one token;
3. the rest goes through the side's SentencePiece model, and each piece becomes its id in the
   side's vocabulary (a piece the vocabulary lacks becomes ``<unk>``: Marian's ids are not
   SentencePiece's);
4. ``</s>`` is appended to a source text.

There is no other normalisation: ``MarianTokenizer`` sets up Moses punctuation normalisation
but never applies it; SentencePiece's own (NFKC) normaliser runs inside step 3.
Decoding skips the special tokens and joins the pieces with SentencePiece's ``decode_pieces``
(the source model when the vocabulary is shared, as ``MarianTokenizer.decode`` does by default).

``sentencepiece`` is imported when such a folder is read, not before: the app starts without it.
Only protobuf model files and JSON are read; nothing is unpickled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attnviz.models.encoding import Encoding, read_json, settings, token_text
from attnviz.models.errors import ModelError

__all__ = ["MarianTokenizer", "marian_files", "marian_layout", "read_marian"]

SOURCE_SPM = "source.spm"
TARGET_SPM = "target.spm"
VOCAB_JSON = "vocab.json"
TARGET_VOCAB_JSON = "target_vocab.json"
KIND = "source.spm + target.spm + vocab.json (Marian SentencePiece)"
SPIECE_UNDERLINE = "▁"
# MarianTokenizer's defaults when tokenizer_config.json does not name them.
MARIAN_SPECIALS = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
# transformers' clean_up_tokenization, applied when tokenizer_config.json asks for it.
CLEAN_UP = (
    (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
    (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
)  # fmt: skip


def marian_files(folder: Path) -> tuple[Path, ...]:
    """The files a Marian SentencePiece folder needs (source.spm, target.spm, vocab.json)."""
    return tuple(folder / n for n in (SOURCE_SPM, TARGET_SPM, VOCAB_JSON))


def marian_layout(folder: Path) -> bool:
    """True when ``folder`` has the three files of a Marian SentencePiece tokenizer."""
    return all(p.is_file() for p in marian_files(folder))


@dataclass(frozen=True)
class _Added:
    """A token the text is split on before SentencePiece runs (transformers' AddedToken)."""

    content: str
    id: int
    special: bool
    lstrip: bool = False
    rstrip: bool = False


def _load_spm(path: Path) -> Any:
    try:
        import sentencepiece
    except ImportError:
        raise ModelError(
            f"{path.name} is a SentencePiece model and needs the sentencepiece package: "
            f"pip install sentencepiece ({path})",
            path,
        ) from None
    if not path.is_file():
        raise ModelError(f"{path.name} is missing ({path})", path)
    sp = sentencepiece.SentencePieceProcessor()
    try:
        sp.Load(model_proto=path.read_bytes())
    except Exception as exc:  # the C++ side raises RuntimeError/OSError with its own words
        raise ModelError(f"cannot read {path.name}: {exc} ({path})", path) from None
    return sp


def _read_vocab(path: Path) -> dict[str, int]:
    if not path.is_file():
        raise ModelError(f"{path.name} is missing ({path})", path)
    vocab = read_json(path)
    # type(), not isinstance: JSON's true/false are ints to isinstance.
    bad = next(((k, v) for k, v in vocab.items() if type(v) is not int or v < 0), None)
    if bad is not None:
        raise ModelError(
            f"{path.name} maps {bad[0]!r} to {bad[1]!r}; every entry must be a piece -> id "
            f"(a non-negative integer) ({path})",
            path,
        )
    if not vocab:
        raise ModelError(f"{path.name} is empty ({path})", path)
    return vocab


def _language_code(text: str) -> tuple[list[str], str]:
    """A leading language code like ">>fra<<" and the rest (MarianTokenizer's rule, verbatim)."""
    if text.startswith(">>") and (end := text.find("<<")) != -1:
        return [text[: end + 2]], text[end + 2 :]
    return [], text


class MarianTokenizer:
    """Marian's SentencePiece pair with the interface of
    :class:`~attnviz.models.tokenizer.TextTokenizer`: the source side reads what the encoder
    reads, the target side (:meth:`encode_target`, :meth:`from_ids`, :meth:`decode`) what the
    decoder reads and writes."""

    def __init__(self, folder: Path) -> None:
        cfg = settings(folder)
        self.source = folder / SOURCE_SPM
        self.kind = KIND
        self.separate_vocabs = bool(cfg.get("separate_vocabs", False))
        self._vocab = _read_vocab(folder / VOCAB_JSON)
        self._target_vocab = (
            _read_vocab(folder / TARGET_VOCAB_JSON) if self.separate_vocabs else self._vocab
        )
        self._spm_source = _load_spm(folder / SOURCE_SPM)
        self._spm_target = _load_spm(folder / TARGET_SPM)
        names = {k: token_text(cfg.get(k)) or v for k, v in MARIAN_SPECIALS.items()}
        for key in ("unk_token", "eos_token"):
            if names[key] not in self._vocab:
                path = folder / VOCAB_JSON
                raise ModelError(f"{path.name} lacks the {key} {names[key]!r} ({path})", path)
        self._unk, self._eos = names["unk_token"], names["eos_token"]
        self._added = self._added_tokens(cfg, names)
        self._split_at = (
            re.compile("|".join(re.escape(c) for c in sorted(self._added, key=len, reverse=True)))
            if self._added
            else None
        )
        self._specials = {a.content for a in self._added.values() if a.special}
        self._target_tokens = {i: p for p, i in self._target_vocab.items()}
        self._clean_up = bool(cfg.get("clean_up_tokenization_spaces", False))

    def _added_tokens(self, cfg: dict[str, Any], names: dict[str, str]) -> dict[str, _Added]:
        """The declared special tokens with their vocabulary ids, then tokenizer_config.json's
        added_tokens_decoder (its id and lstrip/rstrip win, as when transformers loads it)."""
        out = {
            name: _Added(name, self._vocab[name], special=True)
            for name in (*names.values(), *self._extra_specials(cfg))
            if name in self._vocab
        }
        decl = cfg.get("added_tokens_decoder")
        for key, tok in (decl if isinstance(decl, dict) else {}).items():
            content = token_text(tok)
            if content is None or not str(key).isdigit():
                continue
            flags = tok if isinstance(tok, dict) else {}
            out[content] = _Added(
                content, int(key), special=bool(flags.get("special", content in out)),
                lstrip=bool(flags.get("lstrip", False)), rstrip=bool(flags.get("rstrip", False)),
            )  # fmt: skip
        return out

    @staticmethod
    def _extra_specials(cfg: dict[str, Any]) -> list[str]:
        extra = cfg.get("additional_special_tokens") or cfg.get("extra_special_tokens") or []
        return [t for t in map(token_text, extra if isinstance(extra, list) else []) if t]

    @property
    def vocab_size(self) -> int:
        """Number of source ids (as ``len(MarianTokenizer)``)."""
        return max([*self._vocab.values(), *(a.id for a in self._added.values())]) + 1

    def encode(self, text: str, pair: str | None = None, *, special: bool = True) -> Encoding:
        """``text`` as the encoder reads it, ``</s>`` last unless ``special=False``."""
        if pair is not None:
            raise ModelError("a Marian model reads one source text, not a pair of segments")
        pieces = self._pieces(text, self._spm_source, self._vocab, target=False)
        if special:
            pieces.append((self._eos, self._vocab[self._eos], True))
        return _encoding(pieces)

    def encode_target(self, text: str) -> Encoding:
        """``text`` as the decoder reads it: target.spm and the target vocabulary, no ``</s>``."""
        return _encoding(self._pieces(text, self._spm_target, self._target_vocab, target=True))

    def from_ids(self, ids: list[int] | np.ndarray) -> Encoding:
        """The target tokens of ids the decoder produced (or starts with)."""
        pieces = []
        for i in (int(i) for i in ids):
            tok = self._target_tokens.get(i, f"<{i}>")
            pieces.append((tok, i, tok in self._specials))
        return _encoding(pieces)

    def decode(self, ids: list[int] | np.ndarray) -> str:
        """Text of target ids without the special tokens (``MarianTokenizer.decode`` with
        ``skip_special_tokens=True``)."""
        skip = {self._target_vocab.get(s, self._added[s].id) for s in self._specials}
        sp = self._spm_target if self.separate_vocabs else self._spm_source
        pieces = []
        for i in (int(i) for i in ids):
            if i in skip:
                continue
            piece = self._target_tokens.get(i)
            if piece is None and 0 <= i < sp.GetPieceSize():
                piece = sp.IdToPiece(i)  # MarianTokenizer's fallback for ids the vocab lacks
            if piece:
                pieces.append(piece)
        text = sp.decode_pieces(pieces).replace(SPIECE_UNDERLINE, " ").strip()
        if self._clean_up:
            for old, new in CLEAN_UP:
                text = text.replace(old, new)
        return text

    def _pieces(
        self, text: str, sp: Any, vocab: dict[str, int], *, target: bool
    ) -> list[tuple[str, int, bool]]:
        """(token, id, special) of ``text``: added tokens whole, the rest through ``sp``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        unk = vocab.get(self._unk, self._vocab[self._unk])
        out = []
        for part, added in self._split(text):
            if added is not None:
                # The target side takes the target vocabulary's id where it has the token.
                out.append((part, vocab.get(part, added.id) if target else added.id, added.special))
                continue
            code, rest = _language_code(part)
            for piece in (*code, *sp.encode(rest, out_type=str)):
                i = vocab.get(piece, unk)
                out.append((piece if i != unk else self._unk, i, False))
        return out

    def _split(self, text: str) -> list[tuple[str, _Added | None]]:
        """``text`` cut at the added tokens (longest first), lstrip/rstrip applied to the
        neighbours, empty parts dropped (transformers' ``tokenize``)."""
        if self._split_at is None:
            return [(text, None)] if text else []
        parts: list[list[Any]] = []
        last = 0
        for m in self._split_at.finditer(text):
            parts.append([text[last : m.start()], None])
            parts.append([m.group(), self._added[m.group()]])
            last = m.end()
        parts.append([text[last:], None])
        for k, (_, added) in enumerate(parts):
            if added is None:
                continue
            if added.lstrip and k > 0 and parts[k - 1][0]:
                parts[k - 1][0] = parts[k - 1][0].rstrip()
            if added.rstrip and k + 1 < len(parts) and parts[k + 1][0]:
                parts[k + 1][0] = parts[k + 1][0].lstrip()
        return [(p, a) for p, a in parts if p]


def _encoding(pieces: list[tuple[str, int, bool]]) -> Encoding:
    tokens = tuple(t for t, _, _ in pieces)
    return Encoding(
        ids=np.asarray([i for _, i, _ in pieces], dtype=np.int64),
        tokens=tokens,
        labels=tokens,  # SentencePiece pieces read as they are ("▁chat")
        special=tuple(s for _, _, s in pieces),
        segments=(0,) * len(pieces),
    )


def read_marian(folder: Path) -> MarianTokenizer:
    """The Marian tokenizer of ``folder``; a ModelError names a missing or broken file."""
    for path in marian_files(folder):
        if not path.is_file():
            raise ModelError(f"{path.name} is missing: Marian needs {KIND} ({path})", path)
    return MarianTokenizer(folder)
