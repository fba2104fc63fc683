"""The settings behind a figure, in words: the caption line a slide carries instead of the
controls that held them ("T = 0.5 · head 3, pronoun → noun · causal mask on · toy model")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["settings_caption"]


def _number(x: float) -> str:
    return f"{x:g}"


def settings_caption(request: Any, extra: Sequence[str] = (), *, head: bool = True) -> str:
    """The input, head and softmax settings of ``request`` (a pipeline Request), then ``extra``.

    ``head=False`` leaves out the head (a figure of every head). Only what a reader needs to
    reproduce the figure: the temperature and window only when they differ from plain
    attention; the mask always (it changes every number).
    """
    parts: list[str] = []
    if request.source.caps.trained:
        name = request.source.name
        parts.append(f"{name}, layer {request.layer + 1}")
    else:
        parts.append("toy model (hand-built weights)")
    if head and request.head_names:
        h = request.head
        name = request.head_names[h]
        label = f"head {h + 1}" if name in ("", f"head {h + 1}") else f"head {h + 1}, {name}"
        parts.append(label)
    if request.temperature != 1.0:
        parts.append(f"T = {_number(request.temperature)}")
    parts.append("causal mask on" if request.causal else "no mask")
    if request.window is not None:
        parts.append(f"window {request.window}")
    parts.extend(e for e in extra if e)
    return " · ".join(parts)
