"""Bind a widget to a session field both ways, without echo.

Widget -> session by assignment (a refusal is reported, the widget is put back); session ->
widget inside ``signals_blocked``, so updating the widget does not write the session again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6 import QtCore
from superqt.utils import signals_blocked

from attnviz.state.session import Session

__all__ = ["bind"]


def bind(
    session: Session,
    field: str,
    signal: QtCore.SignalInstance,
    set_widget: Callable[[Any], None],
    to_model: Callable[[Any], Any] = lambda v: v,
    on_error: Callable[[str], None] | None = None,
    widget: QtCore.QObject | None = None,
    on_accepted: Callable[[], None] | None = None,
) -> Callable[[], None]:
    """Keep ``session.<field>`` and a widget in step; returns the function that unbinds.

    ``signal`` is the widget's change signal; ``set_widget(value)`` shows a session value;
    ``to_model(widget_value)`` converts what the widget emits. ``widget`` (the object whose
    signals are blocked while it is updated) defaults to the signal's sender. ``session`` may
    be any evented model (a panel's view parameters too). ``on_error(message)`` hears a
    refusal, ``on_accepted()`` an accepted value. The session holds ``pull`` strongly, so a
    widget that goes away before the session must be unbound (``Panel.bind`` does it).
    """
    target = widget

    def push(value: Any) -> None:
        try:
            setattr(session, field, to_model(value))
        except ValueError as exc:
            if on_error is not None:
                on_error(str(exc))
            pull(getattr(session, field))
            return
        if on_accepted is not None:
            on_accepted()

    def pull(value: Any) -> None:
        if target is None:
            set_widget(value)
            return
        with signals_blocked(target):
            set_widget(value)

    signal.connect(push)
    event = getattr(session.events, field)
    event.connect(pull)
    pull(getattr(session, field))
    return lambda: event.disconnect(pull)
