"""Head grid, cross-attention and attention patterns, driven as a user drives them."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.core.head_stats import head_stats
from attnviz.gui.panels import all_panels
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.pooling import pool as pool_stack  # one function, 2-D and 3-D
from attnviz.gui.widgets.tile_grid import TileGrid
from attnviz.state.views import VIEWS, View

PANELS = all_panels()


PANEL_SIZE = (1100, 700)  # make_panel (tests/gui/conftest.py) opens panels at this size


def change(qtbot, panel, fn):
    """Apply a change and wait for the recomputed result to be drawn."""
    with qtbot.waitSignal(panel.controller.result_ready, timeout=5000):
        fn()
    panel.controller.wait()
    return panel.controller.latest


def click_view_point(qtbot, graphics, vb, point):
    """Click a point given in a ViewBox's coordinates."""
    pos = graphics.mapFromScene(vb.mapViewToScene(point))
    qtbot.mouseClick(graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)


def pixel(graphics, vb, point, image):
    p = graphics.mapFromScene(vb.mapViewToScene(point))
    return image.pixelColor(p.x(), p.y())


def close(a, b, tol=8):
    return max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue())) < tol


def cmap_colour(x):
    return QtGui.QColor(*theme_manager().colormap().map(x, mode="byte")[:3])


# -- head grid ---------------------------------------------------------------------------------
def test_clicking_a_head_focuses_it_everywhere(qtbot, make_panel):
    panel = make_panel("head_grid")
    grid = panel.grid
    assert panel.session.head == 2
    qtbot.waitUntil(lambda: grid.plot.vb.sceneBoundingRect().width() > 50)
    result = change(qtbot, panel, lambda: click_view_point(
        qtbot, grid, grid.plot.vb, grid.cell_center(0, 3, 3)))  # fmt: skip
    assert panel.session.head == 0 and result.request.head == 0
    assert grid.focused == 0
    assert panel.table.selected_row() == 0
    assert "head 1, previous token" in panel.caption.text()


def test_clicking_a_table_row_focuses_that_head(qtbot, make_panel):
    panel = make_panel("head_grid")
    rect = panel.table.visualRect(panel.table.model().index(3, 0))
    change(qtbot, panel, lambda: qtbot.mouseClick(
        panel.table.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center()))  # fmt: skip
    assert panel.session.head == 3 and panel.grid.focused == 3


def test_cycle_button_walks_through_the_heads(qtbot, make_panel):
    panel = make_panel("head_grid")
    panel.timer.setInterval(20)
    seen = []
    panel.session.events.head.connect(seen.append)
    qtbot.mouseClick(panel.cycle, QtCore.Qt.MouseButton.LeftButton)
    assert panel.cycle.isChecked() and panel.timer.isActive()
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=5000)
    qtbot.mouseClick(panel.cycle, QtCore.Qt.MouseButton.LeftButton)
    assert not panel.timer.isActive()
    assert seen[:3] == [3, 0, 1]  # from head 2 (index), wrapping round the 4 heads
    panel.controller.wait()


def test_head_table_shows_the_stats_of_the_weights_drawn(make_panel):
    panel = make_panel("head_grid")
    result = panel.result
    data = result.views["head_grid"]
    expected = head_stats(result.weights)  # the view recomputes; it must agree with the result
    for got, want in zip(data.stats, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert panel.table.model().rowCount() == 4
    assert panel.table.cell_text(2, 2) == f"{expected.first_token[2]:.3f}"
    exported = panel.export_data()
    assert exported["head_stats"].shape == (4, 3)
    assert exported["weights"].shape == (4, 10, 10)
    assert exported["head_stats_rows"][0] == "previous token"


def test_head_tiles_are_drawn_from_the_weights(qtbot, make_panel):
    panel = make_panel("head_grid")
    grid = panel.grid
    qtbot.waitUntil(lambda: grid.plot.vb.sceneBoundingRect().width() > 50)
    img = grid.viewport().grab().toImage()
    w = panel.result.weights
    # head 1 ("previous token"): "cat" (1) looks at "The" (0) strongly, at "on" (3) hardly
    strong = pixel(grid, grid.plot.vb, grid.cell_center(0, 1, 0), img)
    weak = pixel(grid, grid.plot.vb, grid.cell_center(0, 1, 3), img)
    assert close(strong, cmap_colour(float(w[0, 1, 0])), tol=14)
    assert close(weak, cmap_colour(float(w[0, 1, 3])), tol=14)
    assert not close(strong, weak)


def test_a_grid_of_144_heads_is_one_image(qtbot):
    grid = TileGrid()
    qtbot.addWidget(grid)
    grid.resize(900, 900)
    grid.show()
    rng = np.random.default_rng(0)
    stack = rng.random((144, 512, 512), dtype=np.float32)
    stack[7, 100, 300] = 5.0  # one peak must survive pooling
    grid.set_tiles(stack, [f"L1 H{i + 1}" for i in range(144)])
    images = [i for i in grid.plot.items if isinstance(i, pg.ImageItem)]
    assert images == [grid.image]
    assert grid.columns * -(-144 // grid.columns) >= 144
    assert max(grid.image.image.shape) <= 12 * 64 * 2  # pooled to 64 cells a tile
    pooled = pool_stack(stack, 8)
    assert pooled.shape == (144, 64, 64) and pooled[7, 12, 37] == 5.0
    assert grid.hit(grid.cell_center(143, 511, 0)) == (143, 511, 0)


# -- cross-attention ---------------------------------------------------------------------------
def test_clicking_a_decoder_word_shows_its_row(qtbot, make_panel):
    panel = make_panel("cross_attention")
    params = panel.session.view_params["cross_attention"]
    data = panel.data()
    assert data.decoder_tokens == ("The", "cat", "sleeps")
    assert params.selected == 1 and panel.heatmap.highlighted_row == 1
    assert "“cat”</b> reads mostly <b>“chat”" in panel.summary.text()
    qtbot.waitUntil(lambda: panel.links.vb.sceneBoundingRect().width() > 50)
    ys = panel._ys(3, data)
    change(qtbot, panel, lambda: click_view_point(
        qtbot, panel.graphics, panel.links.vb, QtCore.QPointF(-0.02, ys[2])))  # fmt: skip
    assert params.selected == 2
    assert panel.heatmap.highlighted_row == 2
    assert "“sleeps”</b> reads mostly <b>“dort”" in panel.summary.text()
    row = panel.export_data()["selected_row"]
    np.testing.assert_array_equal(row, panel.data().weights[2])


def test_cross_heatmap_row_click_and_labels(qtbot, make_panel):
    panel = make_panel("cross_attention")
    heat = panel.heatmap
    qtbot.waitUntil(lambda: heat.plot.sceneBoundingRect().width() > 50)
    change(qtbot, panel, lambda: click_view_point(
        qtbot, heat, heat.plot.vb, QtCore.QPointF(1.5, 0.5)))  # fmt: skip
    assert panel.session.view_params["cross_attention"].selected == 0
    texts = [label.toPlainText() for label in panel._labels if label.isVisible()]
    assert "decoder\n(queries)" in texts and "encoder\n(keys, values)" in texts
    assert heat.row_labels == ("The", "cat", "sleeps") and heat.col_labels == ("Le", "chat", "dort")


def test_editing_sentences_and_refusing_an_empty_one(qtbot, make_panel):
    panel = make_panel("cross_attention")
    params = panel.session.view_params["cross_attention"]
    panel.decoder_edit.setText("The black cat sleeps")
    change(qtbot, panel, lambda: panel.decoder_edit.editingFinished.emit())
    assert panel.data().weights.shape == (4, 3)  # L = 4 queries, S = 3 keys
    panel.encoder_edit.setText("   ")
    panel.encoder_edit.editingFinished.emit()
    assert "empty" in panel.message.text() and panel.message.isVisibleTo(panel)
    assert params.encoder_text == "Le chat dort"
    assert panel.encoder_edit.text() == "Le chat dort"  # the field shows what is in force
    panel.encoder_edit.setText("Le chat noir dort")
    change(qtbot, panel, lambda: panel.encoder_edit.editingFinished.emit())
    assert not panel.message.isVisibleTo(panel)
    assert panel.data().encoder_tokens[2] == "noir"


# -- attention patterns ------------------------------------------------------------------------
def test_changing_n_and_w_updates_the_densities(qtbot, make_panel):
    panel = make_panel("attention_patterns")
    params = panel.session.view_params["attention_patterns"]
    before = {e.name: e.density for e in panel.data().entries}
    assert before["full"] == 1.0 and before["window"] == pytest.approx(556 / 64**2)
    change(qtbot, panel, lambda: panel.n_box.setValue(256))
    after = {e.name: e.density for e in panel.data().entries}
    assert params.n == 256 and after["window"] < before["window"]
    assert after["window"] == pytest.approx((256 * 9 - 20) / 256**2)
    change(qtbot, panel, lambda: panel.w_box.setValue(16))
    window = next(e for e in panel.data().entries if e.name == "window")
    assert window.pairs == window.cost.pairs == 256 * 33 - 16 * 17
    row = [panel.costs.model().index(2, c).data() for c in range(5)]
    assert row[0] == "O(n·w)" and row[2] == f"{window.pairs:,}" and "= 8,176" in row[1]
    assert panel.gallery.titles[2] == f"window\n{window.density:.1%}"
    assert "n = 256 tokens and w = 16" in panel.gallery_caption.text()


@pytest.mark.parametrize(
    ("box", "value", "message"),
    [
        ("n_box", 2, "n must lie in"),
        ("n_box", 5000, "n must lie in"),
        ("w_box", 65, "w must lie in"),
        ("period_box", 40, "period must lie"),
    ],
)
def test_bad_values_are_refused_and_the_state_kept(make_panel, box, value, message):
    panel = make_panel("attention_patterns")
    params = panel.session.view_params["attention_patterns"]
    state = (params.n, params.w, params.period)
    entries = panel.data().entries
    getattr(panel, box).setValue(value)
    assert message in panel.message.text() and panel.message.isVisibleTo(panel)
    assert (params.n, params.w, params.period) == state
    assert getattr(panel, box).value() == {"n_box": 64, "w_box": 4, "period_box": 8}[box]
    assert panel.data().entries is entries


def test_a_smaller_n_brings_the_window_along(qtbot, make_panel):
    panel = make_panel("attention_patterns")
    params = panel.session.view_params["attention_patterns"]
    change(qtbot, panel, lambda: panel.w_box.setValue(30))
    change(qtbot, panel, lambda: panel.n_box.setValue(10))
    assert (params.n, params.w) == (10, 10) and panel.w_box.value() == 10
    assert not panel.message.isVisibleTo(panel)


def test_pattern_pictures_show_masked_pairs_in_the_zero_colour(qtbot, make_panel):
    panel = make_panel("attention_patterns", size=(1400, 700))
    change(qtbot, panel, lambda: panel.n_box.setValue(16))
    grid = panel.gallery
    qtbot.waitUntil(lambda: grid.plot.vb.sceneBoundingRect().width() > 50)
    img = grid.viewport().grab().toImage()
    causal = [e.name for e in panel.data().entries].index("causal")
    vb = grid.plot.vb
    assert close(pixel(grid, vb, grid.cell_center(causal, 0, 15), img), cmap_colour(0.0))
    assert close(pixel(grid, vb, grid.cell_center(causal, 15, 0), img), cmap_colour(1.0))
    block = [e.name for e in panel.data().entries].index("block")  # blocks of w = 4
    assert close(pixel(grid, vb, grid.cell_center(block, 5, 6), img), cmap_colour(1.0))
    assert close(pixel(grid, vb, grid.cell_center(block, 5, 9), img), cmap_colour(0.0))


def test_induction_tab_shows_the_stripe_and_the_scores(qtbot, make_panel):
    panel = make_panel("attention_patterns")
    panel.tabs.setCurrentIndex(1)
    ind = panel.data().induction
    np.testing.assert_array_equal(panel.layer2.matrix, ind.weights[1][0])
    assert panel.scores.model().rowCount() == 4
    assert float(panel.scores.cell_text(2, 1)) > 0.95  # L2 · induction
    assert float(panel.scores.cell_text(3, 1)) < 0.2  # L2 · random
    assert "7 times out of 7" in panel.induction_summary.text()
    change(qtbot, panel, lambda: panel.period_box.setValue(12))
    assert len(panel.data().induction.tokens) == 25
    exported = panel.export_data()
    assert exported["costs"].shape == (7, 3) and exported["costs_rows"][0] == "full"
    assert exported["induction_scores"].shape == (4, 2)


# -- all three ---------------------------------------------------------------------------------
@pytest.mark.parametrize("panel_id", ["head_grid", "cross_attention", "attention_patterns"])
def test_a_view_error_is_shown_and_the_panel_lives(qtbot, make_panel, panel_id):
    panel = make_panel(panel_id)
    original = VIEWS[panel_id]

    def refuse(result, params):
        raise ValueError("deliberately refused for the test")

    VIEWS[panel_id] = View(panel_id, refuse, original.params)
    try:
        panel.controller.compute_now()
        assert "deliberately refused" in panel.message.text()
        assert panel.message.isVisibleTo(panel)
        assert panel.export_data() is not None
    finally:
        VIEWS[panel_id] = original
    panel.controller.compute_now()
    assert not panel.message.isVisibleTo(panel)  # the next good result clears it


@pytest.mark.parametrize("panel_id", ["head_grid", "cross_attention", "attention_patterns"])
def test_dark_theme_repaints(make_panel, panel_id):
    panel = make_panel(panel_id)
    theme_manager().apply(theme="dark")
    plot_widgets = panel.findChildren(pg.GraphicsView)
    assert plot_widgets
    for w in plot_widgets:
        assert w.backgroundBrush().color().name() == theme_manager().theme.plot_background
    img = panel.grab().toImage().scaled(40, 30)
    colours = {img.pixel(x, y) for x in range(40) for y in range(30)}
    assert len(colours) > 10


def test_panels_are_registered_with_their_places():
    area = QtCore.Qt.DockWidgetArea
    assert [PANELS[p].order for p in ("head_grid", "cross_attention", "attention_patterns")] == [
        60, 70, 80,
    ]  # fmt: skip
    assert PANELS["head_grid"].default_area == area.RightDockWidgetArea
    assert PANELS["cross_attention"].default_area == area.BottomDockWidgetArea
    assert PANELS["attention_patterns"].default_area == area.BottomDockWidgetArea
    for pid in ("head_grid", "cross_attention", "attention_patterns"):
        assert PANELS[pid].panel_id == pid
        assert isinstance(PANELS[pid].title, str) and PANELS[pid].title
    assert QtWidgets.QApplication.instance() is not None


def test_pool_stack_is_the_block_maximum_or_mean_of_each_tile():
    rng = np.random.default_rng(1)
    stack = rng.random((3, 37, 29)).astype(np.float32)  # blocks of 4 cut short at the edges
    padded = np.full((3, 40, 32), -np.inf, dtype=np.float32)
    padded[:, :37, :29] = stack
    peak = padded.reshape(3, 10, 4, 8, 4).max(axis=(2, 4))
    np.testing.assert_array_equal(pool_stack(stack, 4), peak)
    mean = pool_stack(stack, 4, peak=False)
    full_blocks = stack[:, :36, :28].reshape(3, 9, 4, 7, 4).mean(axis=(2, 4))
    np.testing.assert_allclose(mean[:, :9, :7], full_blocks, rtol=1e-6)
    np.testing.assert_allclose(mean[:, 9, 7], stack[:, 36:, 28:].mean(axis=(1, 2)), rtol=1e-6)
