"""Training a tiny transformer on a task, step by step, with what the Training panel shows: the
loss, the in-context loss (first half against second half of an induction sequence), each
head's previous-token and induction scores on a fixed probe, and checkpoints to scrub through.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from attnviz.train.model import AdamW, Forward, TinyConfig, TinyTransformer
from attnviz.train.tasks import Task, get_task, head_scores, repeated_probe

__all__ = ["PROBES", "Checkpoint", "Record", "TrainSettings", "Trainer"]

PROBES = 8  # repeated sequences the head scores average over


@dataclass(frozen=True)
class TrainSettings:
    """How to train: the model's shape, the task, and the optimiser's settings (checked)."""

    task: str = "induction"
    layers: int = 2
    heads: int = 2
    d_model: int = 32
    mlp: bool = False
    positions: str = "rope"
    lr: float = 1e-2
    batch: int = 32
    weight_decay: float = 0.01
    warmup: int = 50  # steps of linear warm-up
    seed: int = 0
    every: int = 25  # steps between recorded scores and checkpoints

    def __post_init__(self) -> None:
        get_task(self.task)  # ValueError names the tasks
        for name, lo, hi in (("batch", 1, 1024), ("warmup", 0, 100_000), ("every", 1, 100_000)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"{name} must be a whole number in [{lo}, {hi}], got {v!r}")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 1):
            raise ValueError(f"the learning rate must lie in (0, 1], got {self.lr!r}")
        if not (math.isfinite(self.weight_decay) and 0 <= self.weight_decay < 1):
            raise ValueError(f"weight decay must lie in [0, 1), got {self.weight_decay!r}")
        self.config()  # the shape is checked by TinyConfig

    def config(self) -> TinyConfig:
        task = get_task(self.task)
        return TinyConfig(vocab=len(task.vocab), layers=self.layers, heads=self.heads,
                          d_model=self.d_model, mlp=self.mlp, positions=self.positions,
                          max_len=task.seq_len, seed=self.seed)  # fmt: skip


@dataclass(frozen=True)
class Record:
    """Scores at one recorded step."""

    step: int
    loss: float  # the batch's training loss
    first_half: float | None  # induction: loss where the next letter is not yet seen …
    second_half: float | None  # … and inside the repeat (predictable by looking back)
    previous_token: np.ndarray  # (layers, heads), the mean over the probes
    induction: np.ndarray  # (layers, heads), the mean over the probes
    seconds: float  # training time so far


@dataclass(frozen=True)
class Checkpoint:
    step: int
    params: dict[str, np.ndarray] = field(repr=False)


class Trainer:
    """One training run: seeded, so the same settings give the same numbers."""

    def __init__(self, settings: TrainSettings | None = None) -> None:
        self.settings = s = settings or TrainSettings()
        self.task: Task = get_task(s.task)
        self.model = TinyTransformer(s.config())
        self.opt = AdamW(self.model.params, lr=s.lr, weight_decay=s.weight_decay)
        self.rng = np.random.default_rng(s.seed + 1)
        self.probe = repeated_probe(self.task)  # the one the panels show
        # the scores average over PROBES repeated sequences (the shown one first): one alone
        # moved by ±0.15 from checkpoint to checkpoint
        self.probes = np.stack([repeated_probe(self.task, seed=12345 + i) for i in range(PROBES)])
        self.step_count = 0
        self.losses: list[float] = []  # every step's
        self.records: list[Record] = []
        self.checkpoints: list[Checkpoint] = []
        self.seconds = 0.0
        self.forward_at = lru_cache(maxsize=4)(self._forward_at)
        self._record(float("nan"), None, None)

    def model_at(self, index: int) -> TinyTransformer:
        """The model as it was at checkpoint ``index`` (1-based; its parameters are copies)."""
        model = copy.copy(self.model)
        model.params = self.checkpoints[index - 1].params
        return model

    def _forward_at(self, index: int) -> Forward:
        """The forward pass of checkpoint ``index`` (1-based) on the probe: what the other
        panels show while training."""
        return self.model_at(index).forward(self.probe)

    def probe_attentions(self, params: dict[str, np.ndarray] | None = None) -> list[np.ndarray]:
        """Every layer's attention (heads, L, L) on the probe, now or at a checkpoint."""
        model = self.model
        if params is not None:
            model = copy.copy(self.model)
            model.params = params
        return [w[0] for w in model.forward(self.probe).attentions]

    def _record(self, loss: float, first: float | None, second: float | None) -> None:
        att = self.model.forward(self.probes).attentions  # per layer (PROBES, H, L, L)
        scores = [head_scores([w[i] for w in att], self.task.length) for i in range(PROBES)]
        prev = np.mean([s[0] for s in scores], axis=0)
        ind = np.mean([s[1] for s in scores], axis=0)
        self.records.append(Record(self.step_count, loss, first, second, prev, ind,
                                   self.seconds))  # fmt: skip
        params = {k: v.copy() for k, v in self.model.params.items()}
        self.checkpoints.append(Checkpoint(self.step_count, params))

    def step(self) -> float:
        """One optimiser step on a fresh batch; returns its loss."""
        s = self.settings
        t0 = time.perf_counter()
        batch = self.task.batch(self.rng, s.batch)
        with np.errstate(all="ignore"):  # a diverging run is reported below, not warned
            fwd = self.model.forward(batch.ids)
            loss, dlogits = self.model.loss(fwd.logits, batch.targets, batch.weights)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"the loss became {loss} at step {self.step_count + 1}: lower the learning rate"
            )
        grads = self.model.backward(fwd, dlogits)
        warm = min(1.0, (self.step_count + 1) / s.warmup) if s.warmup else 1.0
        self.opt.step(self.model.params, grads, lr=s.lr * warm)
        self.step_count += 1
        self.seconds += time.perf_counter() - t0
        self.losses.append(loss)
        if self.step_count % s.every == 0:
            first = second = None
            if batch.repeat is not None:  # in-context: the repeat against the rest
                rest = batch.weights * ~batch.repeat
                first = self.model.loss(fwd.logits, batch.targets, rest)[0]
                second = self.model.loss(fwd.logits, batch.targets, batch.weights * batch.repeat)[0]
            self._record(loss, first, second)
        return loss

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()

    def best_induction(self) -> float:
        """The highest induction score of any head now."""
        return float(self.records[-1].induction.max())
