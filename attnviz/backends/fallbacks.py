"""What computed a result: the GPU fall-backs recorded during the calls made inside
``recording_fallbacks()``, per thread or task (a context variable: two workers never mix their
records). Kept apart from the package so that the CuPy backend records without importing the
dispatcher that imports it."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Fallbacks", "note_fallback", "record_kernel_fallback", "recording_fallbacks"]


class Fallbacks(list[str]):
    """The reasons of the GPU fall-backs to NumPy (the list), and, in ``kernel``, why the GPU
    computed without our flash kernel (its standard path: same numbers, more memory)."""

    def __init__(self) -> None:
        super().__init__()
        self.kernel: list[str] = []


@contextmanager
def recording_fallbacks() -> Iterator[Fallbacks]:
    """Collect the fall-backs of the calls made inside (in this thread or task only): what
    computed a result is then known, not just what was selected. Nested, the inner record
    is also added to the outer one when it closes."""
    outer = _fallbacks.get()
    record = Fallbacks()
    token = _fallbacks.set(record)
    try:
        yield record
    finally:
        _fallbacks.reset(token)
        if outer is not None:
            outer.extend(record)
            outer.kernel.extend(record.kernel)


_fallbacks: contextvars.ContextVar[Fallbacks | None] = contextvars.ContextVar(
    "attnviz_fallbacks", default=None
)


def note_fallback(reason: str) -> None:
    """A GPU run failed and NumPy computed instead (called by the dispatcher)."""
    record = _fallbacks.get()
    if record is not None:
        record.append(reason)


def record_kernel_fallback(reason: str) -> None:
    """The GPU ran the standard path instead of the flash kernel (called by cupy_backend)."""
    record = _fallbacks.get()
    if record is not None:
        record.kernel.append(reason)
