"""One typography and theme source (issue 12, item 1): a theme switch restyles every existing
plot, and one font size sets every text in every plot."""

from __future__ import annotations

import pyqtgraph as pg
import pytest

from attnviz.gui.theme import THEMES, theme_manager


def plot_texts(window):
    """(panel, what, colour, point size) of every visible text and background in every plot."""
    for pid in window.docks:
        panel = window.panel(pid)
        panel.ensure_drawn()
        for view in panel.findChildren(pg.GraphicsView):
            yield pid, "background", view.backgroundBrush().color().name(), None
            titles = {id(i.titleLabel) for i in view.scene().items() if isinstance(i, pg.PlotItem)}
            for item in view.scene().items():
                if not item.isVisible():
                    continue
                if isinstance(item, pg.AxisItem):
                    yield pid, "ticks", item.textPen().color().name(), item.style["tickFont"]
                    if item.label.isVisible():
                        colour = pg.mkColor(item.labelStyle.get("color", "#000")).name()
                        size = item.labelStyle.get("font-size")
                        yield pid, "axis title", colour, size
                elif isinstance(item, pg.LabelItem) and item.text:
                    colour = pg.mkColor(item.opts.get("color") or "#000").name()
                    kind = "title" if id(item) in titles else "label"
                    yield pid, kind, colour, item.opts.get("size")


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_theme_switch_recolours_every_existing_plot(window, theme):
    for pid in window.docks:  # every plot exists before the switch
        window.panel(pid).ensure_drawn()
    window.set_theme("dark" if theme == "light" else "light")
    window.set_theme(theme)
    t = THEMES[theme]
    wrong = []
    for pid, what, colour, _ in plot_texts(window):
        want = t.plot_background if what == "background" else t.plot_foreground
        if colour != want:
            wrong.append((pid, what, colour))
    assert not wrong, f"{len(wrong)} plot texts or backgrounds kept the old theme: {wrong[:5]}"


def test_one_font_size_sets_every_plot_text(window):
    window.set_font_size(18)
    ty = theme_manager().typography
    assert (ty.title, ty.label, ty.tick) == (22, 18, 18)
    wrong = []
    for pid, what, _, size in plot_texts(window):
        want = {"ticks": ty.tick, "axis title": f"{ty.label}pt", "title": f"{ty.title}pt",
                "label": f"{ty.label}pt", "background": None}[what]  # fmt: skip
        got = size.pointSize() if what == "ticks" else size
        if got != want:
            wrong.append((pid, what, got))
    assert not wrong, f"{len(wrong)} plot texts not at the typography's size: {wrong[:5]}"
    window.set_font_size(10)


def test_an_unchecked_box_is_visible_on_the_dark_theme(qtbot):
    """Issue 12 review: Fusion drew the box a shade darker than the dark window: invisible."""
    from PySide6 import QtGui, QtWidgets

    from attnviz.gui.theme import theme_manager

    theme_manager().apply(theme="dark")
    try:
        box = QtWidgets.QCheckBox("causal")
        qtbot.addWidget(box)
        box.resize(box.sizeHint())
        img = box.grab().toImage()
        window = QtGui.QColor(theme_manager().theme.window).lightness()
        opt = QtWidgets.QStyleOptionButton()
        box.initStyleOption(opt)
        rect = box.style().subElementRect(
            QtWidgets.QStyle.SubElement.SE_CheckBoxIndicator, opt, box
        )
        ring = [img.pixelColor(x, y).lightness()  # the box's top and bottom edges
                for y in (rect.top(), rect.bottom())
                for x in range(rect.left() + 2, rect.right() - 1)]  # fmt: skip
        assert max(abs(v - window) for v in ring) > 50
    finally:
        theme_manager().apply(theme="light")
