"""Flash attention: memory against N, where the arrays live, a live measurement, and the tiling
animated with the core's own running max, sum and rescale factor. One page per module:
_flash_memory (memory and measurement), _flash_tiling (the tiling)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from attnviz.gui.panels._flash_memory import MemoryPage
from attnviz.gui.panels._flash_tiling import PLAY_INTERVAL_MS, TilingPage
from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.state.measure import Measurement
from attnviz.state.request import Result
from attnviz.state.views import ViewError
from attnviz.state.views.flash_attention import FlashData, FlashParams

__all__ = ["FlashAttentionPanel"]


def _rows(arrays: list[np.ndarray], width: int) -> np.ndarray:
    out = np.full((len(arrays), width), np.nan)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


@register_panel
class FlashAttentionPanel(MemoryPage, TilingPage, Panel):
    panel_id = "flash_attention"
    order = 110
    title = "Flash attention"
    default_area = Area.BottomDockWidgetArea

    measurement_done = QtCore.Signal(str)  # "finished", "cancelled" or "failed"
    _measure_progress = QtCore.Signal(float, str)  # emitted by the measurement's worker

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.params: FlashParams = self.session.view_params[self.panel_id]
        self.tile_step = 0
        self.measurement: Measurement | None = None
        self._cancel = threading.Event()
        self._measuring = False
        self._measure_progress.connect(self._on_progress)  # queued from the worker thread
        self.pages = QtWidgets.QTabWidget()
        self.pages.setObjectName("flash_pages")
        self.pages.setDocumentMode(True)
        self.pages.addTab(self._build_memory_page(), "Memory against N")
        self.pages.addTab(self._build_tiling_page(), "Tiling, step by step")
        self.body.addWidget(self.pages, 1)
        self.timer = QtCore.QTimer(self, interval=PLAY_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        app = QtCore.QCoreApplication.instance()
        if app is not None:  # never leave a measurement running under a closing app
            app.aboutToQuit.connect(self.stop_measurement)

    # -- drawing -------------------------------------------------------------------------------
    def _data(self) -> FlashData | None:
        data = None if self.result is None else self.result.views.get(self.panel_id)
        return data if isinstance(data, FlashData) else None

    def draw(self, result: Result) -> None:
        data = result.views.get(self.panel_id)
        if not isinstance(data, FlashData):
            self.show_message(data.message if isinstance(data, ViewError) else "no data")
            return
        self._draw_memory(data)
        self.tile_step = min(self.tile_step, max(len(data.tiles) - 1, 0))
        self._draw_tiles(data)

    def figure_parts(self) -> list[list]:
        if self.pages.currentIndex() == 0:
            # The diagram gets the page's width (its boxes hold every array whole); the
            # assumptions stay on screen.
            return [[self.curve_plot, self.readout.text()], [self.diagram]]
        return [[(self.grid, 3), (self.state_table.text(), 2)], [self.step_text.text()]]

    def figure_caption(self) -> str:
        p = self.params
        if self.pages.currentIndex() == 0:
            return f"one head · N = {p.n:,} tokens · head dimension {p.head_dim} · {p.dtype}"
        mask = "causal" if p.causal else "no mask"
        return (
            f"{p.tile_n} tokens in tiles of {p.block_q} queries × {p.block_k} keys · {mask} · "
            f"random numbers, seed {p.seed}"
        )

    def export_data(self) -> dict[str, Any]:
        data = self._data()
        if data is None:
            return {}
        out: dict[str, Any] = {
            "n": data.curve_n.astype(np.int64),
            "standard_bytes": data.curve_standard,
            "flash_bytes": data.curve_flash,
            "assumptions": [data.assumptions],
            "tile_q_block": np.array([t.q_block for t in data.tiles]),
            "tile_k_block": np.array([t.k_block for t in data.tiles]),
            # One row per step; the last Q tile may be shorter, its missing rows are NaN.
            "tile_m_after": _rows([t.m_after for t in data.tiles], data.params.block_q),
            "tile_l_after": _rows([t.l_after for t in data.tiles], data.params.block_q),
            "tile_alpha": _rows([t.alpha for t in data.tiles], data.params.block_q),
            "example_max_abs_diff": np.array([data.max_abs_diff]),
        }
        m = self.measurement
        if m is not None:
            out["measured"] = ["standard", "flash"]
            out["measured_seconds"] = np.array([m.standard.seconds, m.flash.seconds])
            out["measured_peak_bytes"] = np.array([m.standard.peak_bytes, m.flash.peak_bytes])
            out["measured_n"] = np.array([m.n])
        return out


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(FlashAttentionPanel))
