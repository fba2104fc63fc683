"""Real-model mode speaks of the real model (issue 12, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from attnviz.lessons.texts import panel_text
from attnviz.models.config import Config
from attnviz.models.model import display_name

TOY_WORDS = ("cat sentence", "hand-built", "toy model")


def test_panel_text_keeps_each_sources_own_lines():
    toy, model = panel_text("token_attention", "toy"), panel_text("token_attention", "model")
    assert "cat sentence" in toy and "cat sentence" not in model
    assert "Pick a word." in toy and "Pick a word." in model  # the shared paragraph
    assert "trained weights" in panel_text("qkv_steps", "model")
    with pytest.raises(ValueError, match="source"):
        panel_text("qkv_steps", "nope")


def test_a_loaded_model_brings_its_own_words_and_keeps_the_selected_word(
    window,
    wait_result,
    tiny_bert,
):
    s = window.session
    assert s.tokens[s.selected_token] == "it"  # the cat scene's default
    assert window.set_model(str(tiny_bert))
    wait_result(window.controller, timeout=20_000)
    assert s.tokens[s.selected_token] == "it"  # not "because": [CLS] moved the indices
    for pid in ("token_attention", "qkv_steps"):
        text = window.panel(pid).explanation.text()
        assert not any(w in text for w in TOY_WORDS), (pid, text)
    assert window.set_model(None)
    assert "cat sentence" in window.panel("token_attention").explanation.text()


@pytest.mark.parametrize(
    ("folder", "saved", "name"),
    [
        ("minilm/model", "sentence-transformers/all-MiniLM-L6-v2",
         "sentence-transformers/all-MiniLM-L6-v2"),
        ("ckpts/model", "/home/ana/train/my-bert", "my-bert"),
        ("minilm/model", None, "minilm/model"),
        ("models/bert-tiny", "", "bert-tiny"),
    ],
)  # fmt: skip
def test_a_model_is_named_by_what_it_was_saved_as(tmp_path, folder, saved, name):
    path = tmp_path / folder
    path.mkdir(parents=True)
    doc = {} if saved is None else {"_name_or_path": saved}
    assert display_name(path, Config(doc, path / "config.json")) == name


def test_a_cache_snapshot_is_named_by_its_repository(tmp_path):
    snap = tmp_path / "models--org--tiny-bert" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    assert display_name(Path(snap), Config({"_name_or_path": "x"}, snap)) == "org/tiny-bert"
