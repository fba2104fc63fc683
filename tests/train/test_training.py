"""Training on the tasks: reproducible from the seed, an induction head forms on the induction
task (and not on copying with one layer), and the saved folder opens as a real model."""

from __future__ import annotations

import json

import numpy as np
import pytest

import attnviz.models as M
from attnviz.models.generation import Generation
from attnviz.train import TASKS, Trainer, TrainSettings
from attnviz.train.export import save_folder
from attnviz.train.tasks import head_scores

INDUCTION = 0.5  # the score the issue asks for on the probe
STEPS = 2500  # default settings reach it in about 1,100-1,500 steps (seeds 0-2)


def train_until(settings: TrainSettings, steps: int = STEPS) -> Trainer:
    t = Trainer(settings)
    while t.step_count < steps and t.best_induction() < INDUCTION:
        t.run(settings.every)
    return t


def test_the_same_seed_gives_the_same_run():
    a, b = Trainer(TrainSettings(seed=4)), Trainer(TrainSettings(seed=4))
    a.run(30)
    b.run(30)
    assert a.losses == b.losses
    np.testing.assert_array_equal(a.records[-1].induction, b.records[-1].induction)
    c = Trainer(TrainSettings(seed=5))
    c.run(30)
    assert c.losses != a.losses


def test_an_induction_head_forms_on_the_induction_task():
    t = train_until(TrainSettings())
    assert t.best_induction() >= INDUCTION, t.best_induction()
    r = t.records[-1]
    layer, _ = np.unravel_index(np.argmax(r.induction), r.induction.shape)
    assert layer == 1  # in the second layer, reading what the first layer moved
    assert r.second_half < r.first_half - 0.5  # the repeat is predicted, the rest cannot be


def test_copying_with_one_layer_forms_no_induction_head():
    """The same budget on a task and depth that need no induction head: the score stays low,
    so the test above can fail."""
    t = train_until(TrainSettings(task="copy", layers=1))
    assert t.step_count == STEPS and t.best_induction() < INDUCTION


def test_every_task_trains_and_explains_itself():
    for name, task in TASKS.items():
        assert len(task.about) > 150 and task.title
        t = Trainer(TrainSettings(task=name, every=10))
        t.run(20)
        assert np.isfinite(t.losses).all() and len(t.records) == 3
        batch = task.batch(np.random.default_rng(0), 4)
        assert batch.ids.shape == (4, task.seq_len) and batch.weights.sum() > 0
        if name == "sort":  # the answer is the letters in order
            n = task.length
            assert (np.diff(batch.ids[:, n + 2 :], axis=1) >= 0).all()


@pytest.mark.parametrize("positions", ["learned", "rope"])
@pytest.mark.parametrize("mlp", [False, True])
def test_the_saved_folder_loads_back_with_the_same_attentions(tmp_path, positions, mlp):
    t = Trainer(TrainSettings(positions=positions, mlp=mlp, every=10))
    t.run(40)
    folder = save_folder(t.model, t.task, tmp_path / "tiny")
    assert json.loads((folder / "config.json").read_text())["attnviz_task"] == "induction"
    model = M.load(folder)
    text = t.task.text(t.probe[1:])
    trace = model.forward(text)
    np.testing.assert_array_equal(trace.ids, t.probe)
    ours = np.stack([w[0] for w in t.model.forward(t.probe).attentions])
    np.testing.assert_allclose(trace.attentions, ours, atol=1e-6)
    prev, ind = head_scores(list(trace.attentions), t.task.length)
    want_prev, want_ind = head_scores(t.probe_attentions(), t.task.length)
    np.testing.assert_allclose(ind, want_ind, atol=1e-5)
    np.testing.assert_allclose(prev, want_prev, atol=1e-5)
    # and it generates: its next-token logits are the trained model's
    gen = Generation(model, t.task.text(t.probe[1:9]), stop_at_eos=False)
    gen.run(2)
    want = t.model.forward(np.asarray(gen.ids[:9])).logits[0, -1]
    np.testing.assert_allclose(gen.steps[0].logits, want, atol=1e-5)


@pytest.mark.parametrize(
    "kw, match",
    [(dict(task="translate"), "unknown task"), (dict(lr=0), "learning rate"),
     (dict(batch=0), "batch"), (dict(heads=3), "does not split"),
     (dict(weight_decay=1.5), "weight decay")],
)  # fmt: skip
def test_settings_are_checked(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainSettings(**kw)


def test_a_diverging_run_says_what_to_do():
    t = Trainer(TrainSettings())
    t.model.params["unembed"][0, 0] = np.inf  # what an exploding run ends in
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        t.step()
    assert t.step_count == 0
