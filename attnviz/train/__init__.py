"""A tiny transformer that trains in NumPy, its tasks and head scores (Qt-free).

>>> from attnviz.train import Trainer, TrainSettings
>>> t = Trainer(TrainSettings(task="induction"))
>>> t.run(200); t.best_induction()                                     # doctest: +SKIP
"""

from attnviz.train.model import AdamW, TinyConfig, TinyTransformer
from attnviz.train.tasks import TASKS, get_task, head_scores
from attnviz.train.trainer import Record, Trainer, TrainSettings

__all__ = [
    "TASKS",
    "AdamW",
    "Record",
    "TinyConfig",
    "TinyTransformer",
    "TrainSettings",
    "Trainer",
    "get_task",
    "head_scores",
]
