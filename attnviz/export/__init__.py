"""Figure and data export, Qt-free: the formats, what a figure should look like, safe writes.

Figures (PNG, SVG, PDF) are rendered by ``attnviz.gui.exporters``; this package describes them
and writes the numbers behind a panel (CSV, NPZ, JSON) itself. Every file is written to a
temporary file beside the target and renamed into place, so a failure leaves nothing partial.
"""

from attnviz.export.captions import settings_caption
from attnviz.export.formats import (
    DATA_FORMATS,
    FIGURE_FORMATS,
    FORMATS,
    MIN_SLIDE_PT,
    PAGES,
    ExportError,
    ExportFormat,
    FigureSpec,
    format_for,
)
from attnviz.export.writers import safe_write, write_data

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
    "safe_write",
    "settings_caption",
    "write_data",
]
