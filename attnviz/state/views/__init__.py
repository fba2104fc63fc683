"""Per-panel computations ("views") beyond the shared result, and their parameters.

A panel that needs numbers of its own (a pattern gallery, a KV-cache calculator, a toy
encoder-decoder …) registers a Qt-free view here, in a module of this package named after the
panel::

    @evented
    @dataclass
    class PatternParams(Params):        # the panel's own knobs, validated on assignment
        n: int = 64
        def validate(self, name, value): ...

    @register_view("attention_patterns", params=PatternParams)
    def compute(result: Result, params: PatternParams) -> PatternsData: ...

A view takes the shared result (its request, and the numbers the pipeline computes for every
panel: ``result.weights`` …, computed once and cached) and a frozen copy of its parameters.
``Result.views[panel_id]`` computes it when first asked for: only the views of visible panels
are computed before a result is delivered, a hidden panel's when it is shown. A view that
refuses its input (ValueError) yields a :class:`ViewError` with the message instead, and the
other views are unaffected. The session
holds one live parameter object per view (``session.view_params[panel_id]``); the controller
recomputes when any of them changes. New views are found automatically: nothing else to edit.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # views take a Result; the result module makes LazyViews
    from attnviz.state.request import Result

__all__ = [
    "VIEWS",
    "LazyViews",
    "Params",
    "View",
    "ViewError",
    "discover",
    "register_view",
    "whole_number",
]


class Params:
    """Base of a view's parameters (use with ``@evented @dataclass``).

    Subclasses override :meth:`validate`; a refused value raises ``ValueError`` and changes
    nothing, as in the session.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            object.__setattr__(self, f.name, self.validate(f.name, getattr(self, f.name)))
        object.__setattr__(self, "_ready", True)

    def validate(self, name: str, value: Any) -> Any:
        """Return the value to store, normalised, or raise ValueError with a message."""
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_ready", False):
            value = self.validate(name, value)
        super().__setattr__(name, value)

    def assign(self, other: Params) -> None:
        """Take every field of ``other`` (a valid object of the same class) as one update.

        Written field by field through validation, two fields that depend on each other could
        be refused in one order and accepted in the other; so all are written first and the
        events emitted after, one per changed field.
        """
        if type(other) is not type(self):
            raise TypeError(f"cannot assign {type(other).__name__} to {type(self).__name__}")
        changed = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            old, new = getattr(self, f.name), getattr(other, f.name)
            if old != new:
                changed.append((f.name, new, old))
                object.__setattr__(self, f.name, new)
        for name, new, old in changed:
            getattr(self.events, name).emit(new, old)  # type: ignore[attr-defined]

    def frozen(self) -> Any:
        """An independent copy for a request (the live object keeps changing)."""
        return dataclasses.replace(self)  # type: ignore[type-var]


def whole_number(label: str, value: Any, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi], or ValueError saying what the field must be."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{label} must be a whole number, got {value!r}")
    value = int(value)
    if not lo <= value <= hi:
        raise ValueError(f"{label} must lie in [{lo:,}, {hi:,}], got {value:,}")
    return value


@dataclass(frozen=True)
class View:
    panel_id: str
    compute: Callable[[Result, Any], Any]
    params: type | None = None


@dataclass(frozen=True)
class ViewError:
    """A view refused its input; the panel shows ``message``."""

    message: str


VIEWS: dict[str, View] = {}


def register_view(panel_id: str, params: type | None = None) -> Callable:
    """Decorator: ``compute(result, params)`` becomes the view of panel ``panel_id``."""

    def deco(fn: Callable[[Result, Any], Any]) -> Callable[[Result, Any], Any]:
        if panel_id in VIEWS and VIEWS[panel_id].compute.__qualname__ != fn.__qualname__:
            raise ValueError(f"two views claim the panel id {panel_id!r}")
        VIEWS[panel_id] = View(panel_id, fn, params)
        return fn

    return deco


def discover() -> dict[str, View]:
    """Import every view module of this package (registering it); return the registry."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return VIEWS


class LazyViews(Mapping[str, Any]):
    """``result.views``: panel id -> that view's outcome (its data, or a ViewError with the
    reason), computed on first access and kept."""

    def __init__(self, result: Result) -> None:
        self._result = result
        self._done: dict[str, Any] = {}

    def __getitem__(self, panel_id: str) -> Any:
        view = discover()[panel_id]  # KeyError for a panel without a view
        with self._result._lock:
            if panel_id not in self._done:
                params = self._result.request.view_params.get(panel_id)
                try:
                    self._done[panel_id] = view.compute(self._result, params)
                except ValueError as exc:
                    self._done[panel_id] = ViewError(str(exc))
            return self._done[panel_id]

    def __iter__(self) -> Iterator[str]:
        return iter(discover())

    def __len__(self) -> int:
        return len(discover())

    def computed(self, panel_id: str) -> bool:
        """True when the view has been computed (or the panel has none)."""
        return panel_id in self._done or panel_id not in discover()
