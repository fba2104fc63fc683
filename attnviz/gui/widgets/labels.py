"""How a token is written where it is drawn: bounded, so no input can widen a widget.

A token can be any length (one 20,000-character "word" is valid text). Drawn whole, it made a
plot 237,630 px wide and a single layout pass take 9 s. Every axis tick, strip cell, link label,
table header and summary line therefore shows ``token_label(token)``; the full text stays in the
exported data and in tooltips.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["MAX_LABEL_CHARS", "pair_note", "token_label", "token_label_html", "two_lines"]

MAX_LABEL_CHARS = 16  # "international…": longer words are rare; 16 characters stay readable


def token_label(token: str, limit: int = MAX_LABEL_CHARS) -> str:
    """``token`` as drawn: at most ``limit`` characters, the rest elided with “…”; line breaks
    and tabs shown as spaces (a label is one line)."""
    text = " ".join(token[: limit + 1].splitlines()) if "\n" in token[: limit + 1] else token
    text = text.replace("\t", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def token_label_html(token: str, limit: int = MAX_LABEL_CHARS) -> str:
    """:func:`token_label` escaped for Qt rich text (a token may contain ``<`` or ``&``)."""
    return html.escape(token_label(token, limit), quote=False)


def two_lines(text: str) -> list[str]:
    """``text`` split at the space nearest its middle (one line if it has no space): a title
    or column header that must fit a narrow place."""
    spaces = [i for i, c in enumerate(text) if c == " "]
    if not spaces:
        return [text] if text else []
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return [text[:cut], text[cut + 1 :]]


def pair_note(row: Sequence[float], segments: tuple[int, ...], i: int) -> str:
    """ " It sits in sentence A and gives 38% of its weight to sentence B." for query ``i`` of
    a sentence pair (``row`` its weights over the keys); "" for one text."""
    if not segments or i >= len(segments) or len(row) != len(segments):
        return ""
    own = segments[i]
    other = sum(float(w) for w, g in zip(row, segments, strict=True) if g != own)
    names = "AB"
    return (
        f" It sits in sentence {names[own]} and gives {other:.0%} of its weight to sentence "
        f"{names[1 - own]}."
    )
