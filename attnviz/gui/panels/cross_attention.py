"""Cross-attention: decoder tokens ask, encoder tokens answer; the alignment of two sentences.

With an encoder–decoder model (BART, Marian) the panel shows its real cross-attention: the
chosen decoder layer and head over the source, the texts coming from the input bar (source
text and target). Otherwise a toy encoder–decoder with hand-built weights and its own texts.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets
from superqt.utils import signals_blocked

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.heatmap import Heatmap
from attnviz.gui.widgets.labels import token_label, token_label_html
from attnviz.gui.widgets.link_columns import LEAST_LINE_ALPHA, LinkColumns
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.lessons import panel_text
from attnviz.lessons.cross_toy import MAX_WORDS
from attnviz.state.request import Result
from attnviz.state.views import ViewError
from attnviz.state.views.cross_attention import CrossData

DECODER_HEADER = "decoder\n(queries)"
ENCODER_HEADER = "encoder\n(keys, values)"


@register_panel
class CrossAttentionPanel(Panel):
    panel_id = "cross_attention"
    order = 70
    title = "Cross-attention"
    default_area = Area.BottomDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.params = self.session.view_params[self.panel_id]
        form = self.toy_form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.encoder_edit = QtWidgets.QLineEdit()
        self.encoder_edit.setObjectName("encoder_text")
        self.decoder_edit = QtWidgets.QLineEdit()
        self.decoder_edit.setObjectName("decoder_text")
        for label, edit, field in (
            ("French source (encoder):", self.encoder_edit, "encoder_text"),
            ("English target (decoder):", self.decoder_edit, "decoder_text"),
        ):
            edit.setToolTip(f"Press Enter to apply; unknown words work too (at most {MAX_WORDS})")
            edit.editingFinished.connect(lambda e=edit, f=field: self._set_text(f, e))
            self.listen(getattr(self.params.events, field), self._sync_texts)
            form.addRow(label, edit)
        self.toy_texts = QtWidgets.QWidget()  # hidden when a model's texts are shown
        self.toy_texts.setLayout(form)
        self.body.addWidget(self.toy_texts)
        self._sync_texts()

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumSize(200, 150)
        self.links = self.graphics.addPlot(row=0, col=0)
        self.links.hideButtons()
        self.links.setMenuEnabled(False)
        self.links.setMouseEnabled(False, False)
        self.links.hideAxis("bottom")
        self.links.hideAxis("left")
        self.links.invertY(True)
        self.links.scene().sigMouseClicked.connect(self._on_click)
        self.columns = LinkColumns(self.links)  # the words whole beside the lines
        self._lines: list[QtWidgets.QGraphicsLineItem] = []
        self._line(MAX_WORDS - 1)  # one per source token, reused; a model's may need more
        self._labels: list[pg.TextItem] = []
        self.heatmap = Heatmap(
            title="alignment: each decoder row sums to 1",
            x_label="encoder key (French)",
            y_label="decoder query (English)",
        )
        self.heatmap.setMinimumSize(180, 150)
        self.heatmap.row_clicked.connect(self._pick)
        # The lines beside the alignment, or above it when both do not fit.
        row = ReflowGrid([[[self.graphics, self.heatmap]], [[self.graphics], [self.heatmap]]])
        self.body.addLayout(row, 1)
        self.reflow(row)
        self.summary = QtWidgets.QLabel()
        self.summary.setObjectName("cross_summary")
        self.summary.setWordWrap(True)
        self.body.addWidget(self.summary)
        theme_manager().changed.connect(self._restyle)
        self._restyle()

    def _explain(self, *_: object) -> None:
        # A model without cross-attention (BERT, GPT-2) leaves the toy encoder–decoder here.
        source = "model" if self.session.source.caps.cross else "toy"
        self.explanation.setText(panel_text(self.panel_id, source))

    # -- input -----------------------------------------------------------------------------
    def _sync_texts(self, *_args: object) -> None:
        self._show_text(self.encoder_edit, self.params.encoder_text)
        self._show_text(self.decoder_edit, self.params.decoder_text)

    @staticmethod
    def _show_text(edit: QtWidgets.QLineEdit, text: str) -> None:
        if edit.text() != text:
            with signals_blocked(edit):
                edit.setText(text)

    def _set_text(self, field: str, edit: QtWidgets.QLineEdit) -> None:
        text = edit.text()
        if text == getattr(self.params, field):
            return
        if not self.try_set(lambda: setattr(self.params, field, text)):
            self._show_text(edit, getattr(self.params, field))  # refused: show what is in force

    def _pick(self, row: int) -> None:
        data = self.data()
        field = "target_token" if data is not None and data.trained else "selected"
        self.try_set(lambda: setattr(self.params, field, row))

    def _on_click(self, event: object) -> None:
        data = self.data()
        pos = event.scenePos()  # type: ignore[attr-defined]
        if data is None or not self.links.vb.sceneBoundingRect().contains(pos):
            return
        p = self.links.vb.mapSceneToView(pos)
        if p.x() > 0.5:
            return
        ys = self._ys(len(data.decoder_tokens), data)
        self._pick(int(np.argmin(np.abs(ys - p.y()))))

    # -- drawing ---------------------------------------------------------------------------
    def data(self) -> CrossData | None:
        view = self.result.views.get(self.panel_id) if self.result is not None else None
        return view if isinstance(view, CrossData) else None

    def _restyle(self) -> None:
        self.graphics.setBackground(theme_manager().theme.plot_background)
        if self.result is not None:
            self.draw(self.result)

    @staticmethod
    def _ys(count: int, data: CrossData) -> np.ndarray:
        """Vertical places of one column's words: both columns span the same height."""
        span = max(len(data.decoder_tokens), len(data.encoder_tokens))
        return (np.arange(count) + 0.5) * span / count

    def _header_room(self, span: int, font: QtGui.QFont) -> float:
        """View units above the first row that hold the two-line column headers whole: with
        many tokens a unit is a few pixels, and a fixed margin cut "decoder" in half."""
        height = self.links.vb.height()
        header = 2.6 * QtGui.QFontMetricsF(font).height()  # two lines and a gap
        if height <= header * 2:
            return 0.9
        return max(0.9, header * span / (height - header) + 0.1)

    def _line(self, j: int) -> QtWidgets.QGraphicsLineItem:
        while len(self._lines) <= j:
            line = QtWidgets.QGraphicsLineItem()
            line.setVisible(False)
            self.links.addItem(line)
            self._lines.append(line)
        return self._lines[j]

    def _label(self, k: int) -> pg.TextItem:
        while len(self._labels) <= k:
            label = pg.TextItem("")
            self.links.addItem(label)
            self._labels.append(label)
        return self._labels[k]

    def draw(self, result: Result) -> None:
        view = result.views.get(self.panel_id)
        if isinstance(view, ViewError):
            self.show_message(view.message)
            return
        if not isinstance(view, CrossData):
            return
        self.show_message("")  # a good result: an earlier refusal no longer applies
        d = view
        sel = d.selected
        row = d.weights[sel]
        self.toy_texts.setVisible(not d.trained)
        side = ("source", "target") if d.trained else ("French", "English")
        self.heatmap.set_axis_titles(f"encoder key ({side[0]})", f"decoder query ({side[1]})")
        self.heatmap.set_data(d.weights, d.decoder_tokens, d.encoder_tokens)
        self.heatmap.set_highlight_row(sel)
        self._draw_links(d, row)
        j = int(np.argmax(row))
        t_note = "" if d.temperature == 1 else f" at T = {d.temperature:g}"
        reads = (
            f"<b>“{token_label_html(d.decoder_tokens[sel])}”</b> reads mostly "
            f"<b>“{token_label_html(d.encoder_tokens[j])}”</b> ({row[j]:.3f}){t_note}"
        )
        if d.trained:
            self.summary.setText(
                f"{reads} — decoder layer {d.layer + 1} of {d.layers}, head {d.head + 1}: the "
                "model's own cross-attention. Row i is the decoder predicting target token "
                "i + 1 (the first row reads the start token)."
            )
            return
        meaning = d.value_names[int(np.argmax(d.output[sel]))]
        self.summary.setText(
            f"{reads}; the value it receives means mostly “{meaning}”. "
            "Hand-built toy weights, not a trained translator."
        )

    def _draw_links(self, d: CrossData, row: np.ndarray) -> None:
        t = theme_manager().theme
        bold = QtGui.QFont(QtWidgets.QApplication.font())
        bold.setBold(True)
        plain = QtGui.QFont(QtWidgets.QApplication.font())
        ys_dec = self._ys(len(d.decoder_tokens), d)
        ys_enc = self._ys(len(d.encoder_tokens), d)
        span = max(len(d.decoder_tokens), len(d.encoder_tokens))
        items = [(0.0, -0.1, DECODER_HEADER, (1, 1), t.plot_foreground, bold),
                 (1.0, -0.1, ENCODER_HEADER, (0, 1), t.plot_foreground, bold)]  # fmt: skip
        fg = t.plot_foreground
        for i, tok in enumerate(d.decoder_tokens):
            picked = i == d.selected
            items.append((0.0, ys_dec[i], token_label(tok), (1, 0.5), t.accent if picked else fg,
                          bold if picked else plain))  # fmt: skip
        for j, tok in enumerate(d.encoder_tokens):
            items.append((1.0, ys_enc[j], f"{token_label(tok)}  {row[j]:.2f}", (0, 0.5), fg, plain))
        shown = []
        for k, (x, y, text, anchor, colour, font) in enumerate(items):
            label = self._label(k)
            label.setText(text, color=colour)
            label.textItem.setFont(font)
            label.setAnchor(anchor)
            label.setPos(x, y)  # x moved off the line ends by the columns, in pixels
            label.setVisible(True)
            shown.append((label, int(x)))
        for label in self._labels[len(items) :]:
            label.setVisible(False)
        accent = QtGui.QColor(t.accent)
        y0 = float(ys_dec[d.selected])
        self._line(len(d.encoder_tokens) - 1)
        for j, line in enumerate(self._lines):
            if j >= len(d.encoder_tokens):
                line.setVisible(False)
                continue
            colour = QtGui.QColor(accent)
            colour.setAlphaF(float(min(1.0, LEAST_LINE_ALPHA + (1 - LEAST_LINE_ALPHA) * row[j])))
            pen = QtGui.QPen(colour, 1 + 9 * float(row[j]))
            pen.setCosmetic(True)
            line.setPen(pen)
            line.setLine(0.0, y0, 1.0, float(ys_enc[j]))
            line.setVisible(True)
        self.links.setYRange(-self._header_room(span, bold), span, padding=0.02)
        self.columns.set_labels(shown)

    def figure_parts(self) -> list[list]:
        return [[(self.graphics, 2), (self.heatmap, 3)], [self.summary.text()]]

    def figure_caption(self) -> str:
        p, d = self.params, self.data()
        if d is not None and d.trained:
            r = self.result.request if self.result is not None else None
            name = r.source.name if r is not None else "the model"
            t = "" if d.temperature == 1 else f" · T = {d.temperature:g}"
            return (
                f"{name}: decoder layer {d.layer + 1}, head {d.head + 1}, cross-attention over "
                f"the source · source “{self.session.text}” → target "
                f"“{self.session.text_b}”{t}"
            )
        return (
            f"source “{p.encoder_text}” → target “{p.decoder_text}” · a toy encoder–decoder "
            "with hand-built weights"
        )

    def export_data(self) -> dict:
        d = self.data()
        if d is None:
            return {}
        return {
            "alignment": np.asarray(d.weights),
            "alignment_rows": list(d.decoder_tokens),
            "alignment_cols": list(d.encoder_tokens),
            "scores": np.asarray(d.scores),
            "scores_rows": list(d.decoder_tokens),
            "scores_cols": list(d.encoder_tokens),
            "decoder_tokens": list(d.decoder_tokens),
            "encoder_tokens": list(d.encoder_tokens),
            "selected_decoder_token": d.selected,
            "selected_row": np.asarray(d.weights[d.selected]),
            "temperature": d.temperature,
        }


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(CrossAttentionPanel))
