"""Work on a pool thread, the answer on the main thread: superqt's worker, made safe to outlive.

Both the controller's computation and the flash panel's measurement start their work here.
The work never raises into the worker: it returns an :class:`Outcome` (its value, or the
exception it raised), delivered to ``on_done``, which must be a slot of a QObject that lives on
the main thread. When that object is deleted first (a panel closed mid-measurement, a window
disposed in a test), Qt drops the answer instead of calling into deleted widgets.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6 import QtCore
from superqt.utils import FunctionWorker, create_worker

__all__ = ["Outcome", "start_worker", "wait_for_workers"]


@dataclass(frozen=True)
class Outcome:
    """What one piece of work gave: its value, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None
    tag: Any = None  # the caller's label for this piece of work (a generation number)

    @property
    def detail(self) -> str:
        """The exception in one line ("MemoryError: …"), or ""."""
        if self.error is None:
            return ""
        return "".join(traceback.format_exception_only(type(self.error), self.error)).strip()


def _attempt(fn: Callable[..., Any], tag: Any, args: tuple, kwargs: dict) -> Outcome:
    try:
        return Outcome(fn(*args, **kwargs), None, tag)
    except Exception as exc:  # handed to the main thread, never raised in the pool
        return Outcome(None, exc, tag)


def start_worker(
    fn: Callable[..., Any], *args: Any, on_done: Callable[[Outcome], None], tag: Any = None,
    **kwargs: Any,
) -> FunctionWorker:  # fmt: skip
    """Run ``fn(*args, **kwargs)`` on a thread of Qt's global pool; ``on_done(outcome)`` runs
    on the main thread (a slot of a QObject: see the module's note)."""
    worker = create_worker(_attempt, fn, tag, args, kwargs, _start_thread=False)
    worker.returned.connect(on_done)
    worker.start()
    return worker  # type: ignore[return-value]


def wait_for_workers(msecs: int = 10_000) -> bool:
    """Block until every worker has ended (tests, shutdown); False on time-out."""
    return QtCore.QThreadPool.globalInstance().waitForDone(msecs)
