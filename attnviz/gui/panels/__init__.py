"""The panels: each module registers one panel under its id (its file name).

Modules are imported by :func:`all_panels`, not here, so that
``python -m attnviz.gui.panels.<panel_id>`` runs a module that was not imported before.
"""

from __future__ import annotations

import importlib

from attnviz.gui.panels.base import PANELS, Panel, register_panel, run_panel_alone

__all__ = ["PANELS", "PANEL_IDS", "Panel", "all_panels", "register_panel", "run_panel_alone"]

# In the order they are docked and listed in the View menu.
PANEL_IDS = (
    "token_attention",
    "qkv_steps",
    "score_heatmap",
    "softmax_temperature",
    "causal_mask",
)


def all_panels() -> dict[str, type[Panel]]:
    """Import every panel module (registering it) and return the registry in PANEL_IDS order."""
    for pid in PANEL_IDS:
        importlib.import_module(f"attnviz.gui.panels.{pid}")
    return {pid: PANELS[pid] for pid in PANEL_IDS}
