"""Token attention: click a word, see where it looks."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets
from superqt.utils import signals_blocked

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.heatmap import token_ticks
from attnviz.state.pipeline import Result

MAX_LINES = 40  # lines drawn for the selected token at most: its strongest keys


@register_panel
class TokenAttentionPanel(Panel):
    panel_id = "token_attention"
    title = "Token attention"
    default_area = Area.LeftDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.strip = QtWidgets.QListWidget()
        self.strip.setObjectName("token_strip")
        self.strip.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.strip.setFlow(QtWidgets.QListView.Flow.LeftToRight)
        self.strip.setWrapping(True)
        self.strip.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.strip.setMovement(QtWidgets.QListView.Movement.Static)
        self.strip.setSpacing(3)
        self.strip.setMaximumHeight(64)
        self.strip.setToolTip("Click a word to see where it looks")
        self.strip.currentRowChanged.connect(self._pick)
        self.summary = QtWidgets.QLabel()
        self.summary.setObjectName("strongest_link")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(200)
        self.links = self.graphics.addPlot(row=0, col=0, title="links of the selected word")
        self.bars_plot = self.graphics.addPlot(row=0, col=1, title="its weights")
        for p in (self.links, self.bars_plot):
            p.hideButtons()
            p.setMenuEnabled(False)
            p.setMouseEnabled(False, False)
        self.links.hideAxis("bottom")
        self.links.hideAxis("left")
        self.links.invertY(True)
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
        row = result.weights[r.head, r.selected_token]
        j = int(np.argmax(row))
        return r.tokens[r.selected_token], r.tokens[j], float(row[j])

    def draw(self, result: Result) -> None:
        r = result.request
        n = len(r.tokens)
        row = result.weights[r.head, r.selected_token]  # (n,)
        tm = theme_manager()
        lut = tm.colormap().getLookupTable(nPts=256, alpha=False)
        with signals_blocked(self.strip):
            if self.strip.count() != n or any(
                self.strip.item(i).text() != r.tokens[i] for i in range(min(n, 64))
            ):
                self.strip.clear()
                self.strip.addItems(list(r.tokens))
            for i in range(n):
                item = self.strip.item(i)
                cr, cg, cb = (int(c) for c in lut[round(float(row[i]) * 255)])
                item.setBackground(QtGui.QColor(cr, cg, cb))
                light = 0.299 * cr + 0.587 * cg + 0.114 * cb > 140
                item.setForeground(QtGui.QColor("#000" if light else "#fff"))
                item.setToolTip(f"{r.tokens[r.selected_token]} → {r.tokens[i]}: {row[i]:.3f}")
            self.strip.setCurrentRow(r.selected_token)
        word, key, weight = self.strongest_link(result)
        self.summary.setText(
            f"<b>“{word}”</b> looks most at <b>“{key}”</b> ({weight:.2f}) on head "
            f"{r.head + 1}, {r.head_names[r.head]}. Illustrative weights from the toy model."
        )
        self._draw_links(result, row)
        self.bars.setOpts(x0=np.zeros(n), y=np.arange(n), width=row, height=0.7,
                          brush=pg.mkBrush(tm.theme.highlight), pen=pg.mkPen(None))  # fmt: skip
        ax = self.bars_plot.getAxis("left")
        ax.setTicks([[(i, t) for _, t in token_ticks(r.tokens)[0] for i in [_ - 0.5]]])
        self.bars_plot.setYRange(-0.5, n - 0.5, padding=0.02)

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
        step = max(1, int(np.ceil(n / 48)))
        shown = range(0, n, step)
        k = 0
        for i in shown:
            for x, anchor in ((0.0, (1, 0.5)), (1.0, (0, 0.5))):
                colour = t.accent if (x == 0.0 and i == r.selected_token) else t.plot_foreground
                label = self._label(k)
                label.setText(r.tokens[i], color=colour)
                label.setAnchor(anchor)
                label.setPos(x - 0.03 if x == 0 else x + 0.03, i)
                label.setVisible(True)
                k += 1
        for label in self._labels[k:]:
            label.setVisible(False)
        # Lines only for the selected word, strongest first, at most MAX_LINES of them.
        order = [j for j in np.argsort(row)[::-1][:MAX_LINES] if row[j] > 0]
        accent = QtGui.QColor(t.accent)
        top = float(row.max()) if row.size and row.max() > 0 else 1.0
        for line, j in zip(self._line_items, order, strict=False):
            colour = QtGui.QColor(accent)
            colour.setAlphaF(min(1.0, float(0.15 + 0.85 * row[j] / top)))
            pen = QtGui.QPen(colour, 1 + 9 * float(row[j]))
            pen.setCosmetic(True)
            line.setLine(0.0, r.selected_token, 1.0, float(j))
            line.setPen(pen)
            line.setVisible(True)
        for line in self._line_items[len(order) :]:
            line.setVisible(False)
        self.links.setXRange(-0.45, 1.45, padding=0)
        self.links.setYRange(-0.5, n - 0.5, padding=0.02)


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(TokenAttentionPanel))
