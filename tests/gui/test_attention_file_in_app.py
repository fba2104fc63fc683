"""Saved attention (.npz/.npy from a notebook) in the app: import, panels, refusals, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from attnviz.cli import main
from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session
from attnviz.state.source import FILE_NO_QKV

TOKENS = ["the", "cat", "sat", "on", "the", "mat"]


def saved_attention(folder: Path, layers: int = 2, heads: int = 3, name: str = "a.npz") -> Path:
    rng = np.random.default_rng(7)
    a = rng.random((layers, heads, len(TOKENS), len(TOKENS))).astype(np.float32)
    a /= a.sum(axis=-1, keepdims=True)
    path = folder / name
    np.savez(path, attention=a, tokens=np.array(TOKENS))
    return path


@pytest.fixture
def npz(tmp_path) -> Path:
    return saved_attention(tmp_path)


def test_session_and_pipeline_show_the_file_as_saved(npz):
    s = Session()
    s.attention_path = str(npz)
    s.layer, s.head = 1, 2
    res = run(resolve(s))
    with np.load(npz) as f:
        a = f["attention"]
    assert res.request.tokens == tuple(TOKENS) == s.tokens
    np.testing.assert_array_equal(res.weights, a[1])
    np.testing.assert_array_equal(res.layer_weights, a)
    assert res.request.temperature == 1.0
    with pytest.raises(ValueError, match="temperature"):
        s.temperature = 2.0
    with pytest.raises(ValueError, match="mask"):
        s.causal = not s.causal
    with pytest.raises(ValueError, match="saved-attention"):
        s.text = "something else"
    s.model_path = None  # "Toy model"
    assert s.attention_path is None and s.attention is None and s.scene == "cat"


@pytest.mark.parametrize("bad", ["pickled", "shape"])
def test_bad_files_are_refused_and_nothing_changes(tmp_path, bad):
    if bad == "pickled":
        path = tmp_path / "p.npz"
        np.savez(path, attention=np.array([{"a": 1}], dtype=object), tokens=np.array(TOKENS))
        want = "pickle"
    else:
        path = tmp_path / "s.npz"
        np.savez(path, attention=np.ones((6, 6), np.float32) / 6, tokens=np.array(TOKENS))
        want = "expected"
    s = Session()
    before = (s.tokens, s.scene, s.text, s.n_layers, s.n_heads)
    with pytest.raises(ValueError, match=want):
        s.attention_path = str(path)
    assert (s.tokens, s.scene, s.text, s.n_layers, s.n_heads) == before
    assert s.attention_path is None


def test_cross_attention_files_are_refused_clearly(tmp_path):
    a = np.full((1, 2, 3, 4), 0.25, np.float32)
    path = tmp_path / "x.npz"
    np.savez(path, attention=a, tokens=np.array(TOKENS[:3]), key_tokens=np.array(TOKENS[:4]))
    with pytest.raises(ValueError, match="cross-attention"):
        Session().attention_path = str(path)


def test_importing_in_the_window_fills_the_panels(window, wait_result, npz):
    w = window
    assert w.set_attention_file(str(npz))
    res = wait_result(w.controller, timeout=20_000)
    res = w.controller.latest
    assert res.request.tokens == tuple(TOKENS)
    assert "a.npz" in w.model_box.currentText()
    assert not w.causal_box.isEnabled()
    grid = w.panel("head_grid")
    grid.draw(res)
    assert grid.grid.stack.shape[0] == 2 * 3 and grid.grid.columns == 3
    qkv = w.panel("qkv_steps")
    qkv.draw(res)
    assert FILE_NO_QKV in qkv.no_qkv.text() and qkv.splitter.isHidden()
    causal = w.panel("causal_mask")
    causal.draw(res)
    assert "no scores" in causal.file_note.text() and not causal.toggle.isEnabled()
    temp = w.panel("softmax_temperature")
    assert not temp.slider.isEnabled()
    heat = w.panel("score_heatmap")
    heat.draw(res)
    assert heat.heatmap.row_labels == tuple(TOKENS)
    # A refused file keeps the one in use.
    bad = npz.parent / "bad.npy"
    np.save(bad, np.ones((2, 2, 2), np.float32))
    assert not w.set_attention_file(str(bad))
    assert "Cannot import" in w.statusBar().currentMessage()
    assert w.session.attention_path == str(npz.resolve())
    # "Toy model" goes back.
    w._model_chosen(0)
    assert w.session.attention is None and w.model_box.currentIndex() == 0
    assert w.causal_box.isEnabled() and temp.slider.isEnabled()


def test_export_cli_with_an_attention_file(tmp_path, npz, capsys):
    out = tmp_path / "x.png"
    code = main(["export", "--attention-file", str(npz), "--panel", "score_heatmap",
                 "--layer", "2", "--head", "3", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert out.stat().st_size > 1000
