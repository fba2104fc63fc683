"""A real model in the app: picker, panels, head grid as layers × heads, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz.models as M
from attnviz.cli import main
from tests.state.test_model_pipeline import TEXT, pickled  # noqa: F401


@pytest.fixture
def model_window(window, wait_result, tiny_bert):
    window.session.text = TEXT
    assert window.set_model(str(tiny_bert))
    wait_result(window.controller, timeout=20_000)
    return window


def test_picking_a_model_fills_every_panel(model_window, tiny_bert):
    w = model_window
    res = w.controller.latest
    assert res.request.tokens[0] == "[CLS]" and res.request.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(res.weights, M.load(tiny_bert).attentions(TEXT)[0], atol=1e-6)
    assert w.model_box.currentData() == str(tiny_bert.resolve())
    assert "2 layers × 4 heads" in w.status_backend.text()
    assert w.layer_box.maximum() == 2 and w.head_box.count() == 4
    assert not w.scene_box.isEnabled()
    heat = w.panel("score_heatmap")
    heat.ensure_drawn()
    assert "[CLS]" in heat.row_summary(res) or "“" in heat.row_summary(res)
    qkv = w.panel("qkv_steps")
    qkv.draw(res)
    assert not qkv.input_tabs.isTabEnabled(1) and not qkv.tables["X"].model.editable
    assert qkv.tables["X"].model.rowCount() == len(res.request.tokens)


def test_head_grid_is_layers_by_heads_and_a_click_sets_both(model_window, wait_result):
    w = model_window
    grid = w.panel("head_grid")
    grid.draw(w.controller.latest)
    assert grid.grid.stack.shape[0] == 2 * 4 and grid.grid.columns == 4
    grid.grid.tile_clicked.emit(6)  # layer 2, head 3
    assert (w.session.layer, w.session.head) == (1, 2)
    res = wait_result(w.controller, timeout=20_000)
    grid.draw(res)
    assert grid.tile_of(res) == 6 and "layer 2, head 3" in grid.caption.text()


def test_hide_special_tokens_action(model_window, wait_result):
    w = model_window
    w.hide_special_action.trigger()
    res = wait_result(w.controller, timeout=20_000)
    assert "[CLS]" not in res.request.tokens and "[SEP]" not in res.request.tokens
    np.testing.assert_allclose(res.weights.sum(-1), 1, atol=1e-5)
    assert "attention sinks" in w.hide_special_action.toolTip()


def test_decoder_locks_the_causal_toggle(window, wait_result, tiny_gpt2):
    window.session.text = TEXT
    assert window.set_model(str(tiny_gpt2))
    wait_result(window.controller, timeout=20_000)
    assert window.session.causal and not window.causal_box.isEnabled()
    assert "decoder" in window.causal_box.toolTip()
    panel = window.panel("causal_mask")
    assert not panel.toggle.isEnabled() and "decoder" in panel.toggle.toolTip()


def test_a_pickle_folder_is_refused_and_the_toy_stays(window, pickled):  # noqa: F811
    before = (window.session.tokens, window.controller.latest.request.tokens)
    assert not window.set_model(str(pickled))
    assert "never loads pickle" in window.statusBar().currentMessage()
    assert window.session.model_path is None
    assert (window.session.tokens, window.controller.latest.request.tokens) == before
    assert window.model_box.currentIndex() == 0 and window.scene_box.isEnabled()


def test_export_cli_with_a_model(tmp_path, tiny_bert, capsys):
    out = tmp_path / "x.png"
    code = main(["export", "--model", str(tiny_bert), "--panel", "score_heatmap",
                 "--layer", "2", "--head", "1", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert out.stat().st_size > 1000
    assert main(["export", "--model", str(tiny_bert), "--panel", "score_heatmap",
                 "--layer", "3", "--out", str(out)]) == 2  # fmt: skip
    assert "layer must lie in [0, 1]" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_gemma2(tmp_path_factory):
    from tests.models import builders as B

    folder = tmp_path_factory.mktemp("tiny-gemma2")
    n = B.write_llama_tokenizer_json(folder)
    B.llama(folder, n, kind="gemma2", seed=18, head_dim=16, num_key_value_heads=2,
            rope_theta=900.0, query_pre_attn_scalar=36, attn_logit_softcapping=2.0,
            sliding_window=4, hidden_activation="gelu_pytorch_tanh", pad_token_id=0,
            final_logit_softcapping=None)  # fmt: skip
    return folder


def test_a_soft_capping_model_shows_its_cap_step(window, wait_result, tiny_gemma2):
    """Issue 16: soft-capping is said on screen: the Q/K/V panel's second step is the cap, its
    formula shows cap·tanh, and every logit it lists lies within the cap."""
    text = "the quick brown fox jumps"
    window.session.text = text
    assert window.set_model(str(tiny_gemma2))
    res = wait_result(window.controller, timeout=20_000)
    np.testing.assert_allclose(
        res.weights, M.load(tiny_gemma2).attentions(text)[res.request.layer], atol=1e-6
    )
    qkv = window.panel("qkv_steps")
    qkv.draw(res)
    qkv.set_step(1)
    assert "cap at ±2" in qkv.step_table.title.text()
    assert "2·tanh(Q·Kᵀ·s / 2)" in qkv.formula.text() and "s = 0.1667" in qkv.formula.text()
    assert np.abs(res.trace.scaled_scores).max() <= 2.0 + 1e-6
    assert "the model's numbers" in qkv.figure_caption()  # it said "hand-built numbers"


def test_loading_a_model_says_how_far_it_got(window, qtbot, tiny_gpt2, tmp_path):
    import shutil

    from attnviz.state.source import LOAD_EVENTS

    folder = shutil.copytree(tiny_gpt2, tmp_path / "fresh")  # not loaded by another test yet
    seen = []

    def broken(*_args):
        raise RuntimeError("a listener that fails")

    LOAD_EVENTS.progress.connect(lambda *args: seen.append(args))
    LOAD_EVENTS.progress.connect(broken)  # its failure must not fail the load
    said = []
    window.statusBar().messageChanged.connect(said.append)
    window.session.text = TEXT
    assert window.set_model(str(folder))
    qtbot.waitUntil(lambda: any("layer 2 of 2 converted" in m for m in said), timeout=20_000)
    window.controller.wait()
    folder_key = str(folder.resolve())
    assert seen[0][:2] == (folder_key, 0)  # mapped, nothing converted yet
    assert (folder_key, 2, 2) == seen[-1][:3]  # both layers converted on the first pass
    assert any("Loading fresh: layer 2 of 2 converted to float32" in m for m in said)
    assert window.session.model_path == folder_key  # loaded, not given up
    LOAD_EVENTS.progress.disconnect(broken)
