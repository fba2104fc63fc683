"""Attention weights heatmap: every query row's weights over the keys, one image (the panel
once called "Score heatmap"; the scores themselves are in the Q/K/V and causal-mask panels)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.widgets.heatmap import Heatmap
from attnviz.gui.widgets.labels import pair_note, token_label
from attnviz.state.request import Result


@register_panel
class ScoreHeatmapPanel(Panel):
    panel_id = "score_heatmap"
    needs = ("head_weights",)
    order = 30
    # It shows the weights after the softmax (each row sums to 1), not the raw scores: named so.
    title = "Attention weights"
    default_area = Area.RightDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.heatmap = Heatmap(title="attention weights (each row sums to 1)")
        self.heatmap.setMinimumHeight(200)
        self.heatmap.row_clicked.connect(self._pick_row)
        self.inspector = QtWidgets.QLabel()
        self.inspector.setObjectName("row_inspector")
        self.inspector.setWordWrap(True)
        self.body.addWidget(self.heatmap, 1)
        self.body.addWidget(self.inspector)

    def _pick_row(self, row: int) -> None:
        self.try_set(lambda: setattr(self.session, "selected_token", row))

    def draw(self, result: Result) -> None:
        r = result.request
        w = result.head_weights
        self.heatmap.set_data(w, r.tokens)
        self.heatmap.set_segments(r.segments)
        self.heatmap.set_highlight_row(r.selected_token)
        self.inspector.setText(self.row_summary(result))

    def figure_parts(self) -> list[list]:
        return [[self.heatmap], [self.inspector.text()]]

    def export_data(self) -> dict:
        if self.result is None:
            return {}
        r = self.result.request
        return {"weights": self.result.head_weights, "tokens": list(r.tokens),
                "head": r.head, "temperature": r.temperature, "causal": r.causal}  # fmt: skip

    @staticmethod
    def row_summary(result: Result, top: int = 3) -> str:
        """The inspected row: its sum and strongest keys, as read off the result."""
        r = result.request
        row = result.head_weights[r.selected_token]
        order = np.argsort(row)[::-1][:top]
        keys = ", ".join(f"“{token_label(r.tokens[j])}” {row[j]:.3f}" for j in order if row[j] > 0)
        return (
            f"Row “{token_label(r.tokens[r.selected_token])}” (query {r.selected_token + 1}): "
            f"weights sum to {row.sum():.3f}; strongest keys: {keys or 'none visible'}."
            + pair_note(row, r.segments, r.selected_token)
        )


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(ScoreHeatmapPanel))
