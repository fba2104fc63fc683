"""Only what is on screen is computed (issue 14, item 3): a panel behind another dock's tab
computes nothing until it is shown, then draws the current numbers."""

from __future__ import annotations

import numpy as np

from attnviz.gui.lifetime import settle
from attnviz.state.pipeline import resolve, run


def _computed(window) -> None:
    settle(100)  # past the controller's throttle
    window.controller.wait()
    settle()


def test_a_hidden_panel_computes_nothing_until_it_is_shown(make_window):
    w = make_window(size=(1280, 720))
    grid = w.panel("head_grid")
    assert not grid.showing(), "the head grid starts behind another tab"
    front = [p for p in w._built.values() if p.showing()]
    assert front, "some panel is on screen"

    w.session.temperature = 0.4
    _computed(w)
    latest = w.controller.latest
    assert latest.request.temperature == 0.4
    for panel in front:  # what is on screen was computed before delivery …
        assert latest.ready(panel.wanted()), panel.panel_id
    assert not latest.ready(grid.wanted())  # … and the hidden grid's numbers were not
    assert not latest.views.computed("head_grid")

    w.docks["head_grid"].raise_()  # the lecturer clicks its tab
    _computed(w)
    assert grid.showing()
    shown = w.controller.latest
    assert shown.ready(grid.wanted())
    assert grid.result is shown and not grid._stale
    expected = run(resolve(w.session)).weights
    np.testing.assert_allclose(grid.grid.stack, expected, rtol=1e-6, atol=1e-7)
