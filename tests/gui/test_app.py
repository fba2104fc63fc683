"""The app as a user drives it: clicks, sliders, toggles, edits, restarts and refusals."""

import math

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.panels import all_panels
from attnviz.gui.theme import theme_manager

PANELS = all_panels()


def change(qtbot, window, fn):
    """Apply a change and wait for the recomputed result."""
    with qtbot.waitSignal(window.controller.result_ready, timeout=5000):
        fn()
    window.controller.wait()
    return window.controller.latest


def test_every_panel_is_a_dock_with_a_view_action(window):
    assert set(window.docks) == set(PANELS) >= {
        "token_attention", "qkv_steps", "score_heatmap", "softmax_temperature", "causal_mask",
    }  # fmt: skip
    texts = [a.text() for a in window.view_menu.actions()]
    for pid, dock in window.docks.items():
        assert dock.objectName() == pid
        assert dock.toggleViewAction().text() in texts


def test_clicking_a_token_updates_token_panel_and_heatmap_row(qtbot, window):
    token_panel = window.panels["token_attention"]
    heat = window.panels["score_heatmap"].heatmap
    strip = token_panel.strip
    target = window.session.tokens.index("cat")
    rect = strip.visualRect(token_panel.strip_model.index(target))
    change(qtbot, window, lambda: qtbot.mouseClick(
        strip.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center()))  # fmt: skip
    assert window.session.selected_token == target
    assert heat.highlighted_row == target
    assert token_panel.strongest_link()[0] == "cat"


def test_it_shows_its_strongest_link_to_cat(window):
    panel = window.panels["token_attention"]
    word, key, weight = panel.strongest_link()
    assert (word, key) == ("it", "cat") and weight > 0.3
    assert "“cat”" in panel.summary.text()


def test_clicking_a_heatmap_row_inspects_it(qtbot, window):
    panel = window.panels["score_heatmap"]
    window.docks["score_heatmap"].raise_()
    heat = panel.heatmap
    qtbot.waitUntil(lambda: heat.plot.sceneBoundingRect().width() > 50)
    scene_pt = heat.plot.vb.mapViewToScene(QtCore.QPointF(1.5, 2.5))  # row 2 = "sat"
    view_pt = heat.mapFromScene(scene_pt)
    change(qtbot, window, lambda: qtbot.mouseClick(
        heat.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=view_pt))  # fmt: skip
    assert window.session.selected_token == 2
    assert "Row “sat”" in panel.inspector.text() and "sum to 1.000" in panel.inspector.text()


def test_temperature_slider_moves_entropy_the_right_way(qtbot, window):
    panel = window.panels["softmax_temperature"]
    r1 = window.controller.latest
    change(qtbot, window, lambda: panel.slider.setValue(panel.slider.maximum()))
    hot = window.controller.latest
    assert hot.request.temperature == pytest.approx(5.0)
    assert hot.logit_entropy > r1.logit_entropy
    h = window.session.head
    assert hot.head_entropy[h].mean() > r1.head_entropy[h].mean()
    change(qtbot, window, lambda: panel.slider.setValue(0))
    cold = window.controller.latest
    assert cold.logit_entropy < r1.logit_entropy
    assert "nats" in panel.readout.text()


def test_causal_toggle_zeroes_the_upper_triangle(qtbot, window):
    result = change(qtbot, window, lambda: window.causal_box.setChecked(True))
    assert window.session.causal
    n = len(result.request.tokens)
    assert np.all(result.weights[:, np.triu_indices(n, 1)[0], np.triu_indices(n, 1)[1]] == 0)
    assert window.panels["causal_mask"].toggle.isChecked()  # bound both ways, no echo loop


def test_causal_heatmap_pixels_above_the_diagonal_have_the_zero_colour(qtbot, window):
    change(qtbot, window, lambda: window.causal_box.setChecked(True))
    heat = window.panels["score_heatmap"].heatmap
    window.docks["score_heatmap"].raise_()
    qtbot.waitUntil(lambda: heat.plot.sceneBoundingRect().width() > 50)
    img = heat.viewport().grab().toImage()
    zero = QtGui.QColor(*theme_manager().colormap().map(0.0, mode="byte")[:3])

    def pixel(row, col):
        p = heat.mapFromScene(heat.plot.vb.mapViewToScene(QtCore.QPointF(col + 0.5, row + 0.5)))
        return img.pixelColor(p.x(), p.y())

    def close(a, b):
        return max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue())) < 8

    assert close(pixel(0, 9), zero)  # above the diagonal: weight 0
    assert not close(pixel(0, 0), zero)  # "The" sees only itself: weight 1


def test_editing_a_cell_of_x_changes_q_and_the_weights(qtbot, window):
    panel = window.panels["qkv_steps"]
    window.docks["qkv_steps"].raise_()  # hidden tabs are drawn when shown
    before = window.controller.latest
    table = panel.tables["X"]
    idx = table.model.index(7, 2)  # token "it", feature "pronoun"
    change(qtbot, window, lambda: table.model.setData(idx, "0", QtCore.Qt.ItemDataRole.EditRole))
    after = window.controller.latest
    assert after.request.x[7, 2] == 0.0
    h = window.session.head
    assert not np.allclose(after.q[h, 7], before.q[h, 7])
    assert not np.allclose(after.weights[h, 7], before.weights[h, 7])
    assert panel.tables["Q"].model.matrix[7].tolist() == pytest.approx(after.q[h, 7].tolist())


def test_qkv_steps_show_the_traces_numbers(qtbot, window):
    panel = window.panels["qkv_steps"]
    for step in range(5):
        panel.set_step(step)
        np.testing.assert_array_equal(
            panel.step_table.model.matrix, panel.step_matrix(window.controller.latest, step)
        )
    d_k = window.controller.latest.request.wq.shape[2]
    assert f"√d_k = {math.sqrt(d_k):.3f}" in panel.formula.text()
    panel.play.setChecked(True)
    qtbot.waitUntil(lambda: panel.step != 4, timeout=4000)
    panel.play.setChecked(False)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda w: w.text_edit.setText(""), "empty"),
        (lambda w: w.text_edit.setText("token " * 10_000), "at most 2,048"),
    ],
)
def test_bad_text_is_refused_and_the_state_is_kept(qtbot, window, action, message):
    tokens = window.session.tokens
    action(window)
    qtbot.keyClick(window.text_edit, QtCore.Qt.Key.Key_Return)
    assert message in window.statusBar().currentMessage()
    assert window.session.tokens == tokens
    assert window.panels["token_attention"].strip_model.tokens == tokens


def test_emoji_and_right_to_left_text(qtbot, window):
    window.text_edit.setText("Le chat 🐈 dort — שלום !")
    change(qtbot, window, lambda: qtbot.keyClick(window.text_edit, QtCore.Qt.Key.Key_Return))
    assert "🐈" in window.session.tokens and "שלום" in window.session.tokens
    model = window.panels["token_attention"].strip_model
    shown = [model.data(model.index(i)) for i in range(model.rowCount())]
    assert shown == list(window.session.tokens)


def test_nan_typed_into_a_cell_is_refused(window):
    panel = window.panels["qkv_steps"]
    panel.ensure_drawn()
    before = window.controller.latest.request.x.copy()
    panel.tables["X"].model.setData(panel.tables["X"].model.index(0, 0), "nan")
    assert "finite" in panel.message.text() and panel.message.isVisibleTo(panel)
    assert window.session.edits == ()
    panel.tables["X"].model.setData(panel.tables["X"].model.index(0, 0), "abc")
    assert "not a number" in panel.message.text()
    np.testing.assert_array_equal(window.controller.latest.request.x, before)


def test_temperature_typed_as_zero_is_refused(window):
    panel = window.panels["softmax_temperature"]
    panel.t_box.setText("0")
    panel.t_box.returnPressed.emit()
    assert "temperature must be > 0" in panel.message.text()
    assert "one-hot" in panel.message.text()
    assert window.session.temperature == 1.0
    assert panel.t_box.text() == "1"


def test_layout_and_theme_persist_across_a_restart(qtbot, settings):
    from attnviz.gui.window import MainWindow

    w1 = MainWindow(settings=settings)
    qtbot.addWidget(w1)
    w1.show()
    w1.docks["causal_mask"].setVisible(False)
    w1.docks["score_heatmap"].setFloating(True)
    w1.set_theme("dark")
    w1.close()
    w2 = MainWindow(settings=settings)
    qtbot.addWidget(w2)
    w2.show()
    assert not w2.docks["causal_mask"].isVisible()
    assert w2.docks["score_heatmap"].isFloating()
    assert theme_manager().theme.name == "dark"
    w2.reset_layout()
    assert w2.docks["causal_mask"].isVisible()
    w2.close()
    theme_manager().apply(theme="light")


def test_dark_theme_repaints_heatmaps(window):
    heat = window.panels["score_heatmap"].heatmap
    window.set_theme("dark")
    assert heat.backgroundBrush().color().name() == theme_manager().theme.plot_background


def test_an_exception_in_a_slot_shows_a_dialog_and_the_app_lives(qtbot, window):
    from attnviz.gui.app import install_exception_hook

    install_exception_hook()
    button = QtWidgets.QPushButton("boom", window)

    def explode():
        raise RuntimeError("deliberate failure in a slot")

    button.clicked.connect(explode)
    with qtbot.capture_exceptions() as caught:
        qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    assert caught and "deliberate failure" in str(caught[0][1])
    # pytest-qt routes the exception to the test; call the hook as Qt would have.
    import sys

    sys.excepthook(*caught[0])
    dialogs = [w for w in QtWidgets.QApplication.topLevelWidgets()
               if w.objectName() == "error_dialog" and w.isVisible()]  # fmt: skip
    assert dialogs and "still running" in dialogs[0].text()
    dialogs[0].close()
    window.session.temperature = 2.0  # still alive and computing
    qtbot.waitUntil(lambda: window.controller.latest.request.temperature == 2.0, timeout=5000)


def test_pooling_keeps_peaks_and_masks():
    from attnviz.gui.widgets.heatmap import quantise
    from attnviz.gui.widgets.pooling import pool

    m = np.zeros((1030, 1030), dtype=np.float32)
    m[5, 700] = 1.0
    m[:, 1029] = -np.inf
    p = pool(m, 3, peak=True)
    assert p.shape == (344, 344)
    assert p[1, 233] == 1.0 and p.max() == 1.0
    mean = pool(np.where(np.isfinite(m), 0.5, m), 3, peak=False)
    assert np.allclose(mean[:, :343], 0.5) and np.all(np.isneginf(mean[:, 343]))
    q = quantise(np.array([[0.0, 1.0, -np.inf, np.nan]]), (0.0, 1.0))
    assert q.tolist() == [[0, 254, 255, 255]]


def test_a_layout_saved_with_other_panels_is_not_restored(qtbot, settings):
    from attnviz.gui.window import MainWindow

    w1 = MainWindow(settings=settings)
    qtbot.addWidget(w1)
    w1.show()
    w1.docks["causal_mask"].setVisible(False)
    w1.close()
    settings.setValue("panels", "token_attention,score_heatmap")  # as an older version saved
    w2 = MainWindow(settings=settings)
    qtbot.addWidget(w2)
    w2.show()
    assert w2.docks["causal_mask"].isVisible()
    w2.close()


def test_the_status_bar_names_the_backend_in_a_few_words(window, wait_result):
    """Issue 12: the whole CuPy install hint filled the status bar (in presenter type too)."""
    from attnviz.backends import backend_status

    window.session.temperature = 0.7
    wait_result(window.controller)
    label = window.status_backend
    choice = backend_status()
    assert label.text().startswith(choice.label)
    assert "pip install" not in label.text() and choice.reason in label.toolTip()
    window.resize(1280, 720)
    window.set_presenter(True)
    try:
        assert label.fontMetrics().horizontalAdvance(label.text()) < 1280 // 2
    finally:
        window.set_presenter(False)
