"""A BERT sentence pair in the app: the Sentence B box, segment boundaries in the heatmap and
the head grid, and what each row gives the other sentence (tiny random BERT)."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.state.pipeline import resolve

A, B_TEXT = "the cat sat on the mat", "it was tired"


def settle(qtbot, w):
    qtbot.waitUntil(
        lambda: (
            w.controller.latest is not None and w.controller.latest.request == resolve(w.session)
        ),
        timeout=30_000,
    )
    w.controller.wait()
    return w.controller.latest


@pytest.fixture
def pair_window(window, qtbot, tiny_bert):
    window.session.text = A
    assert window.set_model(str(tiny_bert))
    settle(qtbot, window)
    assert window.text_b_edit.isVisible() and window.text_b_label.text().strip() == "Sentence B"
    assert not window.translate_button.isVisible() and not window.stack_box.isVisible()
    window.text_b_edit.setText(B_TEXT)
    window.text_b_edit.returnPressed.emit()
    settle(qtbot, window)
    return window


def test_sentence_b_makes_two_segments_and_the_panels_mark_them(pair_window, qtbot):
    w = pair_window
    res = w.controller.latest
    tokens = res.request.tokens
    first_b = tokens.index("[SEP]") + 1
    assert tokens[first_b] == "it" and res.request.segments[first_b] == 1
    w.docks["score_heatmap"].raise_()
    heat = w.panel("score_heatmap")
    heat.draw(res)
    assert heat.heatmap.cuts == (first_b,)
    xs, ys = heat.heatmap._cut_lines.getData()
    assert {float(first_b)} <= set(xs.tolist()) and {float(first_b)} <= set(ys.tolist())
    row = res.head_weights[res.request.selected_token]
    share = row[np.asarray(res.request.segments) == 1].sum()
    assert f"gives {share:.0%} of its weight to sentence B" in heat.inspector.text()
    grid = w.panel("head_grid")
    grid.draw(res)
    assert grid.grid.cuts == (first_b,) and grid.grid._cut_lines.isVisible()
    xs, _ = grid.grid._cut_lines.getData()
    assert len(xs) == 4 * len(grid.grid.stack)  # two lines in every tile, one item
    assert "sentence B" in grid.caption.text()
    tok = w.panel("token_attention")
    tok.draw(res)
    assert "weight to sentence" in tok.summary.text()


def test_clearing_sentence_b_removes_the_boundary(pair_window, qtbot):
    w = pair_window
    w.text_b_edit.setText("")
    w.text_b_edit.returnPressed.emit()
    res = settle(qtbot, w)
    heat = w.panel("score_heatmap")
    heat.draw(res)
    assert res.request.segments == () and heat.heatmap.cuts == ()
    assert not heat.heatmap._cut_lines.isVisible()
    assert "sentence B" not in heat.inspector.text()


def test_a_pair_for_gpt2_is_not_offered(window, qtbot, tiny_gpt2):
    window.session.text = A
    assert window.set_model(str(tiny_gpt2))
    settle(qtbot, window)
    assert not window.text_b_edit.isVisible()
