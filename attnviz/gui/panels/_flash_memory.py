"""The flash panel's first page: memory against N, where the arrays live, and a live
measurement of both paths on a pool thread."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.flow import FlowRow
from attnviz.gui.widgets.memory_diagram import Chip, MemoryDiagram, MemoryRow
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.gui.worker import Outcome, start_worker, wait_for_workers
from attnviz.state.measure import Cancelled, Measurement, human_bytes, measure_attention
from attnviz.state.views.flash_attention import (
    CURVE_N,
    DTYPES,
    GPU_TILE,
    SEED_N,
    FlashData,
)

__all__ = ["MemoryPage"]

# A100 figures from the FlashAttention paper (Dao et al., 2022, Figure 1).
HBM_CAPTION = "HBM, the GPU's main memory\nA100: 40 GB at 1.5 TB/s"
SRAM_CAPTION = "SRAM, on-chip\n20 MB at 19 TB/s"


def _bytes_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Log-axis ticks at powers of 1024 (and 32×) between lo and hi bytes."""
    ticks = []
    for p in range(0, 60, 5):
        b = 2.0**p
        if lo / 2 <= b <= hi * 2:
            ticks.append((np.log10(b), human_bytes(b).replace(".0 ", " ")))
    return ticks


def _n_label(n: int) -> str:
    return f"{n // 1024}K" if n >= 1024 and n % 1024 == 0 else str(n)


class MemoryPage:
    """Flash-panel part: the memory page (building, drawing, the live measurement)."""

    # -- building ------------------------------------------------------------------------------
    def _spin(self, field: str, lo: int, hi: int, tip: str) -> QtWidgets.QSpinBox:
        spin = self.spins[field] = self.bound_spin(self.params, field, lo, hi, tip)
        return spin

    def _build_memory_page(self) -> QtWidgets.QWidget:
        self.spins: dict[str, QtWidgets.QSpinBox] = {}
        page = QtWidgets.QWidget()
        left_w, mid_w = QtWidgets.QWidget(), QtWidgets.QWidget()
        left = QtWidgets.QVBoxLayout(left_w)
        left.setContentsMargins(0, 0, 0, 0)
        controls = FlowRow()  # wraps in a narrow dock instead of widening the panel
        controls.add("N", self._spin("n", 0, 1 << 20, "Sequence length for the accounting"))
        controls.add("head dim", self._spin("head_dim", 0, 1024, "Width of one head, d"))
        self.dtype_box = QtWidgets.QComboBox()
        self.dtype_box.setObjectName("flash_dtype")
        for name, nbytes in DTYPES.items():
            self.dtype_box.addItem(f"{name} ({nbytes} B)", name)
        self.bind_choice(self.params, "dtype", self.dtype_box)
        controls.add(None, self.dtype_box)
        left.addWidget(controls)
        self.curve_plot = pg.PlotWidget(title="memory of one head's attention (log–log)")
        self.curve_plot.setObjectName("memory_curves")
        self.curve_plot.setMenuEnabled(False)
        self.curve_plot.getPlotItem().hideButtons()
        self.curve_plot.setMouseEnabled(False, False)
        self.curve_plot.setLogMode(True, True)
        self.curve_plot.setLabel("bottom", "sequence length N")
        self.curve_plot.setMinimumSize(260, 160)
        self.curve_legend = self.curve_plot.addLegend(offset=(8, 4), labelTextSize="8pt")
        self.curve_standard = self.curve_plot.plot(name="standard: Q, K, V, O + N×N")
        self.curve_flash = self.curve_plot.plot(name="flash: Q, K, V, O + one lse per row")
        self.n_marker = pg.ScatterPlotItem(size=9)
        self.curve_plot.addItem(self.n_marker)
        self.n_line = pg.InfiniteLine(angle=90)
        self.curve_plot.addItem(self.n_line)
        left.addWidget(self.curve_plot, 1)
        self.readout = QtWidgets.QLabel()
        self.readout.setObjectName("memory_readout")
        self.readout.setWordWrap(True)
        self.readout.setTextFormat(QtCore.Qt.TextFormat.RichText)
        left.addWidget(self.readout)

        mid = QtWidgets.QVBoxLayout(mid_w)
        mid.setContentsMargins(0, 0, 0, 0)
        self.diagram = MemoryDiagram()
        self.diagram.setObjectName("memory_diagram")
        mid.addWidget(self.diagram, 1)
        self.assumptions = QtWidgets.QLabel()
        self.assumptions.setObjectName("assumptions")
        self.assumptions.setWordWrap(True)
        self.assumptions.setTextFormat(QtCore.Qt.TextFormat.RichText)

        right = QtWidgets.QGroupBox("Measure it here")
        right.setObjectName("measure_box")
        rl = QtWidgets.QVBoxLayout(right)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("N"))
        row.addWidget(self._spin("measure_n", 0, 1 << 24, "Sequence length to measure"), 1)
        rl.addLayout(row)
        buttons = QtWidgets.QHBoxLayout()
        self.run_button = QtWidgets.QPushButton("Measure")
        self.run_button.setObjectName("measure_run")
        self.run_button.setToolTip("Time both paths on one float32 head, off the GUI thread")
        self.run_button.clicked.connect(self.start_measurement)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("measure_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_measurement)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        rl.addLayout(buttons)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("measure_progress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        rl.addWidget(self.progress)
        self.measure_text = QtWidgets.QLabel(
            "Times the standard path (keeping the N×N weights) and the flash path on the "
            "active backend, three runs each."
        )
        self.measure_text.setObjectName("measure_status")
        self.measure_text.setWordWrap(True)
        self.measure_text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.measure_text.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.measure_text.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        rl.addWidget(self.measure_text, 1)
        # No fixed width: an explicit minimum replaced its buttons' own, and in presenter
        # type "Measure" was cut. It takes no more than it asks for; the others share the rest.
        right.setSizePolicy(QtWidgets.QSizePolicy.Policy.Maximum,
                            QtWidgets.QSizePolicy.Policy.Preferred)  # fmt: skip
        # The curves, the diagram and the measurement side by side; the curves above the
        # other two when the three do not fit (presenter type at 1280 px).
        grid = ReflowGrid(
            [[[left_w, mid_w, right]], [[left_w], [mid_w, right]], [[left_w], [mid_w], [right]]]
        )
        page_layout = QtWidgets.QVBoxLayout(page)
        page_layout.setContentsMargins(0, 4, 0, 0)
        page_layout.addLayout(grid, 1)
        # Below the three, the page's width: beside the diagram its wrapped lines took the
        # diagram's height (a grid row does not count a paragraph's wrapped height).
        page_layout.addWidget(self.assumptions)
        self.memory_grid = self.reflow(grid)
        return page

    def _draw_memory(self, data: FlashData) -> None:
        tm = theme_manager().theme
        p = data.params
        self.curve_plot.setBackground(tm.plot_background)
        self.curve_standard.setData(
            data.curve_n, data.curve_standard, pen=pg.mkPen(tm.accent, width=2)
        )
        self.curve_flash.setData(
            data.curve_n, data.curve_flash, pen=pg.mkPen(tm.highlight, width=2)
        )
        c = data.cost
        self.n_marker.setData(
            [np.log10(c.n)] * 2, [np.log10(c.standard_bytes), np.log10(c.flash_bytes)],
            brush=[pg.mkBrush(tm.accent), pg.mkBrush(tm.highlight)], pen=pg.mkPen(None),
        )  # fmt: skip
        self.n_line.setPos(np.log10(c.n))
        self.n_line.setPen(pg.mkPen(tm.mid, style=QtCore.Qt.PenStyle.DashLine))
        lo = float(min(data.curve_flash.min(), c.flash_bytes))
        hi = float(max(data.curve_standard.max(), c.standard_bytes))
        self.curve_plot.getAxis("left").setTicks([_bytes_ticks(lo, hi)])
        ns = sorted({*(int(n) for n in CURVE_N[::2]), c.n})
        self.curve_plot.getAxis("bottom").setTicks([[(np.log10(n), _n_label(n)) for n in ns]])
        s = data.seed_cost
        self.readout.setText(
            f"<b>N = {c.n:,}, d = {p.head_dim}, {p.dtype}, one head:</b> standard "
            f"{human_bytes(c.standard_bytes)} (N×N: {human_bytes(c.standard_extra_bytes)}), "
            f"flash {human_bytes(c.flash_bytes)} (log-sum-exp: "
            f"{human_bytes(c.flash_extra_bytes)}); <b>{c.ratio:.1f}×</b>. "
            f"Both do {c.flops / 1e9:.3g} GFLOP.<br>"
            f"<i>The often-quoted “32 MB against 3 MB”</i> (N = {SEED_N:,}, fp16): N×N = "
            f"{human_bytes(s.standard_extra_bytes)} (its “32 MB”); flash keeps "
            f"{human_bytes(s.flash_extra_bytes)} of lse; with Q, K, V, O "
            f"({human_bytes(s.qkvo_bytes)} at d = {s.head_dim}) that is "
            f"{human_bytes(s.standard_bytes)} against {human_bytes(s.flash_bytes)}, "
            f"{s.ratio:.1f}× (the quote's 3 MB and 10.7× are not derived in it)."
        )
        self.assumptions.setText(
            "<small><b>Assumptions.</b> "
            + data.assumptions.replace("\n  ", " ").replace("\n- ", "<br>• ").lstrip("- ")
            + "</small>"
        )
        db = DTYPES[p.dtype]
        size = human_bytes
        qkv = size(c.n * p.head_dim * db)
        nn = size(c.n * c.n * db)
        tile = f"{GPU_TILE}×{p.head_dim}"
        rows = (
            MemoryRow(
                "Standard",
                (Chip("Q", qkv), Chip("K", qkv), Chip("V", qkv), Chip("O", qkv),
                 Chip("S = QKᵀ", nn, True), Chip("P", nn, True)),
                (Chip("blocks of S, P", "in transit"),),
                "S and P written out, read back",
            ),
            MemoryRow(
                "Flash",
                (Chip("Q", qkv), Chip("K", qkv), Chip("V", qkv), Chip("O", qkv),
                 Chip("lse", size(c.n * 4))),
                (Chip("Qᵢ, Kⱼ, Vⱼ", tile), Chip("Sᵢⱼ", f"{GPU_TILE}×{GPU_TILE}"),
                 Chip("m, l, acc", "per row"), Chip("one tile", size(data.gpu_tile_bytes))),
                "only Q, K, V in and O out",
            ),
        )  # fmt: skip
        self.diagram.set_rows(rows, HBM_CAPTION, SRAM_CAPTION)

    # -- live measurement ----------------------------------------------------------------------
    @property
    def measuring(self) -> bool:
        return self._measuring

    def start_measurement(self) -> bool:
        """Start timing both paths at the chosen N on a pool thread; False if refused."""
        if self.measuring:
            return False
        self._cancel.clear()
        self._measuring = True
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.measure_text.setText(f"Measuring N = {self.params.measure_n:,} …")
        start_worker(
            measure_attention, n=self.params.measure_n, head_dim=self.params.head_dim,
            backend=self.session.backend, cancel=self._cancel.is_set,
            progress=self._measure_progress.emit, on_done=self._on_measured,
        )  # fmt: skip
        return True

    def cancel_measurement(self) -> None:
        """Ask the running measurement to stop at its next step."""
        if self.measuring:
            self._cancel.set()
            self.measure_text.setText("Cancelling after the current run …")

    def stop_measurement(self, msecs: int = 30_000) -> bool:
        """Cancel and wait for the worker (shutdown, tests)."""
        self._cancel.set()
        return wait_for_workers(msecs)

    @QtCore.Slot(object)
    def _on_measured(self, outcome: Outcome) -> None:
        if outcome.error is None:
            self._on_finished(outcome.value)
        elif isinstance(outcome.error, Cancelled):
            self._on_cancelled()
        else:
            self._on_failed(outcome.detail)

    def _end(self, outcome: str) -> None:
        self._measuring = False
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.measurement_done.emit(outcome)

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(round(1000 * fraction))
        self.measure_text.setText(text)

    def _on_finished(self, m: Measurement) -> None:
        self.measurement = m
        self.progress.setValue(1000)
        self.measure_text.setText(self.measurement_html(m))
        self.measure_text.setToolTip(f"{m.backend}: {m.backend_reason}")
        self._end("finished")

    def _on_cancelled(self) -> None:
        self.progress.setValue(0)
        self.measure_text.setText("Measurement cancelled; nothing was kept.")
        self._end("cancelled")

    def _on_failed(self, detail: str) -> None:
        self.progress.setValue(0)
        self.measure_text.setText(f"The measurement failed: {detail}")
        self.show_message(detail)
        self._end("failed")

    @staticmethod
    def measurement_html(m: Measurement) -> str:
        rows = "".join(
            f"<tr><td>{p.method}</td><td align=right>{p.seconds * 1000:.1f} ms</td>"
            f"<td align=right>{human_bytes(p.peak_bytes)}</td>"
            f"<td align=right>{human_bytes(p.predicted_extra_bytes)}</td></tr>"
            for p in (m.standard, m.flash)
        )
        return (
            f"<b>N = {m.n:,}, d = {m.head_dim}, float32</b>, best of {m.repeats}:"
            "<table cellspacing=0 cellpadding=2><tr><th align=left>path</th><th>time</th>"
            f"<th>peak</th><th>extra (model)</th></tr>{rows}</table>"
            f"max |flash − standard| = {m.max_abs_diff:.1e}<br>"
            f"<small>On {m.backend}; peak is {m.note}. "
            + (
                "NumPy's flash path works in tiles of up to 256 × 4,096 scores: they stand in "
                "for SRAM, so its peak stays nearly flat as N grows while the standard one "
                "grows as N²."
                if m.backend == "numpy"
                else ""
            )
            + "</small>"
        )
