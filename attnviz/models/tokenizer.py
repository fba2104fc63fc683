"""Tokenizers from a model folder, built with the Hugging Face ``tokenizers`` library
(Marian's SentencePiece pair with the ``sentencepiece`` library).

Four layouts, in order of preference:

- ``tokenizer.json``: the whole pipeline (normaliser, pre-tokeniser, model, post-processor).
  Padding and truncation stored in it are switched off: attnviz shows one sentence as it is,
  and a sentence too long for the model is refused with a message instead of cut silently.
- ``source.spm`` + ``target.spm`` + ``vocab.json``: Marian (opus-mt) as it ships, read as
  transformers' ``MarianTokenizer`` (:mod:`attnviz.models.marian_tokenizer`).
- ``vocab.txt``: a BERT WordPiece vocabulary; lower-casing, accents and the special tokens
  come from ``tokenizer_config.json`` (BERT's defaults when absent), as ``BertTokenizer`` does.
- ``vocab.json`` + ``merges.txt``: GPT-2's byte-level BPE, no special tokens added (as GPT-2).

Special tokens the post-processor adds ([CLS], [SEP], <s>) are kept: the model sees them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import (
    AddedToken,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from attnviz.models.encoding import (
    Encoding,
    ModelTokenizer,
    settings,
    token_text,
)
from attnviz.models.errors import ModelError
from attnviz.models.marian_tokenizer import marian_files, marian_layout, read_marian

__all__ = ["Encoding", "ModelTokenizer", "TextTokenizer", "load_tokenizer"]

TOKENIZER_JSON = "tokenizer.json"
VOCAB_TXT = "vocab.txt"
VOCAB_JSON = "vocab.json"
MERGES_TXT = "merges.txt"
# transformers' defaults when tokenizer_config.json does not name the special tokens.
BERT_SPECIALS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "cls_token": "[CLS]",
    "pad_token": "[PAD]",
    "mask_token": "[MASK]",
}
GPT2_SPECIALS = {
    "unk_token": "<|endoftext|>",
    "bos_token": "<|endoftext|>",
    "eos_token": "<|endoftext|>",
}


class TextTokenizer:
    """A ``tokenizers.Tokenizer`` set up for one sentence at a time, and where it came from."""

    def __init__(self, tokenizer: Tokenizer, source: Path, kind: str) -> None:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.tokenizer = tokenizer
        self.source = source
        self.kind = kind
        self._byte_level = isinstance(tokenizer.decoder, decoders.ByteLevel)

    @property
    def vocab_size(self) -> int:
        """Number of ids, added tokens included."""
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str, pair: str | None = None, *, special: bool = True) -> Encoding:
        """``text`` (and ``pair``, a second segment) as the model reads them; ``special=False``
        leaves out the tokens the post-processor adds ([CLS], <s>, </s>)."""
        for t in (text, pair):
            if t is not None and not isinstance(t, str):
                raise TypeError(f"text must be a str, got {type(t).__name__}")
        enc = self.tokenizer.encode(text, pair, add_special_tokens=special)
        return self._encoding(enc.ids, enc.tokens, enc.special_tokens_mask, enc.type_ids)

    def encode_target(self, text: str) -> Encoding:
        """An encoder–decoder's target as its decoder reads it: no special tokens (one
        tokenizer for both sides here; Marian's SentencePiece pair has its own target model)."""
        return self.encode(text, special=False)

    def from_ids(self, ids: list[int] | np.ndarray) -> Encoding:
        """The tokens of ids the model produced (or chose to start with)."""
        ids = [int(i) for i in ids]
        special = {i for i, t in self.tokenizer.get_added_tokens_decoder().items() if t.special}
        tokens = [self.tokenizer.id_to_token(i) or f"<{i}>" for i in ids]
        return self._encoding(ids, tokens, [int(i in special) for i in ids], [0] * len(ids))

    def decode(self, ids: list[int] | np.ndarray) -> str:
        """Text of ids without the special tokens."""
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=True)

    def _encoding(
        self, ids: list[int], tokens: list[str], special: list[int], segments: list[int]
    ) -> Encoding:
        tokens = tuple(tokens)
        if self._byte_level:
            dec = self.tokenizer.decoder
            labels = tuple(dec.decode([t]) for t in tokens)
        else:
            labels = tokens
        return Encoding(
            ids=np.asarray(ids, dtype=np.int64),
            tokens=tokens,
            labels=labels,
            special=tuple(bool(s) for s in special),
            segments=tuple(int(s) for s in segments),
        )


def _declared_specials(cfg: dict[str, Any], defaults: dict[str, str]) -> dict[str, str]:
    out = dict(defaults)
    keys = ("unk_token", "sep_token", "cls_token", "pad_token", "mask_token", "bos_token")
    for key in (*keys, "eos_token"):
        tok = token_text(cfg.get(key))
        if tok is not None:
            out[key] = tok
    return out


def _added_specials(cfg: dict[str, Any]) -> list[str]:
    decl = cfg.get("added_tokens_decoder")
    if not isinstance(decl, dict):
        return []
    return [
        t["content"]
        for t in decl.values()
        if isinstance(t, dict) and t.get("special") and isinstance(t.get("content"), str)
    ]


def _wordpiece(folder: Path) -> Tokenizer:
    """BERT's tokenizer from vocab.txt, configured as transformers' BertTokenizer."""
    path = folder / VOCAB_TXT
    cfg = settings(folder)
    sp = _declared_specials(cfg, BERT_SPECIALS)
    try:
        vocab = models.WordPiece.read_file(str(path))
    except Exception as exc:  # the Rust side raises plain Exception
        raise ModelError(f"cannot read {path.name}: {exc} ({path})", path) from None
    for key in ("unk_token", "cls_token", "sep_token"):
        if sp[key] not in vocab:
            raise ModelError(f"{path.name} lacks the {key} {sp[key]!r} ({path})", path)
    tok = Tokenizer(
        models.WordPiece(vocab, unk_token=sp["unk_token"], max_input_chars_per_word=100)
    )
    lower = bool(cfg.get("do_lower_case", True))
    strip = cfg.get("strip_accents")
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=bool(cfg.get("tokenize_chinese_chars", True)),
        strip_accents=None if strip is None else bool(strip),
        lowercase=lower,
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = sp["cls_token"], sp["sep_token"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0",
        pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    specials = [sp[k] for k in ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")]
    specials += _added_specials(cfg)
    tok.add_special_tokens([AddedToken(s, normalized=False) for s in specials if s in vocab])
    return tok


def _byte_level_bpe(folder: Path) -> Tokenizer:
    """GPT-2's tokenizer from vocab.json + merges.txt, configured as transformers' GPT2Tokenizer."""
    vocab_path, merges_path = folder / VOCAB_JSON, folder / MERGES_TXT
    cfg = settings(folder)
    try:
        vocab, merges = models.BPE.read_file(str(vocab_path), str(merges_path))
    except Exception as exc:  # the Rust side raises plain Exception
        raise ModelError(
            f"cannot read {vocab_path.name} + {merges_path.name}: {exc} ({folder})", folder
        ) from None
    tok = Tokenizer(models.BPE(vocab, merges, continuing_subword_prefix="", end_of_word_suffix=""))
    prefix_space = bool(cfg.get("add_prefix_space", False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=prefix_space)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    sp = _declared_specials(cfg, GPT2_SPECIALS)
    specials = [sp[k] for k in sp] + _added_specials(cfg)
    tok.add_special_tokens(
        [AddedToken(s, normalized=False) for s in dict.fromkeys(specials) if s in vocab]
    )
    return tok


def load_tokenizer(folder: Path) -> ModelTokenizer:
    """The tokenizer of the model in ``folder`` (see the module docstring for the layouts)."""
    path = folder / TOKENIZER_JSON
    if path.is_file():
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as exc:  # the Rust side raises plain Exception
            raise ModelError(f"cannot read {path.name}: {exc} ({path})", path) from None
        return TextTokenizer(tok, path, TOKENIZER_JSON)
    if marian_layout(folder):
        return read_marian(folder)  # a ModelError names the file that is broken
    if (folder / VOCAB_TXT).is_file():
        return TextTokenizer(_wordpiece(folder), folder / VOCAB_TXT, "vocab.txt (WordPiece)")
    if (folder / VOCAB_JSON).is_file() and (folder / MERGES_TXT).is_file():
        return TextTokenizer(
            _byte_level_bpe(folder), folder / VOCAB_JSON, "vocab.json + merges.txt (byte-level BPE)"
        )
    if any(p.is_file() for p in marian_files(folder) if p.suffix == ".spm"):
        return read_marian(folder)  # half a Marian layout: the error names the missing file
    hint = ""
    if (folder / "tokenizer.model").is_file():
        hint = (
            "; tokenizer.model (sentencepiece) is not read: write tokenizer.json once with "
            "transformers: AutoTokenizer.from_pretrained(folder).save_pretrained(folder)"
        )
    raise ModelError(
        f"no tokenizer in {folder}: expected {TOKENIZER_JSON}, {VOCAB_TXT}, {VOCAB_JSON} + "
        f"{MERGES_TXT}, or source.spm + target.spm + {VOCAB_JSON} (Marian){hint}",
        folder,
    )


def tokenizer_files(folder: Path) -> str | None:
    """Which tokenizer layout ``folder`` has, without reading it (for discovery); None if none."""
    if (folder / TOKENIZER_JSON).is_file():
        return TOKENIZER_JSON
    if marian_layout(folder):
        return " + ".join(p.name for p in marian_files(folder))
    if (folder / VOCAB_TXT).is_file():
        return VOCAB_TXT
    if (folder / VOCAB_JSON).is_file() and (folder / MERGES_TXT).is_file():
        return f"{VOCAB_JSON} + {MERGES_TXT}"
    return None
