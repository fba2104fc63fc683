"""Tokens and ids equal to transformers' tokenizer on odd strings, for every tokenizer layout
the families use (issue 16): spaces, tabs and newlines, accents, other scripts and emoji, text
that spells special tokens, case. transformers is a test-only dependency.

Only families whose transformers tokenizer class follows tokenizer.json are compared on these
test-made tokenizers: transformers 5's RoBERTa and Gemma classes rebuild their own pipelines
(RoBERTa adds <s> and </s> to a BERT vocabulary; Gemma drops the "▁" this sentencepiece-style
file prepends), which a real checkpoint's matching tokenizer.json would agree with."""

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


LAYOUTS = {
    "bert-wordlevel-json": _bert_wordlevel,
    "bert-wordpiece-json": _bert_wordpiece,
    "bert-vocab-txt": _bert_vocab_txt,
    "gpt2-vocab-merges": _gpt2,
    "gpt-neox-vocab-merges": _neox,
    "llama-sentencepiece-json": _llama,
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
