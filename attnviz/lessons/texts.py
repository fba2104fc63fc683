"""The app's explanatory text: one short paragraph per panel, in our own words.

Each paragraph is a plain-text file ``texts/<panel_id>.txt`` beside this module, found through
``importlib.resources`` (so installed, editable and frozen builds read it the same way).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["panel_text"]


SOURCES = ("toy", "model")


@cache
def panel_text(panel_id: str, source: str = "toy") -> str:
    """The explanation shown in panel ``panel_id`` (empty if it has none).

    ``source`` is what the panels show: "toy" (the hand-built scenes) or "model" (a trained
    model's, or saved, attention). A line of the file starting ``toy:`` or ``model:`` belongs to
    that source only; the other lines to both.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    path = resources.files("attnviz.lessons").joinpath("texts", f"{panel_id}.txt")
    try:
        lines = path.read_text(encoding="utf-8").strip().splitlines()
    except FileNotFoundError:
        return ""
    kept = []
    for line in lines:
        tag, _, rest = line.partition(":")
        if tag in SOURCES:
            if tag == source:
                kept.append(rest.strip())
        elif line.strip():
            kept.append(line.strip())
    return " ".join(kept)
