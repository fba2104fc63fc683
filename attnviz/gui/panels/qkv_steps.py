"""Q/K/V step by step: the numbers of every stage of one head, editable at the source."""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets
from superqt.utils import signals_blocked

from attnviz.export.captions import settings_caption
from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.widgets.matrix_table import MatrixTable
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.state.request import Result

STEPS = (
    ("scores", "1 · Q·Kᵀ", "raw scores: query i · key j"),
    ("scaled", "2 · ÷ √d_k", "scaled: divided by √d_k (and by the temperature T)"),
    ("masked", "3 · mask", "masked: −∞ where a key may not be seen"),
    ("weights", "4 · softmax", "softmax over each row: weights that sum to 1"),
    ("output", "5 · × V", "output: each row mixes the value vectors by its weights"),
)
PLAY_INTERVAL_MS = 1600
ILLUSTRATIVE = (
    "<i>Illustrative numbers: hand-built embeddings and weights, not a trained model.</i>"
)


@register_panel
class QKVStepsPanel(Panel):
    panel_id = "qkv_steps"
    needs = ("q", "k", "v", "trace")
    order = 20
    title = "Q/K/V step by step"
    default_area = Area.LeftDockWidgetArea
    min_useful = (360, 560)  # the tables reflow into rows; the step controls, the step's matrix

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.step = 0
        self.tables: dict[str, MatrixTable] = {}
        # Inputs on the left, projections on the right, each a set of tabs so every table gets
        # the full height of its half; the steps below get the rest.
        self.input_tabs = QtWidgets.QTabWidget()
        # "(editable)" in its tooltip, not its title: the title also heads the slide's table.
        self.tables["X"] = MatrixTable("X — one row per token", editable=True)
        self.tables["X"].setToolTip("Double-click a cell to edit it; every later step follows")
        self.input_tabs.addTab(self.tables["X"], "X")
        for name in ("Wq", "Wk", "Wv"):
            t = MatrixTable(f"{name} of the selected head (editable)", editable=True)
            self.tables[name] = t
            self.input_tabs.addTab(t, name)
        self.proj_tabs = QtWidgets.QTabWidget()
        for name in ("Q", "K", "V"):
            t = MatrixTable(f"{name} = X·W{name.lower()}")
            self.tables[name] = t
            self.proj_tabs.addTab(t, name)
        # Side by side, or the projections below the inputs when both do not fit.
        tabs = self.input_tabs, self.proj_tabs
        top = ReflowGrid([[tabs], [tabs[:1], tabs[1:]]])
        for name in ("X", "Wq", "Wk", "Wv"):
            self.tables[name].cell_edited.connect(
                lambda i, j, text, m=name: self._edit(m, i, j, text)
            )

        controls = QtWidgets.QHBoxLayout()
        self.back = QtWidgets.QPushButton("◀ Back")
        self.next = QtWidgets.QPushButton("Next ▶")
        self.play = QtWidgets.QPushButton("Play")
        self.play.setObjectName("play_button")
        self.play.setCheckable(True)
        self.step_box = QtWidgets.QComboBox()
        self.step_box.setObjectName("step_selector")
        for _, label, _ in STEPS:
            self.step_box.addItem(label)
        self.back.clicked.connect(lambda: self.set_step(self.step - 1))
        self.next.clicked.connect(lambda: self.set_step(self.step + 1))
        self.step_box.currentIndexChanged.connect(self.set_step)
        self.play.toggled.connect(self._toggle_play)
        for w in (self.back, self.step_box, self.next, self.play):
            controls.addWidget(w)
        controls.addStretch(1)
        self.formula = QtWidgets.QLabel()
        self.formula.setObjectName("step_formula")
        self.formula.setWordWrap(True)
        self.step_table = MatrixTable("", diverging=True)
        self.timer = QtCore.QTimer(self, interval=PLAY_INTERVAL_MS)
        self.timer.timeout.connect(lambda: self.set_step((self.step + 1) % len(STEPS)))

        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        holder = QtWidgets.QWidget()
        holder.setLayout(top)
        top.setContentsMargins(0, 0, 0, 0)
        splitter.addWidget(holder)
        self.reflow(top)
        step_holder = QtWidgets.QWidget()
        sl = QtWidgets.QVBoxLayout(step_holder)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addLayout(controls)
        sl.addWidget(self.formula)
        sl.addWidget(self.step_table, 1)
        splitter.addWidget(step_holder)
        splitter.setSizes([1, 1])
        self.splitter = splitter
        self.body.addWidget(splitter, 1)
        self.no_qkv = QtWidgets.QLabel()
        self.no_qkv.setObjectName("no_qkv_message")
        self.no_qkv.setWordWrap(True)
        self.no_qkv.setVisible(False)
        self.body.addWidget(self.no_qkv, 1)
        self.illustrative = QtWidgets.QLabel(ILLUSTRATIVE)
        self.illustrative.setWordWrap(True)
        self.body.addWidget(self.illustrative)

    # -- input -----------------------------------------------------------------------------
    def _edit(self, matrix: str, row: int, col: int, text: str) -> None:
        try:
            value = float(text.replace("−", "-"))
        except ValueError:
            self.show_message(f"“{text}” is not a number; the cell keeps its value.")
            return
        head = self.session.head
        if not self.session.source.caps.editable:
            self.show_message("Editing X or W is for the toy model; the real model's numbers "
                              "come from its files.")  # fmt: skip
            return
        self.try_set(lambda: self.session.add_edit(matrix, head, row, col, value))

    def set_step(self, step: int) -> None:
        self.step = max(0, min(int(step), len(STEPS) - 1))
        with signals_blocked(self.step_box):
            self.step_box.setCurrentIndex(self.step)
        if self.result is not None:
            self._draw_step(self.result)

    def _toggle_play(self, on: bool) -> None:
        self.play.setText("Pause" if on else "Play")
        if on:
            self.timer.start()
        else:
            self.timer.stop()

    # -- drawing ---------------------------------------------------------------------------
    def _show_source(self, result: Result) -> None:
        """Toy: X and W editable. Real model: X is the layer's input, W stays in its files."""
        r = result.request
        model = not r.source.caps.editable  # X is the layer's input, W in the model's files
        self.tables["X"].model.editable = not model
        for i in range(1, 4):
            self.input_tabs.setTabEnabled(i, not model)
        if model:
            self.input_tabs.setCurrentIndex(0)
            self.tables["X"].set_title(
                f"X — layer {r.layer + 1}'s input: the hidden state of each token (read-only)"
            )
            name = r.source.name
            self.illustrative.setText(
                f"<i>Real numbers from {name}. W<sub>q</sub>, W<sub>k</sub>, W<sub>v</sub> "
                "come from the model's trained weights (with biases, layer norm and, for "
                "rotary models, RoPE between X and Q/K), so Q, K, V are shown as the model "
                "computed them. Editing X or W is for the toy model.</i>"
            )
            for name in ("Q", "K", "V"):
                self.tables[name].set_title(f"{name} of head {r.head + 1}, from the model")
        else:
            self.tables["X"].set_title("X — one row per token")
            self.illustrative.setText(ILLUSTRATIVE)
            for name in ("Q", "K", "V"):
                self.tables[name].set_title(f"{name} = X·W{name.lower()}")

    def _show_file(self, result: Result) -> bool:
        """A saved-attention file: say there is no Q, K, V instead of drawing old numbers."""
        r = result.request
        caps = r.source.caps
        self.splitter.setVisible(caps.has_qkv)
        self.illustrative.setVisible(caps.has_qkv)
        self.no_qkv.setVisible(not caps.has_qkv)
        if not caps.has_qkv:
            self.timer.stop()
            self.no_qkv.setText(f"<b>{r.model_summary}</b><br>{caps.no_qkv_reason}")
        return not caps.has_qkv

    def draw(self, result: Result) -> None:
        r = result.request
        h = r.head
        if self._show_file(result):
            return
        toks = r.tokens
        feats = r.feature_names
        dk = tuple(f"d{i + 1}" for i in range(result.q.shape[2]))
        dv = tuple(f"d{i + 1}" for i in range(result.v.shape[2]))
        self._show_source(result)
        self.tables["X"].set_matrix(r.x, toks, feats)
        if r.source.caps.editable:
            self.tables["Wq"].set_matrix(r.wq[h], feats, dk)
            self.tables["Wk"].set_matrix(r.wk[h], feats, dk)
            self.tables["Wv"].set_matrix(r.wv[h], feats, dv)
        self.tables["Q"].set_matrix(result.q[h], toks, dk)
        self.tables["K"].set_matrix(result.k[h], toks, dk)
        self.tables["V"].set_matrix(result.v[h], toks, dv)
        self._draw_step(result)

    def figure_parts(self) -> list[list]:
        if self.no_qkv.isVisibleTo(self):
            return [[self.no_qkv.text()]]
        parts: list[list] = [[self.formula.text()]]
        if self.result is not None:
            r = self.result.request
            n, d_model, d_k = r.x.shape[0], r.x.shape[1], r.wq.shape[2]
            if n <= 6 and d_model + 3 * d_k <= 16:  # small enough: the inputs fit too
                parts.append([self.tables[m] for m in ("X", "Q", "K", "V")])
        return [*parts, [self.step_table]]

    def figure_caption(self) -> str:
        if self.result is None:
            return ""
        _, label, _ = STEPS[self.step]
        r = self.result.request
        made = "the model's numbers" if r.source.caps.trained else "hand-built numbers"
        return settings_caption(r, [f"step {label} of {len(STEPS)}", made])

    def export_data(self) -> dict:
        if self.result is None:
            return {}
        res, r = self.result, self.result.request
        h, t = r.head, self.result.trace
        if not r.source.caps.has_qkv:
            return {}
        key = STEPS[self.step][0]
        own_w = r.source.caps.editable  # a model's W stay in its files
        return {
            f"step_{key}": self.step_matrix(res),  # first: what the panel shows now (CSV)
            f"step_{key}_rows": list(r.tokens),
            "tokens": list(r.tokens),
            "features": list(r.feature_names),
            "X": r.x, **({"Wq": r.wq[h], "Wk": r.wk[h], "Wv": r.wv[h]} if own_w else {}),
            "Q": res.q[h], "K": res.k[h], "V": res.v[h],
            "scores": t.scores, "scaled_scores": t.scaled_scores,
            "masked_scores": t.masked_scores, "weights": t.weights, "output": t.output,
        }  # fmt: skip

    def step_matrix(self, result: Result, step: int | None = None):
        """The matrix shown at a step, straight from the core's trace."""
        key = STEPS[self.step if step is None else step][0]
        t = result.trace
        return {
            "scores": t.scores,
            "scaled": t.scaled_scores,
            "masked": t.masked_scores,
            "weights": t.weights,
            "output": t.output,
        }[key]

    @staticmethod
    def _scale_note(result: Result) -> str:
        r = result.request
        if not r.source.caps.trained:
            return ""
        hidden = f"; {', '.join(dict.fromkeys(r.hidden_tokens))} hidden, rows renormalised" if (
            r.hidden_tokens) else ""  # fmt: skip
        return f"; layer {r.layer + 1} of the real model{hidden}"

    def _draw_step(self, result: Result) -> None:
        r = result.request
        if not r.source.caps.has_qkv:
            return
        key, label, what = STEPS[self.step]
        cap = result.trace.softcap
        bias = result.logit_bias
        if key == "scaled" and cap is not None:  # Gemma 2: the model soft-caps its logits
            label = f"2 · scale, cap at ±{cap:g}"
            what = f"scaled, then soft-capped: {cap:g}·tanh(score / {cap:g}) (and ÷ T)"
        if key == "scaled" and bias is not None and result.trace.scale == 1:
            label, what = "2 · ÷ T", "not divided by √d_k: the model (T5) scales its logits by 1"
        if key == "masked" and bias is not None:  # T5: a learned bias per relative distance
            label = "3 · + position bias, mask"
            what = "plus the model's relative position bias (÷ T), −∞ where a key may not be seen"
        d_k = result.q.shape[2]
        matrix = self.step_matrix(result)
        cols = r.tokens if key != "output" else tuple(f"d{i + 1}" for i in range(matrix.shape[1]))
        self.step_table.model.diverging = key != "weights"
        self.step_table.set_title(f"{label}: {what}")
        self.step_table.set_matrix(matrix, r.tokens, cols)
        mask = "causal mask" if r.causal else "no mask"
        if r.window is not None:
            mask += f", window of {r.window}"
        logits = "Q·Kᵀ / √d_k" if cap is None else f"{cap:g}·tanh(Q·Kᵀ·s / {cap:g})"
        scale = (
            f"d_k = {d_k} (√d_k = {math.sqrt(d_k):.3f}"
            if cap is None
            else f"s = {result.trace.scale:.4g} (the model's query scale"
        )
        if bias is not None:  # T5: Q·Kᵀ·s + B, B looked up by each pair's relative distance
            logits = "Q·Kᵀ·s + B"
            scale = (
                f"s = {result.trace.scale:.4g}, B the relative position bias of this head "
                f"({float(bias.min()):.2f} to {float(bias.max()):.2f}"
            )
        self.formula.setText(
            f"softmax(mask({logits} / T))·V with {scale}{self._scale_note(result)}), "
            f"T = {r.temperature:g}, {mask}; head {r.head + 1}: {r.head_names[r.head]}."
        )


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(QKVStepsPanel))
