"""Causal mask: the same head with and without the mask, the −∞ scores, and what moved."""

from __future__ import annotations

from PySide6 import QtWidgets

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.widgets.heatmap import Heatmap
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.state.request import Result
from attnviz.state.session import CAUSAL_HELP


@register_panel
class CausalMaskPanel(Panel):
    panel_id = "causal_mask"
    needs = ("weights_unmasked", "weights_causal", "masked_scores_causal", "causal_shift")
    order = 50
    title = "Causal mask"
    default_area = Area.BottomDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.toggle = QtWidgets.QCheckBox("Apply the causal mask in every panel")
        self.toggle.setObjectName("causal_toggle")
        self.bind(self.session, "causal", self.toggle.toggled, self.toggle.setChecked, self.toggle)
        self.body.addWidget(self.toggle)
        self.listen(self.session.events.model_path, self._show_forced)
        self.listen(self.session.events.attention_path, self._show_forced)
        self.listen(self.session.events.stack, self._show_forced)
        self._show_forced()
        self.unmasked = Heatmap(title="without mask: weights")
        self.masked = Heatmap(title="with causal mask: weights")
        self.scores = Heatmap(title="scores before softmax (dark grey: −∞)",
                              levels=None, diverging=True)  # fmt: skip
        self.difference = Heatmap(title="difference: masked − unmasked",
                                  levels=None, diverging=True)  # fmt: skip
        self.maps = a, b, c, d = (self.unmasked, self.masked, self.scores, self.difference)
        for h in self.maps:
            h.setMinimumSize(160, 120)
            h.row_clicked.connect(self._pick_row)
        # A row of four only in a wide, short dock; else two by two, or one column when two
        # do not fit at their least widths (squeezed, they were cut off).
        # In one column the masked weights come first: they are what a lesson step talks
        # about, and at 1280 px in presenter type only the first is above the fold.
        grid = ReflowGrid([[[a, b, c, d]], [[a, b], [c, d]], [[b], [a], [c], [d]]])
        self.body.addLayout(grid, 1)
        self.grid = self.reflow(grid, lambda room: 0 if room.width() > 2.4 * room.height() else 1)
        self.file_note = QtWidgets.QLabel()
        self.file_note.setObjectName("file_note")
        self.file_note.setWordWrap(True)
        self.file_note.setVisible(False)
        self.body.addWidget(self.file_note, 1)

    def _show_forced(self, *_: object) -> None:
        """A decoder was trained with the mask (saved probabilities keep theirs): it stays on,
        and the toggle says why."""
        lock = self.session.causal_lock()
        self.toggle.setEnabled(not lock)
        self.toggle.setToolTip(lock or CAUSAL_HELP)

    def _pick_row(self, row: int) -> None:
        self.try_set(lambda: setattr(self.session, "selected_token", row))

    def figure_parts(self) -> list[list]:
        if self.file_note.isVisibleTo(self):
            return [[self.file_note.text()]]
        # The two weights side by side, each with room for every word on both axes and its
        # whole title at slide size (three in a row cut their titles and colour bars; two by
        # two thinned the rows): the scores' −∞ are the Q/K/V slide's mask step.
        return [[self.unmasked, self.masked]]

    def export_data(self) -> dict:
        if self.result is None:
            return {}
        res = self.result
        if not res.request.source.caps.has_qkv:
            return {}
        return {
            "weights_causal": res.weights_causal,
            "weights_unmasked": res.weights_unmasked,
            "scores_masked": res.masked_scores_causal,
            "difference": res.causal_shift,
            "tokens": list(res.request.tokens),
        }

    def draw(self, result: Result) -> None:
        r = result.request
        scores = r.source.caps.has_qkv
        for h in self.maps:
            h.setVisible(scores)
        self.file_note.setVisible(not scores)
        if not scores:
            self.file_note.setText(
                f"<b>{r.model_summary}</b><br>A saved-attention file holds only the "
                "probabilities after the softmax: there are no scores to mask, and the weights "
                "already contain whatever mask was used when they were saved "
                f"({'no query looks ahead' if r.causal else 'some queries look ahead'}). "
                "Choose “Toy model” or a real model to compare with and without the mask."
            )
            return
        self.unmasked.set_data(result.weights_unmasked, r.tokens)
        self.masked.set_data(result.weights_causal, r.tokens)
        self.scores.set_data(result.masked_scores_causal, r.tokens)
        self.difference.set_data(result.causal_shift, r.tokens)
        for h in (self.unmasked, self.masked, self.scores, self.difference):
            h.set_highlight_row(r.selected_token)


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(CausalMaskPanel))
