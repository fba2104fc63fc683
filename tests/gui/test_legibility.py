"""Generic legibility (issue 12, tests): the real window at 1280 x 720 and 1920 x 1080, normal
and presenter, light and dark; every panel brought forward in turn, every sub-tab opened. No
label, button, check box, combo box or tab shows less than its whole text; no widget text or
plot text is smaller than a stated size (larger in presenter mode)."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtWidgets

from attnviz.gui.app import settle
from attnviz.gui.main_window import MainWindow
from attnviz.gui.theme import theme_manager

# (size, presenter, theme): each size, mode and theme twice
CASES = [
    ((1280, 720), False, "light"),
    ((1280, 720), True, "dark"),
    ((1920, 1080), False, "dark"),
    ((1920, 1080), True, "light"),
]
MIN_PT = {False: 9.0, True: 14.0}  # the smallest text anywhere, normal and presenter


@pytest.fixture(
    params=CASES, ids=lambda c: f"{c[0][0]}x{c[0][1]}-{'presenter' if c[1] else 'normal'}-{c[2]}"
)
def window(request, make_window):
    size, presenter, theme = request.param
    return make_window(size, presenter, theme), presenter


def shown(w: QtWidgets.QWidget) -> bool:
    return w.isVisible() and w.width() > 0


def text_room(w: QtWidgets.QWidget) -> tuple[str, float, float] | None:
    """(text, pixels it needs, pixels it has) for a one-line text widget; None if it wraps."""
    fm = w.fontMetrics()
    if isinstance(w, QtWidgets.QLabel):
        if w.wordWrap() or not w.text() or w.textFormat() == QtCore.Qt.TextFormat.RichText:
            return None
        if QtCore.Qt.mightBeRichText(w.text()) and w.textFormat() != QtCore.Qt.TextFormat.PlainText:
            return None
        need = max(fm.horizontalAdvance(line) for line in w.text().split("\n"))
        return w.text(), need, w.contentsRect().width() - 2 * w.margin() - 2 * w.indent()
    if isinstance(w, QtWidgets.QComboBox) and w.count():
        opt = QtWidgets.QStyleOptionComboBox()
        w.initStyleOption(opt)
        field = w.style().subControlRect(
            QtWidgets.QStyle.ComplexControl.CC_ComboBox, opt,
            QtWidgets.QStyle.SubControl.SC_ComboBoxEditField, w,
        )  # fmt: skip
        return w.currentText(), fm.horizontalAdvance(w.currentText()), field.width()
    if (
        isinstance(w, QtWidgets.QAbstractButton)
        and w.text()
        and not isinstance(w, QtWidgets.QToolButton)
    ):
        return w.text(), w.sizeHint().width(), w.width()
    return None


def clipped_texts(root: QtWidgets.QWidget) -> list[tuple[str, str, float, float]]:
    out = []
    for w in root.findChildren(QtWidgets.QWidget):
        if not shown(w):
            continue
        room = text_room(w)
        if room is not None and room[1] > room[2] + 1:
            out.append((type(w).__name__, *room))
    for bar in root.findChildren(QtWidgets.QTabBar):
        if shown(bar):
            fm = bar.fontMetrics()
            for i in range(bar.count()):
                if bar.tabRect(i).width() < fm.horizontalAdvance(bar.tabText(i)):
                    out.append(("tab", bar.tabText(i), fm.horizontalAdvance(bar.tabText(i)),
                                bar.tabRect(i).width()))  # fmt: skip
    return out


def small_texts(root: QtWidgets.QWidget, least: float) -> list[tuple[str, str, float]]:
    out = []
    for w in root.findChildren(QtWidgets.QWidget):
        if shown(w) and isinstance(w, QtWidgets.QLabel | QtWidgets.QAbstractButton |
                                   QtWidgets.QComboBox | QtWidgets.QLineEdit):  # fmt: skip
            pt = w.font().pointSizeF()
            if 0 < pt < least:
                out.append((type(w).__name__, getattr(w, "text", lambda: "")(), pt))
    for view in root.findChildren(pg.GraphicsView):
        if not shown(view) or view.scene() is None:
            continue
        for item in view.scene().items():
            if not item.isVisible():
                continue
            if isinstance(item, pg.AxisItem) and item.style.get("showValues", True):
                font = getattr(item, "label_font", None) or item.style.get("tickFont")
                if font is not None and 0 < font.pointSizeF() < least * 0.7:
                    out.append(("axis", item.orientation, font.pointSizeF()))
            elif isinstance(item, pg.TextItem):
                pt = item.textItem.font().pointSizeF()
                if 0 < pt < least:
                    out.append(("text item", item.textItem.toPlainText(), pt))
    return out


def every_view(win: MainWindow):
    """Each panel in front, then each of its sub-tabs: yields (where, panel)."""
    for pid in win.docks:
        win.show_panels([pid])
        settle()
        panel = win.panel(pid)
        panel.ensure_drawn()
        settle()
        yield pid, panel
        for tabs in panel.findChildren(QtWidgets.QTabWidget):
            first = tabs.currentIndex()
            for i in range(tabs.count()):
                if i != first:
                    tabs.setCurrentIndex(i)
                    settle()
                    yield f"{pid} › {tabs.tabText(i)}", panel
            tabs.setCurrentIndex(first)


def test_no_text_is_clipped_anywhere(window):
    win, _ = window
    clipped = []
    for where, panel in every_view(win):
        clipped += [(where, *c) for c in clipped_texts(panel)]
    clipped += [("window", *c) for c in clipped_texts(win) if c not in clipped]
    assert not clipped, f"{len(clipped)} texts cut: {clipped[:8]}"


def test_no_text_is_smaller_than_the_stated_size(window):
    win, presenter = window
    least = MIN_PT[presenter]
    assert theme_manager().font_pt >= least
    small = []
    for where, panel in every_view(win):
        small += [(where, *s) for s in small_texts(panel, least)]
    assert not small, f"{len(small)} texts below {least} pt: {small[:8]}"


def test_a_scene_set_by_a_lesson_fits_its_box(window):
    """The lesson sets the scene with the box's signals blocked: it was cut mid-word."""
    win, _ = window
    win.start_lesson(1, 0)  # the four-token Q/K/V scene
    settle()
    assert win.session.scene == "qkv4"
    assert not [c for c in clipped_texts(win) if c[0] == "QComboBox"]
