"""An encoder–decoder in the app: the target box and Translate, the stack selector, and the
cross-attention panel showing the model's own decoder→source attention (tiny random Marian)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import attnviz.models as M
from attnviz.gui.worker import wait_for_workers
from attnviz.models.encoder_decoder import forward_pair, translate
from attnviz.state.pipeline import resolve

SOURCE = "le chat est assis sur le tapis ."


def settle(qtbot, w):
    """Wait until the window shows a result of what the session holds now."""

    def current() -> bool:
        latest = w.controller.latest
        return latest is not None and latest.request == resolve(w.session)

    qtbot.waitUntil(current, timeout=30_000)
    w.controller.wait()
    return w.controller.latest


@pytest.fixture
def marian_window(window, qtbot, tiny_marian):
    window.session.text = SOURCE
    assert window.set_model(str(tiny_marian))
    # The target starts as the model's own greedy translation, written on a worker.
    qtbot.waitUntil(lambda: window.session.text_b != "", timeout=30_000)
    wait_for_workers()
    settle(qtbot, window)
    return window


def test_the_target_is_the_models_translation_and_every_box_shows(marian_window, tiny_marian):
    w = marian_window
    assert w.session.text_b == translate(M.load(tiny_marian), SOURCE)
    assert w.text_b_edit.isVisible() and w.text_b_edit.text() == w.session.text_b
    assert w.text_b_label.text().strip() == "Target" and w.translate_button.isVisible()
    assert w.stack_box.isVisible() and w.stack_box.currentData() == "encoder"
    assert w.causal_box.isEnabled() and not w.session.causal


def test_stack_selector_and_the_decoders_mask(marian_window, qtbot):
    w = marian_window
    w.stack_box.setCurrentIndex(w.stack_box.findData("decoder"))
    res = settle(qtbot, w)
    assert w.session.stack == "decoder" and w.session.n_layers == 3
    assert w.session.causal and not w.causal_box.isEnabled()
    assert "its decoder was trained" in w.causal_box.toolTip()
    assert res.request.tokens[0] == "<pad>"  # the decoder's start token
    panel = w.panel("causal_mask")
    assert not panel.toggle.isEnabled()


def test_typed_target_and_the_cross_panel(marian_window, qtbot, tiny_marian):
    w = marian_window
    w.text_b_edit.setText("the cat sat on the mat .")
    w.text_b_edit.returnPressed.emit()
    w.session.layer, w.session.head = 1, 2
    res = settle(qtbot, w)
    assert (res.request.layer, res.request.head) == (1, 2)
    pair = forward_pair(M.load(tiny_marian), SOURCE, "the cat sat on the mat .")
    w.docks["cross_attention"].raise_()
    panel = w.panel("cross_attention")
    qtbot.waitUntil(lambda: panel.links.vb.height() > 200)
    panel.draw(res)
    data = panel.data()
    np.testing.assert_allclose(data.weights, pair.cross.attentions[1, 2], atol=1e-6)
    assert panel.heatmap.row_labels == pair.decoder.tokens
    assert panel.heatmap.col_labels == pair.encoder.tokens
    assert not panel.toy_texts.isVisibleTo(panel)
    assert "decoder layer 2 of 3, head 3" in panel.summary.text()
    # Every source token has its line and its label with its weight.
    lines = [ln for ln in panel._lines if ln.isVisible()]
    assert len(lines) == len(pair.encoder.tokens)
    shown = [lb.toPlainText() for lb in panel._labels if lb.isVisible()]
    assert sum("  0." in t or "  1." in t for t in shown) == len(pair.encoder.tokens)
    assert "decoder layer 2" in panel.figure_caption() and "the cat sat" in panel.figure_caption()
    # The two-line column headers stay whole above 7 rows of tokens (a fixed margin cut them).
    view = panel.links.vb.sceneBoundingRect()
    for label in panel._labels[:2]:
        assert label.sceneBoundingRect().top() >= view.top() - 1
        # A click on a target row inspects it.
    panel.heatmap.row_clicked.emit(3)
    assert w.session.view_params["cross_attention"].target_token == 3


def test_a_bad_target_is_refused_and_the_box_shows_what_holds(marian_window):
    w = marian_window
    before = w.session.text_b
    w.text_b_edit.setText("word " * 70)  # past the 64 positions
    w.text_b_edit.returnPressed.emit()
    assert w.session.text_b == before and w.text_b_edit.text() == before


def test_one_text_sources_hide_the_target_and_the_stack(window, wait_result, tiny_gpt2):
    assert not window.text_b_edit.isVisible() and not window.stack_box.isVisible()
    window.session.text = "the cat sat"
    assert window.set_model(str(tiny_gpt2))
    wait_result(window.controller, timeout=20_000)
    assert not window.text_b_edit.isVisible() and not window.translate_button.isVisible()
    assert not window.translate()


def test_export_cli_cross_attention_of_a_model(tmp_path, tiny_marian, capsys):
    from attnviz.cli import main

    out = tmp_path / "cross.json"
    code = main(["export", "--model", str(tiny_marian), "--text", SOURCE, "--panel",
                 "cross_attention", "--stack", "decoder", "--layer", "3", "--head", "2",
                 "--data", "json", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    doc = json.loads(out.read_text())
    model = M.load(tiny_marian)
    target = translate(model, SOURCE)  # no --target: the model's own translation
    pair = forward_pair(model, SOURCE, target)
    assert doc["alignment_rows"] == list(pair.decoder.tokens)
    np.testing.assert_allclose(doc["alignment"], pair.cross.attentions[2, 1], atol=1e-6)
    png = tmp_path / "cross.png"
    assert main(["export", "--model", str(tiny_marian), "--text", SOURCE, "--target",
                 "the cat sat .", "--stack", "decoder", "--panel", "cross_attention",
                 "--out", str(png)]) == 0  # fmt: skip
    assert png.stat().st_size > 1000
    assert main(["export", "--panel", "cross_attention", "--target", "x",
                 "--out", str(png)]) == 2  # fmt: skip
    assert "reads one" in capsys.readouterr().err


def test_qkv_steps_name_t5s_position_bias(window, qtbot, tiny_t5):
    window.session.text = SOURCE
    assert window.set_model(str(tiny_t5))
    qtbot.waitUntil(lambda: window.session.text_b != "", timeout=30_000)
    wait_for_workers()
    res = settle(qtbot, window)
    panel = window.panel("qkv_steps")
    panel.set_step(2)
    panel.draw(res)
    assert "position bias" in panel.step_table.title.text()
    assert "Q·Kᵀ·s + B" in panel.formula.text() and "√d_k" not in panel.formula.text()
    panel.set_step(1)
    panel.draw(res)
    assert "not divided by √d_k" in panel.step_table.title.text()


def test_head_titles_say_a_plain_heads_number_once():
    from attnviz.gui.panels.token_attention import head_title

    assert head_title(2, ("head 1", "head 2", "head 3")) == "head 3"
    assert head_title(0, ("pronoun head",)) == "head 1, pronoun head"
