"""The panels: each module registers one panel under its id (its file name).

Modules are imported by :func:`all_panels`, not here, so that
``python -m attnviz.gui.panels.<panel_id>`` runs a module that was not imported before.
A new panel is a new module in this package; nothing else needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil

from attnviz.gui.panels.base import PANELS, Panel, register_panel, run_panel_alone

__all__ = ["PANELS", "Panel", "all_panels", "register_panel", "run_panel_alone"]


def all_panels() -> dict[str, type[Panel]]:
    """Import every panel module (registering it); the registry in the panels' ``order``."""
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(sorted(PANELS.items(), key=lambda kv: (kv[1].order, kv[0])))
