"""Positional encoding, KV cache and flash attention: their maths (views, Qt-free) and the panels
as a lecturer drives them (pytest-qt, offscreen)."""

import math
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6 import QtCore, QtGui

from attnviz.core.kv_cache import kv_cache_bytes
from attnviz.gui.panels import all_panels
from attnviz.gui.theme import theme_manager
from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session
from attnviz.state.views.kv_cache import PRESETS, KVCacheParams
from attnviz.state.views.positional_encoding import (
    PositionalParams,
    content_vectors,
    permutation_check,
    rope_scores,
)
from tests.reference import reference_attention

KiB, MiB, GiB = 2**10, 2**20, 2**30
PANELS = all_panels()


# == views, Qt-free ============================================================================
def view(panel_id, **changes):
    s = Session()
    for k, v in changes.items():
        setattr(s.view_params[panel_id], k, v)
    return run(resolve(s)).views[panel_id]


# -- KV cache ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seq_len", "mha", "gqa", "mqa"),
    [(4096, 2 * GiB, 512 * MiB, 64 * MiB), (128 * 1024, 64 * GiB, 16 * GiB, 2 * GiB)],
)
def test_kv_defaults_give_the_seeds_figures(seq_len, mha, gqa, mqa):
    d = view("kv_cache", seq_len=seq_len)
    assert d.preset == "Seed explainer (d_model 4096, d_k 128)"
    assert {lay.name: lay.bytes for lay in d.layouts} == {"MHA": mha, "GQA": gqa, "MQA": mqa}
    # The direct formula: 2 (K, V) × layers × KV heads × head dim × tokens × 2 bytes.
    for lay in d.layouts:
        assert lay.bytes == 2 * 32 * lay.kv_heads * 128 * seq_len * 2
    assert [lay.chosen for lay in d.layouts] == [False, True, False]


def test_kv_sharing_map_groups_consecutive_query_heads():
    d = view("kv_cache")
    gqa = d.layout["GQA"].kv_of_query
    assert gqa.tolist() == [h // 4 for h in range(32)]
    assert set(d.layout["MQA"].kv_of_query.tolist()) == {0}
    assert d.layout["MHA"].kv_of_query.tolist() == list(range(32))


def test_kv_params_refuse_bad_input_and_keep_state():
    p = KVCacheParams()
    for field, value, msg in [
        ("layers", 0, r"layers must lie in \[1"),
        ("layers", -3, r"layers must lie in \[1"),
        ("kv_heads", 5, "must divide 32"),
        ("q_heads", 36, "multiple of 8"),
        ("seq_len", 128 * 1024 + 1, "131,072"),
        ("batch", 1.5, "whole number"),
        ("dtype", "fp64", "dtype must be one of"),
    ]:
        with pytest.raises(ValueError, match=msg):
            setattr(p, field, value)
    assert (p.layers, p.q_heads, p.kv_heads, p.seq_len, p.batch, p.dtype) == (
        32, 32, 8, 4096, 1, "fp16")  # fmt: skip


def test_presets_apply_atomically():
    p = KVCacheParams()
    p.apply_preset("Falcon-7B")  # 71 query heads: 8 KV heads would not divide them
    assert (p.layers, p.q_heads, p.kv_heads, p.head_dim) == PRESETS["Falcon-7B"]
    with pytest.raises(ValueError, match="must divide 71"):
        p.apply(kv_heads=2, head_dim=64)
    assert p.kv_heads == 1  # nothing of the refused change was applied
    p.apply_preset("Llama-2-70B")
    b = kv_cache_bytes(80, 8, 128, 4096, 2)
    assert b == 2 * 80 * 8 * 128 * 4096 * 2 == 1.25 * GiB


# -- positional encoding ----------------------------------------------------------------------
def rope_by_hand(vec, pos, base):
    e = len(vec)
    out = np.array(vec, dtype=np.float64)
    for i in range(e // 2):
        c, s = math.cos(pos * base ** (-2 * i / e)), math.sin(pos * base ** (-2 * i / e))
        out[i], out[i + e // 2] = c * vec[i] - s * vec[i + e // 2], s * vec[i] + c * vec[i + e // 2]
    return out


@given(
    d=st.sampled_from([4, 8, 16]),
    start=st.integers(0, 500),
    base=st.sampled_from([100.0, 10000.0, 500000.0]),
    seed=st.integers(0, 1000),
)
def test_rope_score_depends_only_on_the_offset(d, start, base, seed):
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((2, d))
    offsets = np.arange(-6, 7)
    a = rope_scores(q, k, offsets, base)
    b = rope_scores(q, k, offsets, base, start=start)
    np.testing.assert_allclose(a, b, atol=1e-9)
    for off, score in zip(offsets, a, strict=True):
        m, n = max(off, 0), max(-off, 0)
        direct = rope_by_hand(q, m, base) @ rope_by_hand(k, n, base) / math.sqrt(d)
        assert score == pytest.approx(direct, abs=1e-9)


@given(n=st.integers(1, 12), d=st.sampled_from([4, 6, 8]), seed=st.integers(0, 10_000))
def test_without_positions_attention_is_permutation_equivariant(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    wq, wk = rng.standard_normal((2, d, d)) / math.sqrt(d)
    perm = rng.permutation(n)
    w, ws, diff = permutation_check(x, wq, wk, perm, None)
    assert diff <= 1e-12
    # Against the independent reference: the shuffled input's weights are P W Pᵀ.
    xs = x[perm]
    _, ref = reference_attention((xs @ wq)[None], (xs @ wk)[None], xs[None])  # one head
    np.testing.assert_allclose(ws, ref[0], atol=1e-12)
    P = np.eye(n)[perm]  # row i of P picks token perm[i]
    np.testing.assert_allclose(ws, P @ w @ P.T, atol=1e-12)


def test_positions_added_by_slot_break_the_equivariance():
    d = view("positional_encoding")
    assert d.perm_max_diff <= 1e-12
    assert d.perm_max_diff_pos > 1e-2
    assert d.shift_max_diff <= 1e-9
    assert sorted(d.permutation.tolist()) == list(range(len(d.tokens)))


def test_positional_view_numbers_by_formula():
    d = view("positional_encoding", n_positions=20, d_model=8, base=100.0, pair=2)
    for p in (0, 7, 19):
        for i in range(4):
            assert d.sinusoidal[p, 2 * i] == pytest.approx(math.sin(p / 100 ** (2 * i / 8)))
            assert d.sinusoidal[p, 2 * i + 1] == pytest.approx(math.cos(p / 100 ** (2 * i / 8)))
    assert 2 in d.pairs and 3 <= len(d.pairs) <= 4
    # Each drawn pair turns by theta_i per position and keeps its length.
    for idx, i in enumerate(d.pairs):
        ang = np.unwrap(np.arctan2(d.rotated[idx, :, 1], d.rotated[idx, :, 0]))
        np.testing.assert_allclose(np.diff(ang), d.frequencies[i], atol=1e-9)
        radius = np.hypot(d.rotated[idx, :, 0], d.rotated[idx, :, 1])
        np.testing.assert_allclose(radius, radius[0])
    assert np.ptp(d.score_plain) == 0  # no positions: the same at every distance
    assert d.score_rope[len(d.offsets) // 2] == pytest.approx(d.score_plain[0])


def test_pair_terms_add_up_to_the_rope_score():
    total = sum(view("positional_encoding", d_model=8, pair=i).score_pair for i in range(4))
    np.testing.assert_allclose(total, view("positional_encoding", d_model=8).score_rope)


def test_positional_params_refuse_bad_values():
    p = PositionalParams()
    for field, value, msg in [
        ("d_model", 7, "even"),
        ("pair", 32, r"pair must lie in \[0, 31\]"),
        ("base", 1.0, "above 1"),
        ("n_positions", 1, r"positions must lie in \[2"),
    ]:
        with pytest.raises(ValueError, match=msg):
            setattr(p, field, value)
    p.pair = 30
    p.d_model = 16  # fewer pairs: follow the last one rather than refuse
    assert p.pair == 7


def test_same_word_same_content_vector():
    x = content_vectors(("The", "cat", "the"), 8, 0)
    np.testing.assert_array_equal(x[0], x[2])
    assert not np.allclose(x[0], x[1])


# == panels ====================================================================================
PANEL_SIZE = (1400, 600)  # make_panel (tests/gui/conftest.py) opens panels at this size


def wait(qtbot, panel, fn):
    """Apply a change through the panel and wait for the recomputed result."""
    with qtbot.waitSignal(panel.controller.result_ready, timeout=5000):
        fn()
    panel.controller.wait()
    return panel.result.views[panel.panel_id]


def click(qtbot, button):
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def close(a: QtGui.QColor, b: QtGui.QColor, tol: int = 12) -> bool:
    return max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue())) < tol


def pixel_at(widget, plot, x, y):
    """The colour a pyqtgraph widget shows at data point (x, y) of ``plot``."""
    img = widget.viewport().grab().toImage()
    p = widget.mapFromScene(plot.vb.mapViewToScene(QtCore.QPointF(x, y)))
    return img.pixelColor(p.x(), p.y())


@pytest.mark.parametrize("panel_id", ["positional_encoding", "kv_cache", "flash_attention"])
def test_registration(panel_id):
    cls = PANELS[panel_id]
    assert cls.panel_id == panel_id
    assert (cls.order, cls.default_area.name) == {
        "positional_encoding": (90, "RightDockWidgetArea"),
        "kv_cache": (100, "BottomDockWidgetArea"),
        "flash_attention": (110, "BottomDockWidgetArea"),
    }[panel_id]


# -- KV cache panel ---------------------------------------------------------------------------
def test_kv_changing_a_field_updates_the_numbers(qtbot, make_panel):
    panel = make_panel("kv_cache")
    shown = panel.results.text().replace("&nbsp;", " ")  # sizes are kept on one line
    assert "2.0 GiB" in shown and "512.0 MiB" in shown
    d = wait(qtbot, panel, lambda: panel.spins["layers"].setValue(16))
    assert panel.params.layers == 16
    assert d.layout["MHA"].bytes == 1 * GiB
    shown = panel.results.text().replace("&nbsp;", " ")
    assert "1.0 GiB" in shown and "1,073,741,824" in shown
    assert panel.preset_box.currentText() == "Custom"
    d = wait(qtbot, panel, lambda: panel.seq_slider.setValue(panel.seq_slider.maximum()))
    assert panel.params.seq_len == 128 * 1024 and panel.seq_spin.value() == 128 * 1024
    assert d.layout["MHA"].bytes == 32 * GiB  # 16 layers: half the seed's 64 GiB


def test_kv_preset_selection(qtbot, make_panel):
    panel = make_panel("kv_cache")
    index = panel.preset_box.findText("Falcon-7B")
    d = wait(qtbot, panel, lambda: panel.preset_box.activated.emit(index))
    assert (panel.params.q_heads, panel.params.kv_heads, panel.params.head_dim) == (71, 1, 64)
    assert panel.spins["q_heads"].value() == 71 and panel.spins["kv_heads"].value() == 1
    assert d.preset == "Falcon-7B" and panel.preset_box.currentText() == "Falcon-7B"
    assert d.layout["MQA"].chosen and d.layout["MQA"].bytes == 2 * 32 * 64 * 4096 * 2
    assert len(panel.sharing.lines["GQA"].xData) == 2 * 71  # one segment per query head


def test_kv_bad_input_is_refused_with_a_message_and_state_intact(qtbot, make_panel):
    panel = make_panel("kv_cache")
    before = panel.result
    panel.spins["kv_heads"].setValue(5)
    assert "must divide 32" in panel.message.text() and panel.message.isVisibleTo(panel)
    assert panel.params.kv_heads == 8 and panel.spins["kv_heads"].value() == 8
    panel.spins["layers"].setValue(0)
    assert "layers must lie in [1" in panel.message.text()
    assert panel.params.layers == 32 and panel.spins["layers"].value() == 32
    assert panel.result is before  # nothing was recomputed


def test_kv_next_grows_the_cache_and_cached_equals_recomputed(qtbot, make_panel):
    panel = make_panel("kv_cache")
    assert panel.cache_stack.currentWidget() is panel.cache_empty
    assert not panel.reset_button.isEnabled()
    for step in (1, 2, 3):
        d = wait(qtbot, panel, lambda: click(qtbot, panel.next_button))
        assert d.trace.steps == step and d.trace.keys.shape[2] == step
        assert panel.cache_map.matrix.shape == (step, 16)
        assert panel.cache_stack.currentWidget() is panel.cache_map
        assert d.trace.max_abs_diff <= 1e-6
        assert f"Step {step} of 10" in panel.decode_text.text()
    assert panel.cache_map.row_labels == ("0: The", "1: cat", "2: sat")
    # The heatmap shows layer 1's cached keys, head by head, as the decoder wrote them.
    np.testing.assert_array_equal(panel.cache_map.matrix[:, :4], d.trace.keys[0, 0])
    assert "max |difference|" in panel.decode_text.text()
    wait(qtbot, panel, lambda: panel.params.__setattr__("decode_tokens", 10))
    assert not panel.next_button.isEnabled() and "press Reset" in panel.decode_text.text()
    d = wait(qtbot, panel, lambda: click(qtbot, panel.reset_button))
    assert d.trace.steps == 0 and panel.cache_stack.currentWidget() is panel.cache_empty


def test_kv_sharing_diagram_pixels(qtbot, make_panel):
    panel = make_panel("kv_cache")
    w = panel.sharing
    qtbot.waitUntil(lambda: w.plots["GQA"].sceneBoundingRect().width() > 50)
    lay = panel.result.views["kv_cache"].layout
    accent, highlight = (QtGui.QColor(c) for c in (theme_manager().theme.accent,
                                                    theme_manager().theme.highlight))  # fmt: skip
    x_gqa = float(np.arange(32)[lay["GQA"].kv_of_query == 0].mean())
    assert close(pixel_at(w, w.plots["GQA"], x_gqa, 0.0), accent)  # the chosen layout's KV head
    assert close(pixel_at(w, w.plots["MHA"], 0.0, 0.0), highlight)
    assert close(pixel_at(w, w.plots["MQA"], 15.5, 0.0), highlight)  # MQA's one KV head
    bg = QtGui.QColor(theme_manager().theme.plot_background)
    assert close(pixel_at(w, w.plots["MQA"], 2.0, 0.0), bg)  # no KV head under query 2


# -- positional encoding panel ----------------------------------------------------------------
def test_positional_inputs_update_and_refuse(qtbot, make_panel):
    panel = make_panel("positional_encoding", (1000, 800))
    d = wait(qtbot, panel, lambda: panel.inputs["d_model"].setValue(16))
    assert d.sinusoidal.shape == (64, 16) and panel.sinusoid.matrix.shape == (64, 16)
    d = wait(qtbot, panel, lambda: panel.inputs["pair"].setValue(5))
    assert 5 in d.pairs and len(panel.rotation_items) == len(d.pairs)
    assert "pair 5" in panel.rotation_key.text()
    panel.inputs["pair"].setValue(9)
    assert "pair must lie in [0, 7]" in panel.message.text()
    assert panel.params.pair == 5 and panel.inputs["pair"].value() == 5
    panel.base_box.setValue(1.0)
    assert "base must be a number above 1" in panel.message.text()
    assert panel.params.base == 10000.0 and panel.base_box.value() == 10000.0


def test_positional_shuffle_page(qtbot, make_panel):
    panel = make_panel("positional_encoding", (1000, 800))
    d = panel.result.views["positional_encoding"]
    panel.pages.setCurrentIndex(2)
    shuffled = tuple(d.tokens[i] for i in d.permutation)
    assert panel.perm_shuffled.row_labels == shuffled
    np.testing.assert_array_equal(panel.perm_shuffled.matrix, d.weights_shuffled)
    assert f"{d.perm_max_diff:.1e}" in panel.summary.text()
    d2 = wait(qtbot, panel, lambda: panel.inputs["seed"].setValue(3))
    assert not np.array_equal(d2.permutation, d.permutation) or len(d.tokens) < 3


def test_sinusoid_heatmap_pixels(qtbot, make_panel):
    panel = make_panel("positional_encoding", (1000, 800))
    h = panel.sinusoid
    qtbot.waitUntil(lambda: h.plot.sceneBoundingRect().width() > 50)
    cmap = theme_manager().diverging()
    top = QtGui.QColor(*cmap.map(1.0, mode="byte")[:3])
    mid = QtGui.QColor(*cmap.map(0.5, mode="byte")[:3])
    assert close(pixel_at(h, h.plot, 1.5, 0.5), top)  # PE[0, 1] = cos 0 = 1
    assert close(pixel_at(h, h.plot, 0.5, 0.5), mid)  # PE[0, 0] = sin 0 = 0


# -- flash attention panel --------------------------------------------------------------------
def test_flash_memory_page_numbers(qtbot, make_panel):
    panel = make_panel("flash_attention")
    text = panel.readout.text()
    assert "32.0 MiB" in text and "16.0 KiB" in text and "34.0 MiB" in text
    assert "Assumptions" in panel.assumptions.text() and "4·N²·d" in panel.assumptions.text()
    d = wait(qtbot, panel, lambda: panel.spins["n"].setValue(16384))
    assert d.cost.n == 16384 and "N = 16,384" in panel.readout.text()
    _, ys = panel.curve_standard.getData()
    np.testing.assert_allclose(10**ys, d.curve_standard)  # drawn on log axes


def test_flash_measurement_runs_off_the_gui_thread(qtbot, make_panel, monkeypatch):
    import attnviz.gui.panels._flash_memory as F  # the page that starts the measurement

    threads = []
    real = F.measure_attention

    def spy(*args, **kwargs):
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(F, "measure_attention", spy)
    panel = make_panel("flash_attention")
    panel.spins["measure_n"].setValue(256)
    assert panel.params.measure_n == 256
    with qtbot.waitSignal(panel.measurement_done, timeout=60_000) as done:
        qtbot.mouseClick(panel.run_button, QtCore.Qt.MouseButton.LeftButton)
        assert panel.measuring and not panel.run_button.isEnabled()
    assert done.args == ["finished"]
    assert threads and threads[0] != threading.get_ident()
    m = panel.measurement
    assert m.n == 256 and m.max_abs_diff < 1e-5
    assert panel.progress.value() == 1000 and panel.run_button.isEnabled()
    assert "max |flash − standard|" in panel.measure_text.text()
    assert panel.export_data()["measured_n"].tolist() == [256]


def test_flash_measurement_can_be_cancelled(qtbot, make_panel, monkeypatch):
    import attnviz.gui.panels._flash_memory as F  # the page that starts the measurement

    gate = threading.Event()
    real = F.measure_attention

    def held(*args, **kwargs):
        gate.wait(10)  # holds the worker until the test has pressed Cancel
        return real(*args, **kwargs)

    monkeypatch.setattr(F, "measure_attention", held)
    panel = make_panel("flash_attention")
    with qtbot.waitSignal(panel.measurement_done, timeout=30_000) as done:
        panel.start_measurement()
        qtbot.mouseClick(panel.cancel_button, QtCore.Qt.MouseButton.LeftButton)
        gate.set()
    assert done.args == ["cancelled"]
    assert panel.measurement is None and "cancelled" in panel.measure_text.text()
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_flash_oversized_n_is_refused_with_the_bytes_needed(make_panel):
    panel = make_panel("flash_attention")
    panel.spins["measure_n"].setValue(100_000)
    assert "40,102,400,000 bytes" in panel.message.text()
    assert panel.params.measure_n == 1024 and panel.spins["measure_n"].value() == 1024
    assert not panel.measuring


def test_flash_step_advances_the_highlighted_tile(qtbot, make_panel):
    panel = make_panel("flash_attention")
    panel.pages.setCurrentIndex(1)
    d = panel.result.views["flash_attention"]
    assert panel.tile_box.rect() == QtCore.QRectF(0, 0, 4, 4)
    qtbot.mouseClick(panel.step_button, QtCore.Qt.MouseButton.LeftButton)
    assert panel.tile_step == 1
    assert panel.tile_box.rect() == QtCore.QRectF(4, 0, 4, 4)  # same Q tile, next K tile
    st = d.tiles[1]
    assert "Step 2 of 9" in panel.step_text.text()
    assert f"{st.m_after[0]:.3f}" in panel.state_table.text()
    assert f"{st.alpha[0]:.3f}" in panel.state_table.text()
    panel.set_tile_step(3)
    assert panel.tile_box.rect() == QtCore.QRectF(0, 4, 4, 4)  # the second Q tile starts
    assert not panel.done_tiles.path().isEmpty()
    panel.play_button.setChecked(True)
    qtbot.waitUntil(lambda: panel.tile_step != 3, timeout=5000)
    panel.play_button.setChecked(False)
    assert "max |flash − standard|" in panel.exact_text.text()


def test_flash_tile_outline_pixels(qtbot, make_panel):
    panel = make_panel("flash_attention")
    panel.pages.setCurrentIndex(1)
    g = panel.grid
    qtbot.waitUntil(lambda: g.plot.sceneBoundingRect().width() > 50)
    accent = QtGui.QColor(theme_manager().theme.accent)
    img = g.viewport().grab().toImage()

    def at(x, y):
        return g.mapFromScene(g.plot.vb.mapViewToScene(QtCore.QPointF(x, y)))

    # Tile (0, 0)'s 3-pixel outline crosses row 2 at key 4; the middle of key 6 is no outline.
    edge, inside = at(4, 2), at(6.5, 2)
    assert any(close(img.pixelColor(edge.x() + dx, edge.y()), accent, 40) for dx in (-1, 0, 1))
    assert not close(img.pixelColor(inside.x(), inside.y()), accent, 40)


def test_export_data_and_dark_theme(qtbot, make_panel):
    panels = [make_panel(pid) for pid in ("positional_encoding", "kv_cache", "flash_attention")]
    for p in panels:
        data = p.export_data()
        assert data and all(isinstance(v, np.ndarray | list) for v in data.values())
    theme_manager().apply(theme="dark")
    for p in panels:
        p.draw(p.result)
    diagram = panels[2].diagram
    img = diagram.grab().toImage()
    assert img.pixelColor(2, img.height() - 2) == QtGui.QColor(
        theme_manager().theme.plot_background
    )
    assert (
        panels[1].sharing.backgroundBrush().color().name() == theme_manager().theme.plot_background
    )
