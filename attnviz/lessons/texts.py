"""The app's explanatory text: one short paragraph per panel, in our own words.

Each paragraph is a plain-text file ``texts/<panel_id>.txt`` beside this module, found through
``importlib.resources`` (so installed, editable and frozen builds read it the same way).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["panel_text"]


@cache
def panel_text(panel_id: str) -> str:
    """The explanation shown in panel ``panel_id`` (empty if it has none)."""
    path = resources.files("attnviz.lessons").joinpath("texts", f"{panel_id}.txt")
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
