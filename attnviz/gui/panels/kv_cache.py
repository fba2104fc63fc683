"""KV cache: a calculator by head layout (MHA / GQA / MQA), who shares what, a toy decode, and a
real model's own cache while it generates."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from superqt.utils import signals_blocked

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.heatmap import Heatmap, format_value
from attnviz.gui.widgets.labels import token_label_html
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.state.measure import human_bytes
from attnviz.state.request import Result
from attnviz.state.views import ViewError
from attnviz.state.views.kv_cache import (
    DTYPES,
    PRESETS,
    KVCacheData,
    KVCacheParams,
    Layout,
    RealCache,
)

CUSTOM = "Custom"
SETTINGS = ("layers", "q_heads", "kv_heads", "head_dim", "seq_len", "batch", "dtype")
SEQ_STEPS = tuple(1024 * 2**i for i in range(8))  # the slider's stops: 1K … 128K
LAYOUT_TEXT = {
    "MHA": "Multi-head (MHA): every query head has its own KV head",
    "GQA": "Grouped-query (GQA): a group of query heads shares a KV head",
    "MQA": "Multi-query (MQA): all query heads share one KV head",
}


def _seq_label(n: int) -> str:
    return f"{n // 1024}K" if n % 1024 == 0 else f"{n:,}"


class CacheHeatmap(Heatmap):
    """The cache's rows are tokens and its columns numbers of K or V: say so on hover."""

    def value_text(self, i: int, j: int) -> str:
        return (
            f"cached token {self.row_labels[i]}, {self.col_labels[j]}: "
            f"{format_value(float(self.matrix[i, j]))}"
        )


class HeadSharing(pg.GraphicsLayoutWidget):
    """Query heads (top) joined to the KV head each reads (bottom), one plot per layout.

    Each layout is three items: the lines (one PlotDataItem, segments as pairs), the query dots
    and the KV dots (one ScatterPlotItem each), whatever the number of heads.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.min_plot_size = (200, 300)  # at 10 pt; grows with its longest title
        self.own = "your setting"  # what the chosen layout is ("this model" while generating)
        self.plots: dict[str, pg.PlotItem] = {}
        self.lines: dict[str, pg.PlotDataItem] = {}
        self.q_dots: dict[str, pg.ScatterPlotItem] = {}
        self.kv_dots: dict[str, pg.ScatterPlotItem] = {}
        for row, name in enumerate(("MHA", "GQA", "MQA")):
            plot = self.addPlot(row=row, col=0)
            plot.hideAxis("bottom")
            plot.getAxis("left").setTicks([[(1, "Q"), (0, "KV")]])
            plot.setMouseEnabled(False, False)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setYRange(-0.25, 1.25, padding=0)
            self.lines[name] = pg.PlotDataItem(connect="pairs")
            self.q_dots[name] = pg.ScatterPlotItem(size=7)
            self.kv_dots[name] = pg.ScatterPlotItem(size=11, symbol="s")
            for item in (self.lines[name], self.q_dots[name], self.kv_dots[name]):
                plot.addItem(item)
            self.plots[name] = plot

    def set_layouts(self, layouts: tuple[Layout, ...]) -> None:
        tm = theme_manager().theme
        self.setBackground(tm.plot_background)
        for lay in layouts:
            hq = len(lay.kv_of_query)
            xq = np.arange(hq, dtype=float)
            # Each KV head sits under the middle of the query heads that read it.
            xkv = np.array([xq[lay.kv_of_query == j].mean() for j in range(lay.kv_heads)])
            seg_x = np.empty(2 * hq)
            seg_y = np.empty(2 * hq)
            seg_x[0::2], seg_x[1::2] = xq, xkv[lay.kv_of_query]
            seg_y[0::2], seg_y[1::2] = 1.0, 0.0
            colour = tm.accent if lay.chosen else tm.highlight
            self.lines[lay.name].setData(seg_x, seg_y, pen=pg.mkPen(tm.mid, width=1))
            self.q_dots[lay.name].setData(
                xq, np.ones(hq), brush=pg.mkBrush(tm.highlight), pen=pg.mkPen(None)
            )
            self.kv_dots[lay.name].setData(
                xkv, np.zeros(lay.kv_heads), brush=pg.mkBrush(colour), pen=pg.mkPen(None)
            )
            plot = self.plots[lay.name]
            mark = f"  ◀ {self.own}" if lay.chosen else ""
            title = (
                f"<b>{lay.name}</b> · {lay.kv_heads} KV head{'s' if lay.kv_heads > 1 else ''}"
                f" · {lay.human}{mark}"
            )
            # The typography's title size (style_plots keeps it there); the plot as wide as
            # its longest title needs, at 10 pt (Panel scales it with the text size).
            plot.setTitle(title, color=tm.plot_foreground)
            font = QtGui.QFont(QtWidgets.QApplication.font())
            font.setPointSize(12)
            plain = title.replace("<b>", "").replace("</b>", "")
            need = QtGui.QFontMetricsF(font).horizontalAdvance(plain) + 70
            self.min_plot_size = (max(self.min_plot_size[0], round(need)), 300)
            plot.setXRange(-0.8, hq - 0.2, padding=0)
            for ax in ("left",):
                plot.getAxis(ax).setPen(pg.mkPen(tm.plot_foreground))
                plot.getAxis(ax).setTextPen(pg.mkPen(tm.plot_foreground))


def _nearest_step(n: int) -> int:
    """The slider position nearest ``n`` tokens (on a log scale)."""
    return int(np.argmin([abs(np.log2(s / max(n, 1))) for s in SEQ_STEPS]))


@register_panel
class KVCachePanel(Panel):
    panel_id = "kv_cache"
    order = 100
    title = "KV cache (MHA / MQA / GQA)"
    default_area = Area.BottomDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.params: KVCacheParams = self.session.view_params[self.panel_id]
        # -- calculator ----------------------------------------------------------------------
        calc = QtWidgets.QVBoxLayout()
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.preset_box = QtWidgets.QComboBox()
        self.preset_box.setObjectName("preset_selector")
        self.preset_box.addItems([*PRESETS, CUSTOM])
        self.preset_box.setToolTip("Model shapes from each model's published config.json")
        self.preset_box.activated.connect(self._pick_preset)
        form.addRow("Preset", self.preset_box)
        self.spins: dict[str, QtWidgets.QSpinBox] = {}
        for field, label, hi, tip in (
            ("layers", "Layers", 1024, "Transformer layers; each keeps its own cache"),
            ("q_heads", "Query heads", 1024, "Attention heads (query side)"),
            ("kv_heads", "KV heads (GQA)", 1024, "Key/value heads; must divide the query heads"),
            ("head_dim", "Head dim", 4096, "Width of one head, d_k"),
            ("batch", "Batch", 4096, "Sequences decoded together"),
        ):
            spin = self.spins[field] = self.bound_spin(self.params, field, 0, hi, tip)
            form.addRow(label, spin)
        seq_row = QtWidgets.QHBoxLayout()
        self.seq_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.seq_slider.setObjectName("seq_len_slider")
        self.seq_slider.setRange(0, len(SEQ_STEPS) - 1)
        self.seq_slider.setPageStep(1)
        self.seq_slider.setTickPosition(QtWidgets.QSlider.TickPosition.TicksBelow)
        slider = self.seq_slider
        show = lambda n: slider.setValue(_nearest_step(n))  # noqa: E731
        self.bind(self.params, "seq_len", slider.valueChanged, show, slider, SEQ_STEPS.__getitem__)
        self.seq_spin = self.bound_spin(self.params, "seq_len", 0, int(SEQ_STEPS[-1]), "")
        self.seq_spin.setSuffix(" tokens")
        self.spins["seq_len"] = self.seq_spin
        seq_row.addWidget(self.seq_slider, 1)
        seq_row.addWidget(self.seq_spin)
        form.addRow("Sequence", seq_row)
        self.dtype_box = QtWidgets.QComboBox()
        self.dtype_box.setObjectName("dtype_selector")
        for name, nbytes in DTYPES.items():
            self.dtype_box.addItem(f"{name} ({nbytes:g} bytes)", name)
        self.bind_choice(self.params, "dtype", self.dtype_box)
        form.addRow("Number type", self.dtype_box)
        calc.addLayout(form)
        self.results = QtWidgets.QLabel()
        self.results.setObjectName("kv_results")
        self.results.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.results.setWordWrap(True)
        self.results.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        calc.addWidget(self.results)
        calc.addStretch(1)
        calc_box = QtWidgets.QWidget()
        calc_box.setObjectName("calculator")
        calc_box.setLayout(calc)  # its least size is its form's: the panel scrolls, not it
        self.calc_box = calc_box

        # -- head sharing --------------------------------------------------------------------
        self.sharing = HeadSharing()
        self.sharing.setMinimumSize(200, 150)

        # -- toy decode ----------------------------------------------------------------------
        dec_box = QtWidgets.QWidget()
        dec = QtWidgets.QVBoxLayout(dec_box)
        dec.setContentsMargins(0, 0, 0, 0)
        buttons = QtWidgets.QHBoxLayout()
        self.next_button = QtWidgets.QPushButton("Next token ▶")
        self.next_button.setObjectName("decode_next")
        self.next_button.setToolTip("Feed the next token of the text through the toy decoder")
        self.next_button.clicked.connect(self.next_token)
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reset_button.setObjectName("decode_reset")
        self.reset_button.clicked.connect(self.reset_decode)
        buttons.addWidget(QtWidgets.QLabel("<b>Toy decoder</b>"))
        buttons.addStretch(1)
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.next_button)
        dec.addLayout(buttons)
        self.decode_text = QtWidgets.QLabel()
        self.decode_text.setObjectName("decode_status")
        self.decode_text.setWordWrap(True)
        self.decode_text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        dec.addWidget(self.decode_text)
        self.cache_map = CacheHeatmap(
            x_label="layer 1's cache: K and V per KV head",
            y_label="cached token",
            levels=None,
            diverging=True,
        )
        self.cache_map.setMinimumSize(220, 130)
        self.cache_empty = QtWidgets.QLabel("Nothing cached yet: press <b>Next token</b>.")
        self.cache_empty.setObjectName("cache_empty")
        self.cache_empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.cache_stack = QtWidgets.QStackedWidget()
        self.cache_stack.addWidget(self.cache_empty)
        self.cache_stack.addWidget(self.cache_map)
        dec.addWidget(self.cache_stack, 1)

        # -- a real model's cache, while the timeline shows a generation ------------------------
        real_box = QtWidgets.QWidget()
        real_box.setObjectName("real_cache")
        real = QtWidgets.QVBoxLayout(real_box)
        real.setContentsMargins(0, 0, 0, 0)
        self.real_text = QtWidgets.QLabel()
        self.real_text.setObjectName("real_cache_text")
        self.real_text.setWordWrap(True)
        self.real_text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.real_text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        real.addWidget(self.real_text)
        self.real_map = CacheHeatmap(x_label="K and V per KV head", y_label="cached token",
                                     levels=None, diverging=True)  # fmt: skip
        self.real_map.setMinimumSize(220, 160)
        real.addWidget(self.real_map, 1)
        self.real_box = real_box
        self.decode_stack = QtWidgets.QStackedWidget()
        self.decode_stack.addWidget(dec_box)
        self.decode_stack.addWidget(real_box)
        self.dec_box = dec_box

        # Calculator, head sharing and decoder side by side; in rows when they do not fit.
        parts = calc_box, self.sharing, self.decode_stack
        row = ReflowGrid([[parts], [parts[:2], parts[2:]], [[p] for p in parts]])
        self.body.addLayout(row, 1)
        self.grid = self.reflow(row)

        self.listen(self.params.events, self._show_preset)
        self._show_preset()

    # -- input ---------------------------------------------------------------------------------
    def _pick_preset(self, index: int) -> None:
        name = self.preset_box.itemText(index)
        if name == CUSTOM:
            return
        self.try_set(lambda: self.params.apply_preset(name))
        self._show_preset()  # refused: the box names the shape that stands

    def next_token(self) -> None:
        self.try_set(lambda: setattr(self.params, "decode_tokens", self.params.decode_tokens + 1))

    def reset_decode(self) -> None:
        self.try_set(lambda: setattr(self.params, "decode_tokens", 0))

    def _show_preset(self, *_: object) -> None:
        """The preset whose shape the calculator holds, or "custom"."""
        p = self.params
        shape = (p.layers, p.q_heads, p.kv_heads, p.head_dim)
        name = next((n for n, s in PRESETS.items() if s == shape), CUSTOM)
        with signals_blocked(self.preset_box):
            self.preset_box.setCurrentText(name)

    # -- drawing -------------------------------------------------------------------------------
    def draw(self, result: Result) -> None:
        data = result.views.get(self.panel_id)
        if isinstance(data, ViewError) or data is None:
            self.show_message(data.message if data is not None else "no KV-cache data")
            return
        self.results.setText(self.results_html(data))
        real = data.real
        # While a generation is shown, the model's own cache replaces the calculator's example.
        if (self.calc_box in self.grid.hidden) != (real is not None):
            self.grid.set_shown(self.calc_box, real is None)
            self._reflow()
        self.sharing.own = "this model" if real is not None else "your setting"
        self.sharing.set_layouts(data.layouts if real is None else real.layouts)
        if real is not None:
            self.decode_stack.setCurrentWidget(self.real_box)
            self._draw_real(real)
        else:
            self.decode_stack.setCurrentWidget(self.dec_box)
            self._draw_decode(data)

    @staticmethod
    def real_html(real: RealCache) -> str:
        layouts = {lay.name: lay for lay in real.layouts}
        own = "MHA" if real.kv_heads == real.heads else "MQA" if real.kv_heads == 1 else "GQA"
        others = ", ".join(
            f"{name} {layouts[name].human.replace(' ', '&nbsp;')}"
            for name in ("MHA", "GQA", "MQA")
            if name != own and not (name == "GQA" and own == "MHA")
        )
        kind = {"MHA": "one KV head per query head", "MQA": "one KV head for all",
                "GQA": f"{real.heads // real.kv_heads} query heads share each"}[own]  # fmt: skip
        timing = ""
        if real.ms_per_token is not None:
            how = "with the cache" if real.cached else "recomputing every step"
            timing = f" Decoding took {real.ms_per_token:.1f} ms a token {how}"
            if real.pass_ms is not None:
                timing += (
                    f"; one whole pass over these {real.tokens} tokens takes {real.pass_ms:.1f} ms"
                )
            timing += "."
        return (
            f"<b>{html.escape(real.model)}'s KV cache at step {real.step} of {real.steps}</b>: "
            f"{real.tokens} tokens × {real.layers} layers × {real.kv_heads} KV heads "
            f"({kind}) × {real.head_dim} numbers × 2 (K, V) = "
            f"<b>{human_bytes(real.bytes).replace(' ', '&nbsp;')}</b> in {real.dtype} "
            f"({real.bytes:,} bytes; {real.per_token:,} more with each token). "
            f"The same model as {others}.{timing} "
            f"Layer {real.layer + 1}'s K and V below: one row per cached token."
        )

    def _draw_real(self, real: RealCache) -> None:
        hkv, s, e = real.keys.shape
        cols = [f"{kind}{h + 1}·{i}" for kind in ("K", "V") for h in range(hkv) for i in range(e)]
        k = real.keys.transpose(1, 0, 2).reshape(s, hkv * e)
        v = real.values.transpose(1, 0, 2).reshape(s, hkv * e)
        rows = [f"{t}: {tok}" for t, tok in enumerate(real.labels)]
        self.real_map.set_data(np.concatenate([k, v], axis=1), rows, cols)
        self.real_map.set_highlight_row(s - 1)
        self.real_text.setText(self.real_html(real))

    @staticmethod
    def results_html(data: KVCacheData) -> str:
        p = data.params
        mha = data.layout["MHA"].bytes
        rows = []
        for lay in data.layouts:
            style = " style='font-weight:bold'" if lay.chosen else ""
            ratio = "1×" if lay.bytes == mha else f"1/{mha // lay.bytes:,}"
            rows.append(
                f"<tr{style}><td>{lay.name}</td><td align=right>{lay.kv_heads}</td>"
                f"<td align=right>{lay.human.replace(' ', '&nbsp;')}</td>"  # "2.0 GiB" whole
                f"<td align=right>{lay.bytes:,}</td>"
                f"<td align=right nowrap>{ratio}</td></tr>"
            )
        return (
            f"<b>KV cache for {p.seq_len:,} tokens × batch {p.batch}, {p.dtype}</b>"
            "<table cellspacing=0 cellpadding=5>"
            "<tr><th align=left>layout</th><th nowrap>KV heads</th><th>size</th><th>bytes</th>"
            "<th>vs MHA</th></tr>" + "".join(rows) + "</table>"
            f"<small>2 × {p.layers} layers × KV heads × {p.head_dim} × {p.seq_len:,} tokens "
            f"× {data.dtype_bytes:g} bytes × batch {p.batch}. Your setting ({p.kv_heads} KV "
            f"heads) costs {data.bytes_per_token:,} bytes per token.</small>"
        )

    def _draw_decode(self, data: KVCacheData) -> None:
        tr = data.trace
        layers, hkv, e = data.toy_shape
        cols = [f"{kind}{h + 1}·{i}" for kind in ("K", "V") for h in range(hkv) for i in range(e)]
        steps = tr.steps
        if steps:
            # (Hkv, T, E) keys then values of layer 1 -> (T, 2*Hkv*E), one row per cached token.
            k = tr.keys[0].transpose(1, 0, 2).reshape(steps, hkv * e)
            v = tr.values[0].transpose(1, 0, 2).reshape(steps, hkv * e)
            rows = [f"{t}: {tok}" for t, tok in enumerate(data.tokens)]
            self.cache_map.set_data(np.concatenate([k, v], axis=1), rows, cols)
            self.cache_map.set_highlight_row(steps - 1)
            self.cache_stack.setCurrentWidget(self.cache_map)
        else:
            self.cache_stack.setCurrentWidget(self.cache_empty)
        limit = data.decode_limit
        self.next_button.setEnabled(steps < limit)
        self.reset_button.setEnabled(steps > 0)
        numbers = 2 * layers * hkv * e * steps
        if steps == 0:
            text = (
                "The cache is empty. <b>Next token</b> feeds "
                f"“{token_label_html(self.result.request.tokens[0])}” "
                f"through a {layers}-layer decoder with 4 query heads sharing {hkv} KV heads "
                f"(width {e}, RoPE)."
                if self.result is not None and self.result.request.tokens
                else "The cache is empty."
            )
        else:
            text = (
                f"Step {steps} of {limit}: fed “{token_label_html(data.tokens[-1])}” "
                f"(position {steps - 1}); it "
                f"computed K and V for this one token and read {steps - 1} cached ones. "
                f"The cache holds {steps} tokens × {layers} layers × {hkv} KV heads × {e} "
                f"numbers × 2 (K, V) = {numbers:,} numbers, {tr.cache_bytes:,} bytes (float64). "
                f"Cached outputs vs recomputing all {steps} from scratch: "
                f"<b>max |difference| = {tr.max_abs_diff:.1e}</b>."
            )
            if steps == limit:
                text += " Every token of the text is in; press Reset to start again."
        self.decode_text.setText(text)

    def _real(self) -> RealCache | None:
        data = self.view_data()
        return None if data is None else data.real

    def figure_parts(self) -> list[list]:
        if self._real() is not None:
            return [[self.real_text.text()], [(self.sharing, 2), (self.real_map, 5)]]
        parts: list[list] = [[(self.sharing, 5), (self.results.text(), 4)]]
        if self.params.decode_tokens > 0:
            parts += [[self.decode_text.text()], [self.cache_map]]
        return parts

    def figure_caption(self) -> str:
        real = self._real()
        if real is not None:
            return (f"{real.model}: {real.layers} layers, {real.heads} query heads, "
                    f"{real.kv_heads} KV heads of {real.head_dim} · step {real.step}, "
                    f"{real.tokens} cached tokens, {real.dtype}")  # fmt: skip
        p = self.params
        preset = self.preset_box.currentText()
        return (
            f"{preset}: {p.layers} layers, {p.q_heads} query heads, {p.kv_heads} KV heads of "
            f"{p.head_dim} dimensions · {p.seq_len:,} tokens, batch {p.batch}, {p.dtype}"
        )

    def export_data(self) -> dict[str, Any]:
        if self.result is None or isinstance(self.result.views.get(self.panel_id), ViewError):
            return {}
        data: KVCacheData = self.result.views[self.panel_id]
        if data.real is not None:
            r = data.real
            return {
                "cached_tokens": list(r.labels),
                "layer": np.array([r.layer]),
                "keys": r.keys,
                "values": r.values,
                "layout": [lay.name for lay in r.layouts],
                "bytes": np.array([lay.bytes for lay in r.layouts], dtype=np.int64),
                "model_cache_bytes": np.array([r.bytes], dtype=np.int64),
            }
        p = data.params
        tr = data.trace
        return {
            "layout": [lay.name for lay in data.layouts],
            "kv_heads": np.array([lay.kv_heads for lay in data.layouts]),
            "bytes": np.array([lay.bytes for lay in data.layouts], dtype=np.int64),
            "settings": [f"{f}={getattr(p, f)}" for f in SETTINGS],
            "decoded_tokens": list(data.tokens),
            "cache_keys": tr.keys,
            "cache_values": tr.values,
            "output_cached": tr.cached,
            "output_recomputed": tr.recomputed,
            "max_abs_diff": np.array([tr.max_abs_diff]),
        }


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(KVCachePanel))
