"""Token attention: click a word, see where it looks."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.heatmap import MAX_TICKS, token_ticks
from attnviz.gui.widgets.labels import pair_note, token_label, token_label_html
from attnviz.gui.widgets.link_columns import LEAST_LINE_ALPHA, LinkColumns
from attnviz.gui.widgets.token_axis import LABEL_EVERY_UP_TO, TokenAxis
from attnviz.state.request import Result


def head_title(head: int, names: tuple[str, ...]) -> str:
    """ "head 3, pronoun head" for a named head; "head 3" where its name says nothing more."""
    plain = f"head {head + 1}"
    name = names[head] if head < len(names) else plain
    return plain if name == plain else f"{plain}, {name}"


def source_note(r) -> str:
    """Where the weights come from: the toy model, or a real model's layer."""
    caps = r.source.caps
    if not caps.trained:
        return "Illustrative weights from the toy model."
    if not caps.has_qkv:
        return f"Saved weights from {r.model_summary}, layer {r.layer + 1}."
    name = r.source.name
    hidden = f" ({', '.join(dict.fromkeys(r.hidden_tokens))} hidden)" if r.hidden_tokens else ""
    return f"Real weights of {name}, layer {r.layer + 1}{hidden}."


def generated_note(r) -> str:
    """Which shown tokens the model generated (underlined in the strip), or ""."""
    start = r.generated_from
    if start is None:
        return ""
    if start >= len(r.tokens):
        return " At this step the model reads only the typed text."
    n = len(r.tokens) - start
    first = token_label_html(r.tokens[start])
    return f" The last {n} (underlined, from “{first}”) are the model's own."


MAX_LINES = 40  # lines drawn for the selected token at most: its strongest keys
Role = QtCore.Qt.ItemDataRole


class _TokenModel(QtCore.QAbstractListModel):
    """The sentence for the token strip: each token coloured by the selected token's weight on
    it. Colours are looked up when a token is painted, so long texts cost what is on screen."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.tokens: tuple[str, ...] = ()
        self.weights = np.zeros(0)
        self.selected = 0
        self.generated_from: int | None = None  # tokens from here on were generated: italic
        self.lut = np.zeros((256, 3), dtype=np.uint8)

    def update(self, tokens: tuple[str, ...], weights: np.ndarray, selected: int) -> bool:
        """Show new weights; True when only colours changed and a repaint is enough.

        For a colour change no dataChanged is emitted: QListView in icon mode answers it by
        measuring every item again (17,000 data() calls, 66 ms at 2,048 tokens), while a
        repaint asks only the visible items.
        """
        if tokens != self.tokens:
            self.beginResetModel()
            self.tokens, self.weights, self.selected = tokens, weights, selected
            self.endResetModel()
            return False
        self.weights, self.selected = weights, selected
        return True

    def rowCount(self, parent: QtCore.QModelIndex | None = None) -> int:
        return len(self.tokens)

    def data(self, index: QtCore.QModelIndex, role: int = Role.DisplayRole) -> object:
        i = index.row()
        if role == Role.DisplayRole:
            return token_label(self.tokens[i])
        if role in (Role.BackgroundRole, Role.ForegroundRole):
            w = float(self.weights[i])  # a probability; anything else gets the lowest colour
            r, g, b = (
                int(c) for c in self.lut[round(min(max(w, 0.0), 1.0) * 255) if w == w else 0]
            )
            if role == Role.BackgroundRole:
                return QtGui.QColor(r, g, b)
            return QtGui.QColor("#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff")
        if role == Role.FontRole and self.generated_from is not None and i >= self.generated_from:
            font = QtGui.QFont()
            font.setItalic(True)
            font.setUnderline(True)
            return font
        if role == Role.ToolTipRole:
            who = self.tokens[self.selected]
            made = (
                " (generated)"
                if self.generated_from is not None and i >= self.generated_from
                else ""
            )
            return f"{who} → {self.tokens[i]}{made}: {self.weights[i]:.3f}"
        return None


@register_panel
class TokenAttentionPanel(Panel):
    panel_id = "token_attention"
    needs = ("head_weights",)
    order = 10
    title = "Token attention"
    default_area = Area.LeftDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.strip_model = _TokenModel(self)
        self.strip = QtWidgets.QListView()
        self.strip.setModel(self.strip_model)
        self.strip.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.strip.setObjectName("token_strip")
        self.strip.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.strip.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.strip.setWrapping(True)
        self.strip.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.strip.setMovement(QtWidgets.QListView.Movement.Static)
        self.strip.setSpacing(3)
        self.strip.setMaximumHeight(64)
        self.strip.setToolTip("Click a word to see where it looks")
        self.strip.clicked.connect(lambda index: self._pick(index.row()))
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)  # at projector sizes it would set the window's width
        self.summary.setObjectName("strongest_link")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(200)
        self.links = self.graphics.addPlot(row=0, col=0, title="links of the selected word")
        self.bars_plot = self.graphics.addPlot(
            row=0, col=1, title="its weights", axisItems={"left": TokenAxis("left")}
        )  # every word beside its bar: never one dropped for touching its neighbour
        for p in (self.links, self.bars_plot):
            p.hideButtons()
            p.setMenuEnabled(False)
            p.setMouseEnabled(False, False)
        self.links.hideAxis("bottom")
        self.links.hideAxis("left")
        self.links.invertY(True)
        self.columns = LinkColumns(self.links)  # the words whole beside the lines
        self.bars_plot.invertY(True)
        self.bars_plot.setLabel("bottom", "weight")
        self.bars_plot.setXRange(0, 1, padding=0.02)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.bars_plot.addItem(self.bars)
        self.links.scene().sigMouseClicked.connect(self._on_click)
        # A fixed pool of line items, reused for every selection: adding and removing plain
        # QGraphicsItems on each click churns the scene (and has crashed PySide6 6.12).
        self._line_items: list[QtWidgets.QGraphicsLineItem] = []
        for _ in range(MAX_LINES):
            line = QtWidgets.QGraphicsLineItem()
            line.setVisible(False)
            self.links.addItem(line)
            self._line_items.append(line)
        self._labels: list[pg.TextItem] = []
        self.body.addWidget(self.strip)
        self.body.addWidget(self.summary)
        self.body.addWidget(self.graphics, 1)
        theme_manager().changed.connect(self._restyle)
        self._restyle()

    def _restyle(self) -> None:
        t = theme_manager().theme
        self.graphics.setBackground(t.plot_background)
        if self.result is not None:
            self.draw(self.result)

    def _pick(self, row: int) -> None:
        if row >= 0:
            self.try_set(lambda: setattr(self.session, "selected_token", row))

    def _on_click(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        if not self.links.sceneBoundingRect().contains(pos) or self.result is None:
            return
        p = self.links.vb.mapSceneToView(pos)
        i = round(p.y())
        if p.x() < 0.5 and 0 <= i < len(self.result.request.tokens):
            self._pick(i)

    # -- drawing ---------------------------------------------------------------------------
    def strongest_link(self, result: Result | None = None) -> tuple[str, str, float]:
        """(selected word, the key it weighs most, that weight), read off the result."""
        result = result or self.result
        assert result is not None
        r = result.request
        row = result.head_weights[r.selected_token]
        j = int(np.argmax(row))
        return r.tokens[r.selected_token], r.tokens[j], float(row[j])

    def figure_parts(self) -> list[list]:
        return [[self.summary.text()], [self.graphics]]

    def export_data(self) -> dict:
        if self.result is None:
            return {}
        r = self.result.request
        return {
            "weights": self.result.head_weights[r.selected_token][:, None],  # one column
            "weights_rows": list(r.tokens),
            "weights_cols": [f"weight of each key for “{r.tokens[r.selected_token]}”"],
            "tokens": list(r.tokens),
            "selected_token": r.selected_token,
            "head": r.head,
        }

    def draw(self, result: Result) -> None:
        r = result.request
        n = len(r.tokens)
        row = result.head_weights[r.selected_token]  # (n,)
        tm = theme_manager()
        self.strip_model.lut = tm.colormap().getLookupTable(nPts=256, alpha=False)
        if self.strip_model.generated_from != r.generated_from:
            self.strip_model.generated_from = r.generated_from
            self.strip_model.tokens = ()  # measured again: italic words are wider
        if self.strip_model.update(r.tokens, row, r.selected_token):
            self.strip.viewport().update()
        current = self.strip_model.index(r.selected_token)
        if self.strip.currentIndex() != current:
            with signals_blocked(self.strip):
                self.strip.setCurrentIndex(current)
        word, key, weight = self.strongest_link(result)
        self.summary.setText(
            f"<b>“{token_label_html(word)}”</b> looks most at <b>“{token_label_html(key)}”</b> "
            f"({weight:.2f}) on {head_title(r.head, r.head_names)}."
            + pair_note(row, r.segments, r.selected_token)
            + " "
            + source_note(r)
            + generated_note(r)
        )
        self._draw_links(result, row)
        self.bars.setOpts(x0=np.zeros(n), y=np.arange(n), width=row, height=0.7,
                          brush=pg.mkBrush(tm.theme.highlight), pen=pg.mkPen(None))  # fmt: skip
        self.bars_plot.setYRange(-0.5, n - 0.5, padding=0.02)
        ticks = token_ticks(r.tokens, MAX_TICKS)[0]
        self.bars_plot.getAxis("left").set_labels([(at - 0.5, t) for at, t in ticks])
        # Room for every word (up to 40) in both columns at the least label size; the panel
        # scrolls rather than thin them. At 10 pt: Panel scales it with the text size.
        # (18 px a row at 10 pt: a label's line; at 15 the words touched.)
        self.graphics.min_plot_size = (360, min(n, LABEL_EVERY_UP_TO) * 18 + 90)

    def _labels_that_fit(self) -> int:
        """Token labels a column can hold without overlapping at the labels' type size."""
        height = self.links.vb.sceneBoundingRect().height() or self.graphics.height()
        font = QtGui.QFont(QtWidgets.QApplication.font())
        font.setPointSize(theme_manager().typography.label)
        line = QtGui.QFontMetricsF(font).height()
        return max(4, min(LABEL_EVERY_UP_TO, int(height // line)))

    def _label(self, k: int) -> pg.TextItem:
        """The k-th token label, created once and reused (items are never removed)."""
        while len(self._labels) <= k:
            label = pg.TextItem("")
            self.links.addItem(label)
            self._labels.append(label)
        return self._labels[k]

    def _draw_links(self, result: Result, row: np.ndarray) -> None:
        r = result.request
        n = len(r.tokens)
        t = theme_manager().theme
        step = max(1, int(np.ceil(n / self._labels_that_fit())))
        shown = sorted(set(range(0, n, step)) | {r.selected_token})  # the selected word always
        placed = []
        for i in shown:
            for side, anchor in ((0, (1, 0.5)), (1, (0, 0.5))):
                colour = t.accent if (side == 0 and i == r.selected_token) else t.plot_foreground
                label = self._label(len(placed))
                label.setText(token_label(r.tokens[i]), color=colour)
                label.setAnchor(anchor)
                label.setPos(side, i)  # moved off the line ends by the columns, in pixels
                label.setVisible(True)
                placed.append((label, side))
        for label in self._labels[len(placed) :]:
            label.setVisible(False)
        # Lines only for the selected word, strongest first, at most MAX_LINES of them.
        order = [j for j in np.argsort(row)[::-1][:MAX_LINES] if row[j] > 0]
        accent = QtGui.QColor(t.accent)
        top = float(row.max()) if row.size and row.max() > 0 else 1.0
        for line, j in zip(self._line_items, order, strict=False):
            colour = QtGui.QColor(accent)
            # never fainter than LEAST_LINE_ALPHA: fainter, weak links vanished on dark
            colour.setAlphaF(
                min(1.0, float(LEAST_LINE_ALPHA + (1 - LEAST_LINE_ALPHA) * row[j] / top))
            )
            pen = QtGui.QPen(colour, 1 + 9 * float(row[j]))
            pen.setCosmetic(True)
            line.setLine(0.0, r.selected_token, 1.0, float(j))
            line.setPen(pen)
            line.setVisible(True)
        for line in self._line_items[len(order) :]:
            line.setVisible(False)
        self.columns.set_labels(placed)
        # A quarter row more at each end: the first and last words are centred on their rows
        # and their text is taller than half a row (the last one was cut at the bottom).
        self.links.setYRange(-0.75, n - 0.25, padding=0)


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(TokenAttentionPanel))
