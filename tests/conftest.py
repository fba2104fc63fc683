"""Test-wide settings: Qt offscreen, one BLAS thread, hypothesis profiles; tiny random models
built offline (transformers is a test-only dependency) for every test that loads one."""

import os

# Without a display Qt aborts the process instead of failing; offscreen renders real pixels.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", deadline=None, max_examples=600, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-bert")
    _builders().write_wordlevel_tokenizer_json(folder)
    _builders().bert(folder, prefixed=False)
    return folder


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    vocab = _builders().write_gpt2_bpe(folder)
    _builders().gpt2(folder, vocab)
    return folder


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    """A 2-layer Llama with grouped-query attention (4 query heads, 2 KV heads)."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    vocab = _builders().write_llama_tokenizer_json(folder)
    _builders().llama(folder, vocab)
    return folder


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory) -> Path:
    """A 2 + 3-layer Marian encoder–decoder (sinusoidal positions, decoder starts with <pad>)."""
    folder = tmp_path_factory.mktemp("tiny-marian")
    _builders().marian(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_t5(tmp_path_factory) -> Path:
    """A 2 + 3-layer T5 with 8 relative-position buckets up to a distance of 12."""
    folder = tmp_path_factory.mktemp("tiny-t5")
    _builders().t5(folder)
    return folder


def _builders():
    from tests.models import builders  # torch and transformers: only for the tests that build

    return builders
