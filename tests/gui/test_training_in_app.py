"""Training in the app: Train and Pause on a worker, the panels follow the checkpoint, the scrub
slider replays, the trained model is saved and opens as a real model."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

import attnviz.models as M

LEFT = QtCore.Qt.MouseButton.LeftButton


def train_some(qtbot, w, steps=100):
    panel = w.panel("training")
    panel.ensure_drawn()
    qtbot.mouseClick(panel.train_button, LEFT)
    assert panel.train_button.text().startswith("Pause")
    qtbot.waitUntil(lambda: panel.trainer is not None and panel.trainer.step_count >= steps,
                    timeout=60_000)  # fmt: skip
    qtbot.mouseClick(panel.train_button, LEFT)  # pause after this round
    qtbot.waitUntil(lambda: not panel._running, timeout=20_000)
    w.controller.wait()
    return panel


def test_train_pause_scrub_and_save(qtbot, window, tmp_path):
    w = window
    panel = train_some(qtbot, w)
    s = w.session
    run = s.training
    assert run is panel.trainer and s.train_view == len(run.checkpoints) > 1
    assert s.tokens[0] == "<s>" and len(s.tokens) == run.task.seq_len
    assert not panel.task_box.isEnabled()  # a run keeps its shape until Reset
    qtbot.waitUntil(lambda: w.controller.latest.request.source.key[0] == "training",
                    timeout=20_000)  # fmt: skip
    w.controller.wait()
    res = w.controller.latest
    shown = res.request.source.index  # the checkpoint this result is of
    want = run.forward_at(shown).attentions[s.layer][0]
    np.testing.assert_allclose(res.weights, want, atol=1e-6)
    panel.result = res
    panel.redraw(res)
    data = panel._data()
    assert data.running and len(data.steps) == shown
    assert "Step" in panel.status.text() and "on one core" in panel.status.text()
    assert panel.ind_map.matrix.shape == (2, 2)
    # scrub back: every panel shows the model as it was
    panel.slider.setValue(1)
    assert s.train_view == 1 and panel.step_label.text() == "step 0"
    # save the shown checkpoint; it opens with the same attentions
    s.train_view = len(run.checkpoints)
    out = panel.save(tmp_path)
    model = M.load(out)
    trace = model.forward(run.task.text(run.probe[1:]))
    np.testing.assert_allclose(
        trace.attentions[:, :, :, :],
        np.stack([a[0] for a in run.forward_at(s.train_view).attentions]),
        atol=1e-6,
    )
    assert data.params.task == "induction"
    # Reset forgets the run and frees the settings
    qtbot.mouseClick(panel.reset_button, LEFT)
    assert s.training is None and s.train_view == 0 and panel.task_box.isEnabled()


def test_an_unwritable_folder_is_refused_with_the_reason(qtbot, window, tmp_path):
    panel = train_some(qtbot, window, steps=25)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert panel.save(blocker) is None
    assert "Could not save" in panel.message.text()


def test_typing_ends_the_training_view(qtbot, window):
    train_some(qtbot, window, steps=25)
    window.session.text = "the cat sat"
    assert window.session.train_view == 0 and window.session.training is None
