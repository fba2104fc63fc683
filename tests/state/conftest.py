"""Tiny random models built offline by the tests (transformers is a test-only dependency)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.models import builders as B


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-bert")
    B.write_wordlevel_tokenizer_json(folder)
    B.bert(folder, prefixed=False)
    return folder


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    vocab = B.write_gpt2_bpe(folder)
    B.gpt2(folder, vocab)
    return folder
