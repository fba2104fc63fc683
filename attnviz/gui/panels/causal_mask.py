"""Causal mask: the same head with and without the mask, the −∞ scores, and what moved."""

from __future__ import annotations

from PySide6 import QtWidgets

from attnviz.gui.binding import bind
from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.widgets.heatmap import Heatmap
from attnviz.state.pipeline import Result


@register_panel
class CausalMaskPanel(Panel):
    panel_id = "causal_mask"
    order = 50
    title = "Causal mask"
    default_area = Area.BottomDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.toggle = QtWidgets.QCheckBox("Apply the causal mask in every panel")
        self.toggle.setObjectName("causal_toggle")
        bind(self.session, "causal", self.toggle.toggled, self.toggle.setChecked,
             on_error=self.show_message, widget=self.toggle)  # fmt: skip
        self.body.addWidget(self.toggle)
        grid = QtWidgets.QGridLayout()
        self.unmasked = Heatmap(title="without mask: weights")
        self.masked = Heatmap(title="with causal mask: weights")
        self.scores = Heatmap(title="scores before softmax (grey: −∞)",
                              levels=None, diverging=True)  # fmt: skip
        self.difference = Heatmap(title="difference: masked − unmasked",
                                  levels=None, diverging=True)  # fmt: skip
        # One row of four: the bottom dock is wide and short.
        for i, h in enumerate((self.unmasked, self.masked, self.scores, self.difference)):
            h.setMinimumSize(160, 120)
            h.row_clicked.connect(self._pick_row)
            grid.addWidget(h, 0, i)
        self.body.addLayout(grid, 1)

    def _pick_row(self, row: int) -> None:
        self.try_set(lambda: setattr(self.session, "selected_token", row))

    def draw(self, result: Result) -> None:
        r = result.request
        self.unmasked.set_data(result.weights_unmasked, r.tokens)
        self.masked.set_data(result.weights_causal, r.tokens)
        self.scores.set_data(result.masked_scores_causal, r.tokens)
        self.difference.set_data(result.causal_shift, r.tokens)
        for h in (self.unmasked, self.masked, self.scores, self.difference):
            h.set_highlight_row(r.selected_token)


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(CausalMaskPanel))
