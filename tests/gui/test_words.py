"""Words a student will not trip on (issue 12, item 6)."""

from __future__ import annotations

from attnviz.gui.panels import all_panels
from attnviz.lessons.texts import panel_text
from attnviz.state.views.attention_patterns import PICTURE_CELLS


def test_the_heatmap_of_weights_is_named_for_weights():
    assert all_panels()["score_heatmap"].title == "Attention weights"


def test_the_flash_text_gives_the_true_count_and_says_what_the_quoted_one_is():
    text = panel_text("flash_attention")
    assert "34 MiB" in text and "about 17×" in text
    assert "the explainer" not in text  # named by what it claims, not by a page the user lacks


def test_mask_colour_bars_say_what_a_cell_is(make_panel):
    panel = make_panel("attention_patterns")
    params = panel.session.view_params["attention_patterns"]
    label = panel.gallery.colorbar.getAxis("left").labelText
    assert params.n <= PICTURE_CELLS and label == "pair scored: 1 yes, 0 no"
    params.n = PICTURE_CELLS * 4
    panel.controller.compute_now()
    panel.ensure_drawn()
    assert panel.gallery.colorbar.getAxis("left").labelText == "share of pairs scored per cell"
