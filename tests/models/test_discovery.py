"""Discovery on a fake Hugging Face cache laid out in tmp_path (snapshots, blobs, refs)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import attnviz.models as M
from tests.models import builders as B


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("src")
    B.write_wordlevel_tokenizer_json(folder)
    B.bert(folder, prefixed=False)
    return folder


def snapshot(cache: Path, repo: str, rev: str, files: dict[str, Path | bytes], main: bool = True):
    """Lay out models--org--name/{blobs,snapshots/rev,refs/main} as huggingface_hub does."""
    root = cache / f"models--{repo.replace('/', '--')}"
    snap = root / "snapshots" / rev
    snap.mkdir(parents=True)
    (root / "blobs").mkdir(exist_ok=True)
    for name, src in files.items():
        blob = root / "blobs" / f"{rev}-{name.replace('/', '_')}"
        if isinstance(src, Path):
            shutil.copy(src, blob)
        else:
            blob.write_bytes(src)
        (snap / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, (snap / name).parent), snap / name)
    if main:
        (root / "refs").mkdir(exist_ok=True)
        (root / "refs" / "main").write_text(rev)
    return snap


def model_files(src: Path) -> dict[str, Path | bytes]:
    return {n: src / n for n in ("config.json", "model.safetensors", "tokenizer.json")}


@pytest.fixture
def cache(tmp_path, tiny_bert, monkeypatch) -> Path:
    hub = tmp_path / "hf" / "hub"
    snapshot(hub, "org/tiny-bert", "a1", model_files(tiny_bert))
    snapshot(hub, "org/tiny-bert", "old0", model_files(tiny_bert), main=False)
    cfg = json.loads((tiny_bert / "config.json").read_text())
    snapshot(hub, "org/pickled", "b2", {
        "config.json": json.dumps(cfg).encode(), "pytorch_model.bin": b"\x80\x04",
        "tokenizer.json": tiny_bert / "tokenizer.json",
    })  # fmt: skip
    t5 = {**cfg, "model_type": "mamba", "architectures": ["MambaForCausalLM"]}
    snapshot(
        hub,
        "org/mamba-130m",
        "c3",
        {**model_files(tiny_bert), "config.json": json.dumps(t5).encode()},
    )
    broken = snapshot(hub, "org/partial", "d4", model_files(tiny_bert))
    # An interrupted download: the link is there, its blob is not.
    os.remove((broken / "model.safetensors").resolve())
    (hub / "datasets--org--data").mkdir()  # not a model: ignored
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    return hub


def test_hf_cache_dir_precedence(tmp_path, monkeypatch):
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert M.hf_cache_dir() == tmp_path / ".cache" / "huggingface" / "hub"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert M.hf_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert M.hf_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hubcache"))
    assert M.hf_cache_dir() == tmp_path / "hubcache"


def test_discover_reports_each_snapshot_and_why(cache):
    entries = M.discover()
    by = {(e.name, e.revision): e for e in entries}
    assert set(by) == {
        ("org/tiny-bert", "a1"), ("org/tiny-bert", "old0"), ("org/pickled", "b2"),
        ("org/mamba-130m", "c3"), ("org/partial", "d4"),
    }  # fmt: skip
    good = by["org/tiny-bert", "a1"]
    assert good.compatible and good.current and good.family == "bert"
    assert "BertModel: 2 layers × 4 heads" in good.reason and "tokenizer.json" in good.reason
    assert good.weights_bytes > 0
    assert good.parameters == M.load(good.path).info.parameters
    assert good.label.startswith("org/tiny-bert · ") and "parameters" in good.label
    assert by["org/pickled", "b2"].label == "org/pickled"  # nothing to count
    assert by["org/tiny-bert", "old0"].compatible and not by["org/tiny-bert", "old0"].current
    assert entries[0] is good  # compatible and current first

    pickled = by["org/pickled", "b2"]
    assert not pickled.compatible and "pickle" in pickled.reason
    assert "model_type 'mamba'" in by["org/mamba-130m", "c3"].reason
    assert "no weights" in by["org/partial", "d4"].reason
    # What discovery found loads.
    m = M.load(good.path)
    assert m.info.name == "org/tiny-bert"
    assert m.tokenize("the cat") == ["[CLS]", "the", "cat", "[SEP]"]


def test_discover_never_reads_tensor_data(cache, monkeypatch):
    from attnviz.models import weights

    def fail(*_a, **_k):
        raise AssertionError("discovery read tensor data")

    monkeypatch.setattr(weights.WeightFiles, "read", fail)
    assert any(e.compatible for e in M.discover())


def test_discover_extra_dirs(tmp_path, tiny_bert, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    mine = tmp_path / "mine"
    shutil.copytree(tiny_bert, mine / "bert-a")
    shutil.copytree(tiny_bert, mine / "bert-b")
    (mine / "notes").mkdir()  # no config.json: not a model folder, not listed
    single = Path(shutil.copytree(tiny_bert, tmp_path / "single"))
    entries = M.discover([mine, single, tmp_path / "does-not-exist", mine / "bert-a"])
    assert [e.name for e in entries] == ["bert-a", "bert-b", "single"]  # duplicates once
    assert all(e.compatible and e.revision is None for e in entries)
    assert M.discover([mine], include_cache=False)[0].path == mine / "bert-a"


def test_discover_with_no_cache_at_all(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "nothing-here"))
    assert M.discover() == []


def test_a_folder_is_named_as_its_config_says(tmp_path, tiny_bert, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    folder = Path(shutil.copytree(tiny_bert, tmp_path / "models" / "model"))
    B.edit_config(folder, _name_or_path="sentence-transformers/all-MiniLM-L6-v2")
    (entry,) = M.discover([folder])
    assert entry.name == "sentence-transformers/all-MiniLM-L6-v2"
