"""Generating in the app: the worker, Stop, the timeline, the candidate bars and the real cache."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore


@pytest.fixture
def llama_window(window, wait_result, tiny_llama):
    window.session.text = "the quick brown fox"
    assert window.set_model(str(tiny_llama))
    wait_result(window.controller, timeout=20_000)
    return window


def generate(qtbot, w, n=6):
    panel = w.panel("next_token")
    panel.params.n_new = n
    panel.ensure_drawn()
    assert panel.generate_button.isEnabled()
    qtbot.mouseClick(panel.generate_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel._running, timeout=20_000)
    qtbot.waitUntil(lambda: w.controller.latest.request.source.key[0] == "generation",
                    timeout=20_000)  # fmt: skip
    w.controller.wait()
    panel.result = w.controller.latest
    panel.redraw(panel.result)
    return panel


def test_generate_then_step_back_through_the_timeline(qtbot, llama_window, tmp_path):
    w = llama_window
    prompt = len(w.session.tokens)
    panel = generate(qtbot, w)
    s = w.session
    n = len(s.generation.steps)  # 6, or fewer where the model ended the text
    assert n == 6 or "ended the text" in panel.status.text()
    assert s.gen_step == n and len(s.tokens) == prompt + n - 1
    assert panel.slider.maximum() == n and panel.slider.value() == n
    assert panel.step_label.text() == f"step {n} of {n}" and not panel.next_button.isEnabled()
    # Ten candidates, every one labelled, the chosen one marked.
    shown = [text for _, text in panel.axis.labels]
    assert len(shown) == 10 and sum(t.endswith("◀") for t in shown) <= 1
    assert f"Step {n} of {n}" in panel.summary.text()
    qtbot.mouseClick(panel.back_button, QtCore.Qt.MouseButton.LeftButton)
    assert s.gen_step == n - 1 and len(s.tokens) == prompt + n - 2
    assert s.selected_token == len(s.tokens) - 1  # the query: the last token read
    # The other panels follow: the head grid shows this step's sequence.
    qtbot.waitUntil(lambda: w.controller.latest.request.source.key[3] == n - 1, timeout=20_000)
    w.controller.wait()
    res = w.controller.latest
    gen = s.generation
    np.testing.assert_allclose(res.layer_weights, gen.trace_at(n - 1).attentions, atol=1e-6)
    # The KV-cache panel shows the model's own cache at this step.
    kv = w.panel("kv_cache")
    kv.result = res
    kv.redraw(res)
    assert kv.decode_stack.currentWidget() is kv.real_box
    assert "2 KV heads" in kv.real_text.text() and "bytes" in kv.real_text.text()
    # Both export their numbers (CSV/NPZ/JSON) and a figure of the step.
    from attnviz.export import FigureSpec
    from attnviz.gui.exporters import export_panel_data, export_panel_figure

    for p in (panel, kv):
        data = p.export_data()
        assert data, p.panel_id
        out = export_panel_data(p, tmp_path / f"{p.panel_id}.npz")
        with np.load(out, allow_pickle=False) as z:
            assert set(z.files) == set(data)
        png = export_panel_figure(type(p), w.controller, FigureSpec(), tmp_path / "f.png")
        assert png.stat().st_size > 1000
    assert "step" in kv.figure_caption() and "step" in panel.figure_caption()
    # Typing ends the generation: back to the text alone.
    s.text = "a red dog"
    assert s.gen_step == 0 and s.generation is None
    assert not panel.slider.isEnabled()


def test_stop_ends_generating_after_a_step(qtbot, llama_window):
    w = llama_window
    panel = w.panel("next_token")
    panel.params.n_new = 200
    panel.ensure_drawn()
    qtbot.mouseClick(panel.generate_button, QtCore.Qt.MouseButton.LeftButton)
    assert panel.stop_button.isEnabled() and not panel.generate_button.isEnabled()
    qtbot.mouseClick(panel.stop_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel._running, timeout=20_000)
    assert "stopped" in panel.status.text() or "ended" in panel.status.text()
    gen = w.session.generation
    assert gen is None or len(gen.steps) < 200


def test_sampling_shows_both_bars_and_the_two_temperatures(qtbot, llama_window):
    w = llama_window
    panel = w.panel("next_token")
    panel.params.sample = True
    panel.params.temperature = 1.7
    panel.params.top_k = 4
    assert panel.t_spin.isEnabled()
    panel = generate(qtbot, w, n=3)
    data = panel._data()
    assert data.sampled and (data.candidates.kept > 0).sum() <= 4
    assert len(panel.values) == 10 and "→" in panel.values[0].toPlainText()
    assert "different dials" in panel.note.text()


def test_the_toy_model_says_why_it_cannot_generate(qtbot, window, wait_result):
    panel = window.panel("next_token")
    window.controller.compute_now()
    panel.result = window.controller.latest
    panel.redraw(panel.result)
    assert not panel.generate_button.isEnabled()
    assert "no vocabulary" in panel.summary.text()


def test_export_all_data_leaves_out_a_panel_with_nothing_yet(tmp_path, capsys):
    from attnviz.cli import main

    out = tmp_path / "out"
    assert main(["export", "--all", str(out), "--data", "json"]) == 0
    assert "next_token: no numbers to export, left out" in capsys.readouterr().err
    assert not (out / "next_token.json").exists() and (out / "kv_cache.json").exists()
    one = tmp_path / "n.json"
    assert main(["export", "--panel", "next_token", "--data", "json", "--out", str(one)]) == 1
    assert "shows no numbers" in capsys.readouterr().err


def test_generated_tokens_are_underlined_in_the_token_strip(qtbot, llama_window):
    w = llama_window
    generate(qtbot, w, n=4)
    res = w.controller.latest
    start = res.request.generated_from
    assert start is not None and 0 < start < len(res.request.tokens)
    ta = w.panel("token_attention")
    ta.result = res
    ta.redraw(res)
    from PySide6 import QtCore as C

    model = ta.strip_model
    font = model.data(model.index(start), C.Qt.ItemDataRole.FontRole)
    assert font is not None and font.underline()
    assert model.data(model.index(start - 1), C.Qt.ItemDataRole.FontRole) is None
    assert "the model's own" in ta.summary.text()
