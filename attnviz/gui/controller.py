"""When to compute: throttle bursts of changes (leading edge), compute off the GUI thread, drop
stale results.

Data flows one way: a widget writes the session; the session's events reach the controller;
the controller resolves the session to a frozen request on the main thread (cheap), computes it
on a worker thread, and delivers the result on the main thread, where panels draw it. Every
launch takes a new generation number; a result whose number is no longer the newest is dropped,
so a slow computation can never overwrite a newer one.

What is computed before delivery is what the visible panels need (``Controller.needs``, set by
the main window); the result computes anything else when first asked for, and a panel shown
later asks the controller for its own (``refresh``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6 import QtCore

from attnviz.gui.worker import Outcome, start_worker, wait_for_workers
from attnviz.state.pipeline import resolve, run
from attnviz.state.request import Request, Result
from attnviz.state.session import Session

__all__ = ["Controller"]


class Controller(QtCore.QObject):
    """Owns the session's compute loop. Panels connect to ``result_ready``."""

    result_ready = QtCore.Signal(object)  # Result
    failed = QtCore.Signal(str)
    busy_changed = QtCore.Signal(bool)

    def __init__(
        self,
        session: Session | None = None,
        compute: Callable[..., Result] = run,
        throttle_ms: int = 30,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session if session is not None else Session()
        # What to compute before delivery: the names the visible panels need (see
        # Result.warm). None: everything (a controller without a window: export, tests).
        self.needs: Callable[[], Iterable[str] | None] | None = None
        self.latest: Result | None = None
        self.dropped = 0  # stale results thrown away (for tests and the status bar)
        self._compute = compute
        self._generation = 0
        self._running = 0
        # Leading-edge throttle: the first change of a burst computes at once (the changes
        # made in the same turn of the event loop go together: a lesson step sets several);
        # changes during the next ``throttle_ms`` wait and are computed once, at its end.
        self._kick = QtCore.QTimer(self, singleShot=True, interval=0)
        self._kick.timeout.connect(self._launch_and_cool_down)
        self._cooldown = QtCore.QTimer(self, singleShot=True, interval=throttle_ms)
        self._cooldown.timeout.connect(self._end_cooldown)
        self._pending = False
        self.session.events.connect(self._on_session_changed)
        for params in self.session.view_params.values():
            params.events.connect(self._on_session_changed)
        app = QtCore.QCoreApplication.instance()
        if app is not None:  # never let the interpreter shut down under a running worker
            app.aboutToQuit.connect(self.wait)

    # -- triggering ------------------------------------------------------------------------
    def _on_session_changed(self, *_args: object) -> None:
        if self._cooldown.isActive():
            self._pending = True  # computed once when the cool-down ends
        elif not self._kick.isActive():
            self._kick.start()

    def _launch_and_cool_down(self) -> None:
        self._launch()
        self._cooldown.start()

    def _end_cooldown(self) -> None:
        if self._pending:
            self._pending = False
            self._launch_and_cool_down()

    @property
    def idle(self) -> bool:
        """Nothing computing and nothing waiting to (a change in the throttle's cool-down)."""
        timers = self._kick.isActive() or self._cooldown.isActive()
        return not (self._running or self._pending or timers)

    def refresh(self) -> None:
        """Recompute now-ish (throttled like any change)."""
        self._on_session_changed()

    def compute_now(self) -> Result:
        """Compute on the calling thread and deliver at once (start-up, export, tests)."""
        self._kick.stop()
        self._cooldown.stop()
        self._pending = False
        self._generation += 1
        result = self._bound()(resolve(self.session))
        self._deliver(result)
        return result

    def _bound(self) -> Callable[[Request], Result]:
        """The compute function with what the visible panels need now (read here, on the
        main thread: the worker must not ask widgets)."""
        needs = None if self.needs is None else self.needs()
        if needs is None:
            return self._compute
        needs = tuple(needs)
        compute = self._compute
        return lambda request: compute(request, needs)

    # -- worker round trip -----------------------------------------------------------------
    def _launch(self) -> None:
        try:
            request = resolve(self.session)
        except Exception as exc:
            self.failed.emit(str(exc))
            return
        self._generation += 1
        self._running += 1
        if self._running == 1:
            self.busy_changed.emit(True)
        start_worker(self._bound(), request, on_done=self._on_outcome, tag=self._generation)

    @QtCore.Slot(object)
    def _on_outcome(self, outcome: Outcome) -> None:
        self._on_done(outcome.tag, outcome.value, outcome.detail)

    def _on_done(self, generation: int, result: Result | None, error: str) -> None:
        self._running -= 1
        if self._running == 0:
            self.busy_changed.emit(False)
        if generation != self._generation:
            self.dropped += 1
            return
        if result is None:
            self.failed.emit(error)
            return
        self._deliver(result)

    def _deliver(self, result: Result) -> None:
        self.latest = result
        self.result_ready.emit(result)

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the workers are idle (tests, shutdown)."""
        return wait_for_workers(msecs)
