"""Generic legibility (issue 12, tests): the real window at 1280 x 720 and 1920 x 1080, normal
and presenter, light and dark; every panel brought forward in turn, every sub-tab opened. No
label, button, check box, combo box or tab shows less than its whole text; no widget text or
plot text is smaller than a stated size (larger in presenter mode)."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from attnviz.gui.lifetime import settle
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.token_axis import LABEL_EVERY_UP_TO, MIN_SCALE, TokenAxis
from attnviz.gui.window import MainWindow

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
    for label in root.findChildren(QtWidgets.QLabel):
        # a paragraph given fewer lines than it wraps to: its last lines are cut off
        if shown(label) and label.wordWrap() and label.text():
            need = label.heightForWidth(label.width())
            if need > label.height() + 2:
                out.append(("paragraph", label.text()[:40], need, label.height()))
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
                if font is not None and 0 < font.pointSizeF() < least * MIN_SCALE:
                    out.append(("axis", item.orientation, font.pointSizeF()))
            elif isinstance(item, pg.TextItem):
                pt = item.textItem.font().pointSizeF()
                if 0 < pt < least:
                    out.append(("text item", item.textItem.toPlainText(), pt))
    return out


def _visible_in(view: pg.GraphicsView) -> QtCore.QRectF:
    """The part of a view's scene its viewport shows."""
    return view.mapToScene(view.viewport().rect()).boundingRect()


def _clip_of(item: QtWidgets.QGraphicsItem) -> QtCore.QRectF | None:
    """The scene rectangle an item's ancestors clip it to (a ViewBox clips its children)."""
    parent = item.parentItem()
    clip = None
    while parent is not None:
        if parent.flags() & QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape:
            rect = parent.sceneBoundingRect()
            clip = rect if clip is None else clip.intersected(rect)
        parent = parent.parentItem()
    return clip


def cut_plots(root: QtWidgets.QWidget) -> list[tuple[str, str]]:
    """Plots drawn larger than their view (their layout cut at the view's edge), and texts in a
    plot — titles, labels, words — cut by the view's edge or by the box that clips them."""
    out = []
    for view in root.findChildren(pg.GraphicsView):
        if not shown(view) or view.scene() is None:
            continue
        shown_rect = _visible_in(view).adjusted(-1, -1, 1, 1)
        ci = view.centralWidget
        if ci is not None:
            rect = ci.sceneBoundingRect()
            if not shown_rect.contains(rect):
                out.append(("plot layout", f"{rect.width():.0f}x{rect.height():.0f} in "
                            f"{shown_rect.width():.0f}x{shown_rect.height():.0f}"))  # fmt: skip
        for item in view.scene().items():
            # every token labelled, up to LABEL_EVERY_UP_TO of them: none skipped
            if isinstance(item, TokenAxis) and item.isVisible() and item.every_label:
                if 0 < len(item.labels) <= LABEL_EVERY_UP_TO and item.step > 1:
                    out.append(("labels thinned", f"{item.orientation}: every {item.step}"))
                continue
            if isinstance(item, pg.TextItem):
                glyphs = item.textItem
            elif isinstance(item, pg.LabelItem):
                glyphs = item.item
            else:
                continue
            text = glyphs.toPlainText()
            if not text.strip() or not item.isVisible() or item.opacity() == 0:
                continue
            rect = glyphs.sceneBoundingRect()
            # The document's margin is empty, and a line's leading may touch an edge.
            m = glyphs.document().documentMargin() + 2
            inner = rect.adjusted(m, m, -m, -m)
            clip = _clip_of(item)
            if not shown_rect.contains(inner) or (clip is not None and not clip.contains(inner)):
                out.append(("plot text", text))
    return out


def hidden_columns(root: QtWidgets.QWidget) -> list[tuple[str, str]]:
    """Columns of numbers a table promises to keep on screen, cut at its edge or elided."""
    from attnviz.gui.widgets.tile_grid import SummaryTable

    out = []
    for table in root.findChildren(SummaryTable):
        if not shown(table):
            continue
        header = table.horizontalHeader()
        n = table.columns_kept_whole()
        room = table.viewport().width()
        fm = table.fontMetrics()
        for j in range(n):
            right = header.sectionViewportPosition(j) + header.sectionSize(j)
            name = str(table.model().headerData(j, QtCore.Qt.Orientation.Horizontal))
            if right > room + 1:
                out.append(("column off screen", name))
            for i in range(table.model().rowCount()):
                text = str(table.model().index(i, j).data() or "")
                if fm.horizontalAdvance(text) > header.sectionSize(j):
                    out.append(("cell elided", text))
    return out


def cut_drawings(root: QtWidgets.QWidget) -> list[tuple[str, str]]:
    """Texts a custom-painted diagram draws that do not fit their place, or lie outside it."""
    from attnviz.gui.widgets.memory_diagram import MemoryDiagram

    out = []
    for diagram in root.findChildren(MemoryDiagram):
        if not shown(diagram):
            continue
        whole = QtCore.QRectF(diagram.rect()).adjusted(-1, -1, 1, 1)
        for text in diagram.texts():
            font = QtGui.QFont(diagram.font())
            font.setBold(text.bold)
            room = QtCore.QRectF(text.rect.x(), text.rect.y(), text.rect.width(), 1e6)
            need = QtGui.QFontMetricsF(font).boundingRect(room, text.flags, text.text)
            if (
                need.width() > text.rect.width() + 1
                or need.height() > text.rect.height() + 1
                or not whole.contains(text.rect)
            ):
                out.append(("diagram text", text.text))
    return out


def overlapping_plots(root: QtWidgets.QWidget) -> list[tuple[str, str]]:
    """Pairs of plots and tables drawn over each other."""
    shown_views = [
        v for v in root.findChildren(QtWidgets.QAbstractScrollArea)
        if shown(v) and v.objectName() != "panel_scroll"
        and not isinstance(v.parentWidget(), QtWidgets.QAbstractScrollArea | pg.GraphicsView)
    ]  # fmt: skip
    rects = [(v, QtCore.QRect(v.mapTo(root, QtCore.QPoint(0, 0)), v.size())) for v in shown_views]
    out = []
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1 :]:
            if a.isAncestorOf(b) or b.isAncestorOf(a):
                continue
            both = ra.intersected(rb)
            if both.width() > 2 and both.height() > 2:
                out.append((type(a).__name__, type(b).__name__))
    return out


def settled(panel: QtWidgets.QWidget, rounds: int = 10) -> None:
    """Run the event loop until the panel's layout stops changing (a re-arrangement takes a
    few rounds of layout requests; a loaded machine needs more than one short wait)."""

    def snapshot():
        views = panel.findChildren(QtWidgets.QAbstractScrollArea)
        return (panel.size(), panel.content.size(), panel.content.minimumSizeHint(),
                tuple(v.geometry().getRect() for v in views))  # fmt: skip

    before = snapshot()
    for _ in range(rounds):
        settle()
        now = snapshot()
        if now == before:
            return
        before = now


def quiet(win: MainWindow, rounds: int = 50) -> None:
    """Until the controller is idle: a panel shown with a stale result asks for its numbers,
    and their arrival redraws it (re-laid out while it was being measured, two heatmaps of
    the shuffle test overlapped in one full run in two)."""
    for _ in range(rounds):
        win.controller.wait()
        settle()
        if win.controller.idle:
            return


def every_view(win: MainWindow):
    """Each panel in front, then each of its sub-tabs: yields (where, panel)."""
    for pid in win.docks:
        win.show_panels([pid])
        settle()
        quiet(win)
        panel = win.panel(pid)
        panel.ensure_drawn()
        settled(panel)
        yield pid, panel
        for tabs in panel.findChildren(QtWidgets.QTabWidget):
            first = tabs.currentIndex()
            for i in range(tabs.count()):
                if i != first:
                    tabs.setCurrentIndex(i)
                    quiet(win)
                    settled(panel)
                    yield f"{pid} › {tabs.tabText(i)}", panel
            tabs.setCurrentIndex(first)


def test_no_text_is_clipped_anywhere(window):
    win, _ = window
    clipped = []
    for where, panel in every_view(win):
        clipped += [(where, *c) for c in clipped_texts(panel)]
    clipped += [("window", *c) for c in clipped_texts(win) if c not in clipped]
    assert not clipped, f"{len(clipped)} texts cut: {clipped[:8]}"


def test_no_plot_is_cut_or_drawn_over_another(window):
    """A plot's layout, titles and words lie inside its view; no two plots overlap."""
    win, _ = window
    cut = []
    for where, panel in every_view(win):
        found = cut_plots(panel) + overlapping_plots(panel) + hidden_columns(panel)
        cut += [(where, *c) for c in found + cut_drawings(panel)]
    assert not cut, f"{len(cut)} plots, tables or diagrams cut or overlapping: {cut[:12]}"


def test_panels_scroll_down_never_sideways(window):
    """Plots side by side that do not fit the panel's width go into rows (a panel scrolled
    sideways hid half its plots and cut its paragraphs at the edge)."""
    win, _ = window
    sideways = []
    for where, panel in every_view(win):
        settle()
        if panel.scroll.horizontalScrollBar().maximum() > 0:
            sideways.append((where, panel.content.width(), panel.scroll.viewport().width()))
    assert not sideways, f"{len(sideways)} panels scroll sideways: {sideways}"


def test_no_text_is_smaller_than_the_stated_size(window):
    win, presenter = window
    least = MIN_PT[presenter]
    assert theme_manager().font_pt >= least
    small = []
    for where, panel in every_view(win):
        small += [(where, *s) for s in small_texts(panel, least)]
    assert not small, f"{len(small)} texts below {least} pt: {small[:8]}"


def test_every_lesson_step_is_whole(window):
    """Each step's stage: no text cut ("Cycle heads", the softmax slider's end were), no
    plot, table or diagram cut, nothing scrolled sideways."""
    from attnviz.lessons.course import COURSE

    win, _ = window
    screen = win.size()
    bad = []
    for li, lesson in enumerate(COURSE):
        for si, step in enumerate(lesson.steps):
            win.start_lesson(li, si)
            win.controller.wait()
            settle(100)  # the stage may re-dock once its panels are laid out (tabs)
            where = f"lesson {li + 1}.{si + 1}"
            if win.size() != screen:  # grown past the screen: its bottom would be cut off
                bad.append((where, "window grew", win.width(), win.height()))
            bad += [(where, *c) for c in clipped_texts(win)]
            for pid in step.panels:
                panel = win.panel(pid)
                if not shown(panel) or panel.visibleRegion().isEmpty():
                    continue  # a tab behind the step's first panel (parked off screen)
                panel.ensure_drawn()
                settled(panel)
                found = cut_plots(panel) + hidden_columns(panel) + cut_drawings(panel)
                if panel.scroll.horizontalScrollBar().maximum() > 0:
                    found.append(("scrolls sideways", pid))
                bad += [(where, *c) for c in found]
    assert not bad, f"{len(bad)} things cut in lesson steps: {bad[:12]}"


def test_a_scene_set_by_a_lesson_fits_its_box(window):
    """The lesson sets the scene with the box's signals blocked: it was cut mid-word."""
    win, _ = window
    win.start_lesson(1, 0)  # the four-token Q/K/V scene
    settle()
    assert win.session.scene == "qkv4"
    assert not [c for c in clipped_texts(win) if c[0] == "QComboBox"]
