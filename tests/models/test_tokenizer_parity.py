"""Tokens and ids equal to transformers' tokenizer on odd strings, for every tokenizer layout
the families use (issue 16): spaces, tabs and newlines, accents, other scripts and emoji, text
that spells special tokens, case. transformers is a test-only dependency.

Only families whose transformers tokenizer class follows tokenizer.json are compared on these
test-made tokenizers: transformers 5's RoBERTa, Gemma and T5 classes rebuild their own pipelines
(RoBERTa adds <s> and </s> to a BERT vocabulary; Gemma drops the "▁" this sentencepiece-style
file prepends; T5 wants a sentencepiece vocabulary), which a real checkpoint's matching
tokenizer.json would agree with. BART is compared on its own byte-level tokenizer.json, saved by
transformers; Marian's SentencePiece files in tests/models/test_marian_tokenizer.py. Sentence
pairs: ids and token types."""

from __future__ import annotations

import pytest

import attnviz.models as M
from tests.models import builders as B

ODD = (
    "",
    "  leading,  double  and trailing spaces  ",
    "tabs\tand\nnewlines\r\nhere",
    "héllo naïve café — “quotes” ‘and’ 東京 Ελληνικά 🙂👍🏽",
    "special text: [CLS] [SEP] [MASK] <s> </s> <unk> <|endoftext|>",
    "UPPER lower MiXeD 123 4.56 e-mail@x.org",
)


def _bert_wordlevel(folder):
    B.write_wordlevel_tokenizer_json(folder)
    B.bert(folder)


def _bert_wordpiece(folder):
    B.write_wordpiece_tokenizer_json(folder)
    B.bert(folder, prefixed=False, seed=4)


def _bert_vocab_txt(folder):
    B.write_vocab_txt(folder)
    B.bert(folder, seed=3)


def _gpt2(folder):
    B.gpt2(folder, B.write_gpt2_bpe(folder), n_positions=128)  # every odd string fits


def _neox(folder):
    B.gpt_neox(folder, B.write_gpt2_bpe(folder), max_position_embeddings=128)


def _llama(folder):
    B.llama(folder, B.write_llama_tokenizer_json(folder))


def _bart_bpe(folder):
    """BART's own tokenizer: GPT-2's byte-level BPE with <s> … </s> around the text, saved by
    transformers' BartTokenizerFast as a real checkpoint's tokenizer.json is."""
    B.write_gpt2_bpe(folder)
    tok = B.transformers.BartTokenizerFast(
        vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt")
    )
    B.bart(folder, vocab_size=len(tok), pad_token_id=tok.pad_token_id,
           bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
           decoder_start_token_id=tok.eos_token_id, max_position_embeddings=128)  # fmt: skip
    tok.save_pretrained(folder)  # over the word-level tokenizer.json the builder wrote


LAYOUTS = {
    "bert-wordlevel-json": _bert_wordlevel,
    "bert-wordpiece-json": _bert_wordpiece,
    "bert-vocab-txt": _bert_vocab_txt,
    "gpt2-vocab-merges": _gpt2,
    "gpt-neox-vocab-merges": _neox,
    "llama-sentencepiece-json": _llama,
    "bart-byte-level-json": _bart_bpe,
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_tokens_and_ids_equal_transformers(tmp_path, layout):
    LAYOUTS[layout](tmp_path)
    model = M.load(tmp_path)
    ref = B.transformers.AutoTokenizer.from_pretrained(tmp_path)
    for text in ODD:
        ids = ref(text)["input_ids"]
        if not ids:  # nothing to read (GPT-2 adds no special tokens): refused with a reason
            with pytest.raises(M.ModelError, match="no tokens"):
                model.encode(text)
            continue
        assert len(ids) <= model.info.max_positions  # compared, not skipped
        enc = model.encode(text)
        assert enc.ids.tolist() == ids, (layout, text)
        assert list(enc.tokens) == ref.convert_ids_to_tokens(ids), (layout, text)


@pytest.mark.parametrize("layout", ["bert-wordpiece-json", "bert-vocab-txt"])
def test_sentence_pairs_equal_transformers(tmp_path, layout):
    LAYOUTS[layout](tmp_path)
    model = M.load(tmp_path)
    ref = B.transformers.AutoTokenizer.from_pretrained(tmp_path)
    for a, b in zip(ODD[1:], ODD[2:] + ODD[:1], strict=True):
        want = ref(a, b)
        enc = model.encode(a, b)
        assert enc.ids.tolist() == want["input_ids"], (layout, a, b)
        assert list(enc.segments) == want["token_type_ids"], (layout, a, b)
