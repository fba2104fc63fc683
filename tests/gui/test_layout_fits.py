"""Layouts that fit (issue 12, item 2): at projector sizes the window fits the screen, and no
plot is squeezed below a legible size — a dock too small for its panel scrolls instead."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.lifetime import settle

SIZES = [(1280, 720), (1366, 768)]
MIN_PLOT = (200, 150)  # px: smaller than this, a plot's labels and numbers are unreadable


@pytest.fixture(
    params=[(s, p) for s in SIZES for p in (False, True)],
    ids=lambda v: f"{v[0][0]}x{v[0][1]}-{'presenter' if v[1] else 'normal'}",
)
def sized_window(request, make_window):
    size, presenter = request.param
    return make_window(size, presenter), size


def test_the_window_fits_the_screen(sized_window):
    win, (w, h) = sized_window
    assert (win.width(), win.height()) == (w, h)
    assert win.minimumSizeHint().height() <= h


def test_no_plot_is_squeezed_with_any_panel_in_front(sized_window):
    win, _ = sized_window
    squeezed = []
    for pid, dock in win.docks.items():
        dock.show()
        dock.raise_()
        settle()
        panel = win.panel(pid)
        panel.ensure_drawn()
        for tabs in [None, *panel.findChildren(QtWidgets.QTabWidget)]:
            for i in range(tabs.count() if tabs is not None else 1):
                if tabs is not None:
                    tabs.setCurrentIndex(i)
                    settle()
                for view in panel.findChildren(pg.GraphicsView):
                    if view.isVisible() and (view.width() < MIN_PLOT[0]
                                             or view.height() < MIN_PLOT[1]):  # fmt: skip
                        squeezed.append((pid, view.width(), view.height()))
    assert not squeezed, f"{len(squeezed)} plots below {MIN_PLOT}: {squeezed[:6]}"


def test_matrix_cells_and_headers_fit_their_numbers_and_tokens(sized_window):
    """Issue 12: a fixed 56 px column printed "0.…" and cut headers ("nimat") at 18 pt."""
    from attnviz.gui.widgets.matrix_table import MatrixTable

    win, _ = sized_window
    panel = win.panel("qkv_steps")
    win.docks["qkv_steps"].show()
    win.docks["qkv_steps"].raise_()
    settle()
    panel.ensure_drawn()
    cut = []
    for table in panel.findChildren(MatrixTable):
        view, model = table.view, table.model
        fm = QtGui.QFontMetrics(QtWidgets.QApplication.font())
        for j in range(min(model.columnCount(), 12)):
            room = view.columnWidth(j) - 4
            header = model.headerData(j, QtCore.Qt.Orientation.Horizontal)
            if fm.horizontalAdvance(header) > room:
                cut.append((header, room))
            for i in range(min(model.rowCount(), 6)):
                text = model.data(model.index(i, j))
                if fm.horizontalAdvance(text) > room:
                    cut.append((text, room))
    assert not cut, f"{len(cut)} cells or headers do not fit: {cut[:6]}"


def test_every_toolbar_control_is_on_screen_not_behind_the_overflow(sized_window):
    """Issue 12: at 1366x768 the toolbar hid Head and Causal mask behind "»"."""
    win, _ = sized_window
    settle()
    for name in ("model_picker", "text_input", "layer_selector", "head_selector"):
        assert win.findChild(QtWidgets.QWidget, name).isVisible(), name
    assert win.causal_box.isVisible()
    assert win.scene_box.isVisible()


def test_leaving_full_screen_gives_back_a_maximised_window(make_window):
    win = make_window("maximized")
    win.set_full_screen(True)
    win.set_full_screen(False)
    assert win.isMaximized() and not win.isFullScreen()


def test_dock_tabs_keep_their_whole_titles(sized_window):
    """Issue 12: at 1280 px in presenter type the dock tabs read "Causal …"."""
    win, _ = sized_window
    settle()
    bars = [b for b in win.findChildren(QtWidgets.QTabBar) if b.parent() is win and b.isVisible()]
    assert bars
    for bar in bars:
        fm = bar.fontMetrics()
        for i in range(bar.count()):
            text = bar.tabText(i)
            assert bar.elideMode() == QtCore.Qt.TextElideMode.ElideNone, text
            assert bar.tabRect(i).width() >= fm.horizontalAdvance(text), text


def test_causal_mask_heatmaps_are_whole_with_their_colour_bars(sized_window):
    """Issue 12: the causal-mask step cut the right-hand heatmaps and their colour bars off."""
    win, _ = sized_window
    win.docks["causal_mask"].show()
    win.docks["causal_mask"].raise_()
    settle()
    panel = win.panel("causal_mask")
    panel.ensure_drawn()
    settle()
    for h in panel.maps:
        bar = h.colorbar.sceneBoundingRect()
        assert bar.right() <= h.width() + 1, (h.plot.titleLabel.text, bar.right(), h.width())
        assert h.height() >= 300 and h.width() >= 280
