"""Token axes label every token (issue 12, item 3): flat, turned, smaller, or thinned and said."""

from __future__ import annotations

import pytest
from PySide6 import QtGui

from attnviz.gui.widgets.heatmap import Heatmap
from attnviz.gui.widgets.token_axis import MIN_SCALE
from attnviz.lessons.scenes import SCENES
from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session

CAT = SCENES["cat"].text.split()


def drawn_texts(axis) -> list[str]:
    """The texts the axis will paint (ENVIRONMENT.md: generateDrawSpecs is what is drawn)."""
    img = QtGui.QImage(10, 10, QtGui.QImage.Format.Format_ARGB32)
    p = QtGui.QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return [text for _, _, text in specs[2]]


@pytest.fixture
def heatmap(qtbot):
    def make(w, h, tokens=CAT):
        hm = Heatmap(title="weights")
        qtbot.addWidget(hm)
        hm.resize(w, h)
        hm.show()
        qtbot.waitExposed(hm)
        weights = run(resolve(Session())).weights[2]
        n = len(tokens)
        hm.set_data(weights[:n, :n], tuple(tokens))
        qtbot.wait(20)
        return hm

    return make


@pytest.mark.parametrize("size", [(900, 700), (640, 420), (420, 360)])
def test_every_token_of_the_cat_sentence_is_drawn_on_both_axes(heatmap, size):
    hm = heatmap(*size)
    for name in ("left", "bottom"):
        assert drawn_texts(hm.plot.getAxis(name)) == CAT, (name, size)


def test_labels_turn_when_they_do_not_fit_their_columns(heatmap):
    wide, narrow = heatmap(1200, 700), heatmap(420, 360)
    assert not wide.plot.getAxis("bottom").rotated
    assert narrow.plot.getAxis("bottom").rotated


def test_a_short_plot_shrinks_the_font_then_thins_and_says_so(heatmap):
    roomy, short = heatmap(700, 330), heatmap(700, 170)
    axis = roomy.plot.getAxis("left")
    base = axis.style["tickFont"] or axis.font()
    assert axis.step == 1 and axis.label_font.pointSizeF() >= MIN_SCALE * base.pointSizeF()
    tiny = short.plot.getAxis("left")
    assert tiny.step > 1 and "(every" in tiny.labelText
    assert drawn_texts(tiny) == CAT[:: tiny.step]
