"""The Training panel's numbers: how to train (its parameters), and the run so far up to the
checkpoint shown: loss curves, in-context loss, and every head's previous-token and induction
scores on the probe.

Training itself runs on the panel's worker (:class:`attnviz.train.Trainer`); the session then
shows a checkpoint (``Session.show_training``, ``train_view``) in every panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented

from attnviz.state.request import Result
from attnviz.state.source import TrainingSource
from attnviz.state.views import Params, register_view
from attnviz.train import TASKS, TrainSettings

__all__ = ["INDUCTION", "SPEED_CLAIM", "TrainingData", "TrainingParams", "compute"]

INDUCTION = 0.5  # the score at which a head counts as an induction head
# Measured with benchmarks/training.py (docs/benchmarks.md), default settings, one core.
SPEED_CLAIM = (
    "With the default settings an induction head formed within 8–20 s on one core in six "
    "seeded runs (1,150–3,000 steps)."
)


@evented
@dataclass
class TrainingParams(Params):
    """The model's shape, the task and the optimiser's settings for the next run."""

    task: str = "induction"
    layers: int = 2
    heads: int = 2
    d_model: int = 32
    mlp: bool = False
    positions: str = "rope"
    lr: float = 1e-2
    batch: int = 32
    seed: int = 0

    def validate(self, name: str, value: Any) -> Any:
        if name in ("mlp",):
            return bool(value)
        if name in ("lr",) and isinstance(value, int | np.integer) and not isinstance(value, bool):
            value = float(value)
        if getattr(self, "_ready", False):
            fields = {f: getattr(self, f) for f in _FIELDS}
            fields[name] = value
            TrainSettings(**fields)  # ValueError says what is wrong
        return value

    def settings(self) -> TrainSettings:
        return TrainSettings(**{f: getattr(self, f) for f in _FIELDS})


_FIELDS = ("task", "layers", "heads", "d_model", "mlp", "positions", "lr", "batch", "seed")


@dataclass(frozen=True)
class TrainingData:
    params: TrainingParams
    running: bool  # a run is shown (else: nothing trained yet)
    task: str  # the run's task title (or the chosen task's)
    about: str  # the task's paragraph
    steps: np.ndarray  # recorded steps up to the shown checkpoint
    loss: np.ndarray
    repeat_loss: np.ndarray  # induction: loss inside the repeat (nan otherwise)
    rest_loss: np.ndarray  # … and elsewhere
    best_induction: np.ndarray  # per recorded step, the highest induction score of any head
    best_previous: np.ndarray
    induction: np.ndarray  # (layers, heads) at the shown checkpoint
    previous_token: np.ndarray
    step: int  # the shown checkpoint's step
    checkpoint: int  # its number (1-based)
    checkpoints: int
    seconds: float  # training time up to it
    formed_at: tuple[int, float] | None  # (step, seconds) when a head first reached INDUCTION


@register_view("training", params=TrainingParams)
def compute(result: Result, params: TrainingParams) -> TrainingData:
    source = result.request.source
    empty = np.zeros(0)
    if not isinstance(source, TrainingSource):
        task = TASKS[params.task]
        z = np.zeros((params.layers, params.heads))
        return TrainingData(params, False, task.title, task.about, empty, empty, empty, empty,
                            empty, empty, z, z, 0, 0, 0, 0.0, None)  # fmt: skip
    t, index = source.trainer, source.index
    records = t.records[:index]
    now = records[-1]

    def col(f: str) -> np.ndarray:
        return np.array([np.nan if getattr(r, f) is None else getattr(r, f) for r in records])

    best_ind = np.array([r.induction.max() for r in records])
    formed = next(((r.step, r.seconds) for r in t.records if r.induction.max() >= INDUCTION),
                  None)  # fmt: skip
    return TrainingData(
        params=params, running=True, task=t.task.title, about=t.task.about,
        steps=np.array([r.step for r in records]), loss=col("loss"),
        repeat_loss=col("second_half"), rest_loss=col("first_half"), best_induction=best_ind,
        best_previous=np.array([r.previous_token.max() for r in records]),
        induction=now.induction, previous_token=now.previous_token, step=now.step,
        checkpoint=index, checkpoints=len(t.checkpoints), seconds=now.seconds, formed_at=formed,
    )  # fmt: skip
