"""The export formats, as registry entries, and the description of a figure to render."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "DATA_FORMATS",
    "FIGURE_FORMATS",
    "FORMATS",
    "MIN_SLIDE_PT",
    "PAGES",
    "ExportError",
    "ExportFormat",
    "FigureSpec",
    "format_for",
]


class ExportError(ValueError):
    """An export could not be done; the message says why and nothing was written."""


@dataclass(frozen=True)
class ExportFormat:
    """One way to save: a figure (rendered by the GUI) or data (written here)."""

    name: str
    extensions: tuple[str, ...]
    kind: Literal["figure", "data"]
    vector: bool
    description: str

    @property
    def filter(self) -> str:
        """A file-dialog filter, e.g. ``PNG image (*.png)``."""
        return f"{self.description} ({' '.join('*' + e for e in self.extensions)})"


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("png", (".png",), "figure", False, "PNG image"),
        ExportFormat("svg", (".svg",), "figure", True, "SVG vector image"),
        ExportFormat("pdf", (".pdf",), "figure", True, "PDF document"),
        ExportFormat("csv", (".csv",), "data", False, "CSV table"),
        ExportFormat("npz", (".npz",), "data", False, "NumPy arrays"),
        ExportFormat("json", (".json",), "data", False, "JSON"),
    )
}
FIGURE_FORMATS = tuple(n for n, f in FORMATS.items() if f.kind == "figure")
DATA_FORMATS = tuple(n for n, f in FORMATS.items() if f.kind == "data")


def format_for(path: str | Path, name: str | None = None, kind: str | None = None) -> ExportFormat:
    """The format named ``name``, or the one the file's extension implies; ExportError if none."""
    if name is not None:
        fmt = FORMATS.get(name.lower())
        if fmt is None:
            raise ExportError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    else:
        ext = Path(path).suffix.lower()
        matches = [f for f in FORMATS.values() if ext in f.extensions]
        if not matches:
            raise ExportError(
                f"cannot tell the format of {str(path)!r} from its extension {ext or '(none)'}; "
                f"use one of {', '.join(e for f in FORMATS.values() for e in f.extensions)}"
            )
        fmt = matches[0]
    if kind is not None and fmt.kind != kind:
        wanted = FIGURE_FORMATS if kind == "figure" else DATA_FORMATS
        raise ExportError(f"{fmt.name} is not a {kind} format; choose one of {', '.join(wanted)}")
    return fmt


# Slide pages in layout pixels at 96 per inch: 13.33 x 7.5 in (16:9) and 10 x 7.5 in (4:3),
# the sizes of PowerPoint's, Keynote's and Google Slides' default slides.
PAGES = {"16:9": (1280, 720), "4:3": (960, 720)}
SLIDE_RASTER = 1.5  # a 16:9 slide is 1920 x 1080 pixels at scale 1
MIN_SLIDE_PT = 14  # the smallest text on a slide: 1/68 of a 13.33-inch page's width


@dataclass(frozen=True)
class FigureSpec:
    """How a figure should look.

    ``style="slide"`` (the default) composes the panel's figure for a page of the given
    ``aspect``: its plots and numbers, no controls, the settings as a caption line, text no
    smaller than ``MIN_SLIDE_PT``, in the slide ``theme`` (light for print and projectors; dark
    for dark slide templates). ``style="screen"`` renders a widget as it is, at
    ``width`` x ``height``. ``scale`` multiplies the raster size (1–4; a 16:9 slide is 1920 x
    1080 px at 1); ``dpi``, when given, sets it instead.
    """

    format: str = "png"
    scale: float = 1.0
    dpi: float | None = None
    style: Literal["screen", "slide"] = "slide"
    background: Literal["white", "transparent"] = "white"
    title: str = ""
    caption: str = ""
    font_pt: int = 16
    width: int = 1600
    height: int = 1000
    aspect: Literal["16:9", "4:3"] = "16:9"
    theme: Literal["light", "dark"] = "light"

    def __post_init__(self) -> None:
        fmt = FORMATS.get(self.format)
        if fmt is None or fmt.kind != "figure":
            raise ExportError(
                f"figure format must be one of {', '.join(FIGURE_FORMATS)}, got {self.format!r}"
            )
        if not (math.isfinite(self.scale) and 1 <= self.scale <= 4):
            raise ExportError(f"scale must lie between 1 and 4, got {self.scale}")
        if self.dpi is not None and not (math.isfinite(self.dpi) and 48 <= self.dpi <= 600):
            raise ExportError(f"dpi must lie between 48 and 600, got {self.dpi}")
        if self.style not in ("screen", "slide"):
            raise ExportError(f"style must be 'screen' or 'slide', got {self.style!r}")
        if self.background not in ("white", "transparent"):
            raise ExportError(
                f"background must be 'white' or 'transparent', got {self.background!r}"
            )
        if not 6 <= self.font_pt <= 48:
            raise ExportError(f"font size must lie between 6 and 48 pt, got {self.font_pt}")
        if self.style == "slide" and self.font_pt < MIN_SLIDE_PT:
            raise ExportError(
                f"slide text must be at least {MIN_SLIDE_PT} pt to be read from the back of "
                f"the room, got {self.font_pt}"
            )
        if self.aspect not in PAGES:
            raise ExportError(f"aspect must be one of {', '.join(PAGES)}, got {self.aspect!r}")
        if self.theme not in ("light", "dark"):
            raise ExportError(f"theme must be 'light' or 'dark', got {self.theme!r}")
        if not (200 <= self.width <= 8000 and 150 <= self.height <= 8000):
            raise ExportError(f"figure size {self.width}x{self.height} px is out of range")

    @property
    def size(self) -> tuple[int, int]:
        """The figure's layout size in pixels (96 per inch): the page, or width x height."""
        return PAGES[self.aspect] if self.style == "slide" else (self.width, self.height)

    @property
    def pixel_ratio(self) -> float:
        """Device pixels per layout pixel for raster output."""
        if self.dpi is not None:
            return self.dpi / 96.0
        return float(self.scale) * (SLIDE_RASTER if self.style == "slide" else 1.0)
