"""What to compute: a pure ``resolve(session) -> Request`` and ``run(request, needs) -> Result``.

The controller decides *when* (throttled, on a worker thread, stale results dropped); this
module decides *what*: the session's source (:mod:`attnviz.state.source`) at its settings, and,
of every number the panels can draw, those the visible panels need (``needs``). The result
computes the rest when first asked for, through the same cached stages
(:mod:`attnviz.state.stages`), so a panel shown later costs only what it adds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from attnviz.backends import select_backend
from attnviz.state.request import NotFiniteError, Request, Result
from attnviz.state.session import Session
from attnviz.state.source import loaded_model, model_trace

__all__ = ["NotFiniteError", "loaded_model", "model_trace", "resolve", "run"]


def resolve(session: Session) -> Request:
    """Freeze what the session asks for into a request (its source and settings)."""
    source = session.source
    caps = source.caps
    return Request(
        source=source,
        layer=min(session.layer, caps.layers - 1),
        head=min(session.head, caps.heads - 1),
        selected_token=min(session.selected_token, len(source.tokens) - 1),
        temperature=session.temperature if caps.adjustable else 1.0,
        causal=session.causal,
        window=session.window if caps.user_window else None,
        backend=session.backend,
        logits=session.logits,
        view_params={pid: p.frozen() for pid, p in session.view_params.items()},
    )


def run(request: Request, needs: Iterable[str] | None = None) -> Result:
    """The result for ``request``, with ``needs`` computed (None: every number of every panel).

    The result names the backend that computed it: after a GPU failure mid-run that is NumPy,
    and why, not the CuPy that was selected."""
    t0 = time.perf_counter()
    result = Result(request, select_backend(request.backend))
    result.warm(needs)
    result.seconds = time.perf_counter() - t0
    return result
