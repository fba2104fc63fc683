"""Figures composed for slides (issue 13): every panel's page read back from the PDF's text
layer and the PNG's pixels, the deck in one command, nothing printed on the way."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter

import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtSvg

from attnviz.export import MIN_SLIDE_PT, PAGES, FigureSpec
from attnviz.gui.controller import Controller
from attnviz.gui.exporters import _write_figure, export_panel_figure, slide_theme
from attnviz.gui.figures import compose_page
from attnviz.gui.panels import all_panels
from attnviz.lessons.course import COURSE
from attnviz.lessons.scenes import SCENES

pypdf = pytest.importorskip("pypdf", reason="pypdf is a test dependency")

PANELS = all_panels()
CAT = SCENES["cat"].text.split()
# Panels whose slide shows the sentence on token axes: each word at least this many times.
SENTENCE_ON_AXES = {"score_heatmap": 2, "causal_mask": 4, "head_grid": 2,
                    "softmax_temperature": 2, "token_attention": 3}  # fmt: skip


def text_runs(page) -> list[tuple[str, float]]:
    """(text, size in points on the page) of every run of text the page draws."""
    runs: list[tuple[str, float]] = []

    def visit(text, cm, tm, font, size):  # type: ignore[no-untyped-def]
        if text.strip():
            # The size as drawn: the font size times the text and page matrices' y scale.
            scale = abs(tm[3] * cm[3]) or abs(tm[0] * cm[0]) or 1.0
            runs.append((text.strip(), size * scale))

    page.extract_text(visitor_text=visit)
    return runs


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    """`attnviz export --deck`: every panel's slide, made once for the tests below."""
    out = tmp_path_factory.mktemp("deck") / "lecture.pdf"
    proc = subprocess.run(
        [sys.executable, "-m", "attnviz", "export", "--deck", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return proc, out


def test_a_deck_in_one_command_prints_only_its_path(deck):
    proc, out = deck
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no gradient warnings, nothing else
    assert proc.stdout.strip() == str(out)
    reader = pypdf.PdfReader(str(out))
    assert len(reader.pages) == len(PANELS)
    w, h = PAGES["16:9"]
    for page in reader.pages:  # 13.33 x 7.5 in
        assert (float(page.mediabox.width), float(page.mediabox.height)) == (w * 0.75, h * 0.75)


@pytest.mark.parametrize("index,panel_id", list(enumerate(PANELS)))
def test_every_page_is_legible_whole_and_captioned(deck, index, panel_id):
    _, out = deck
    page = pypdf.PdfReader(str(out)).pages[index]
    runs = text_runs(page)
    text = " ".join(" ".join(t for t, _ in runs).split())  # pypdf joins words with tabs
    assert PANELS[panel_id].title in text  # its title
    smallest = min(size for _, size in runs)
    assert smallest >= MIN_SLIDE_PT - 0.2, [(t, round(s, 1)) for t, s in runs if s < 14][:5]
    assert "…" not in text  # no elided title, label or number
    # The caption line: the settings in words, never a control.
    if panel_id not in ("cross_attention", "attention_patterns", "positional_encoding",
                        "kv_cache", "flash_attention"):  # fmt: skip
        assert "toy model (hand-built weights)" in text
    if panel_id in SENTENCE_ON_AXES:
        counts = Counter(t for t, _ in runs)
        for word in set(CAT):
            want = SENTENCE_ON_AXES[panel_id] * CAT.count(word)
            assert counts[word] >= want, (word, counts[word], want)


def views_of(cls, controller) -> list[str | None]:
    """None (the panel as it opens) and each of its sub-tabs' titles."""
    from PySide6 import QtWidgets

    from attnviz.gui.lifetime import dispose

    panel = cls(controller)
    titles = [t.tabText(i) for t in panel.findChildren(QtWidgets.QTabWidget)
              for i in range(t.count())]  # fmt: skip
    panel.detach()
    dispose(panel)
    return [None, *titles]


def test_no_control_reaches_a_slide_and_every_part_is_whole(controller):
    from PySide6 import QtWidgets

    from attnviz.gui.widgets.token_axis import TokenAxis

    controls = (
        QtWidgets.QAbstractButton, QtWidgets.QAbstractSlider, QtWidgets.QLineEdit,
        QtWidgets.QComboBox, QtWidgets.QAbstractSpinBox, QtWidgets.QProgressBar,
    )  # fmt: skip
    spec = FigureSpec(format="pdf")
    with slide_theme(spec):
        for cls, tab in [(c, t) for c in PANELS.values() for t in views_of(c, controller)]:
            page = compose_page(cls, controller, spec, tab=tab)
            try:
                shown = [w for w in page.findChildren(QtWidgets.QWidget)
                         if isinstance(w, controls) and w.isVisible()
                         and not isinstance(w.parentWidget(), QtWidgets.QTableView)]  # fmt: skip
                assert not shown, (cls.panel_id, shown[:3])
                assert page.caption_label.geometry().bottom() <= page.height()
                for label in page.findChildren(QtWidgets.QLabel):  # one-line texts whole
                    if label.isVisible() and not label.wordWrap() and label.text():
                        doc = QtGui.QTextDocument()
                        doc.setDefaultFont(label.font())
                        doc.setHtml(label.text())
                        need = doc.idealWidth() - 2 * doc.documentMargin()
                        assert need <= label.width() + 1, (cls.panel_id, tab, label.text())
                # Every part whole on the page: nothing pushed past its edges.
                whole = QtCore.QRect(0, 0, page.width(), page.height())
                for part in page.findChildren(QtWidgets.QWidget):
                    if part.parentWidget() is page and part.isVisible():
                        assert whole.contains(part.geometry()), (cls.panel_id, part)
                        need = part.minimumSizeHint()
                        assert part.width() >= min(need.width(), part.maximumWidth()), part
                for view in page.findChildren(pg.GraphicsLayoutWidget):
                    # Its plots' own least size (titles, axes, colour bar) inside the view:
                    # otherwise pyqtgraph lays them out wider and the view cuts them off.
                    inner = view.ci.geometry()
                    assert inner.right() <= view.viewport().width() + 1, (cls.panel_id, view)
                    assert inner.bottom() <= view.viewport().height() + 1, (cls.panel_id, view)
                for view in page.findChildren(pg.GraphicsView):
                    for item in view.scene().items():
                        # Every word of a sentence up to 40 tokens, none thinned.
                        words = isinstance(item, TokenAxis) and len(item.labels) <= 40
                        if words and item.isVisible():
                            assert item.step == 1, (cls.panel_id, tab, item.orientation)
            finally:
                page.release()


def test_png_is_1920_by_1080_at_scale_1_with_the_weights_colours(controller, tmp_path):
    spec = FigureSpec(format="png")
    with slide_theme(spec):
        page = compose_page(PANELS["score_heatmap"], controller, spec)
        try:
            out = _write_figure(page, spec, tmp_path / "h.png")
            img = QtGui.QImage(str(out))
            assert (img.width(), img.height()) == (1920, 1080)
            heat = page.panel.heatmap
            w = controller.latest.weights[controller.session.head]
            from attnviz.gui.theme import theme_manager

            cmap = theme_manager().colormap()
            for i, j in ((7, 1), (0, 0), (2, 5)):  # it -> cat (strong), two weak cells
                scene = heat.plot.vb.mapViewToScene(QtCore.QPointF(j + 0.5, i + 0.5))
                p = heat.mapTo(page, heat.mapFromScene(scene))
                got = img.pixelColor(round(p.x() * 1.5), round(p.y() * 1.5))
                want = QtGui.QColor(*cmap.map(float(w[i, j]), mode="byte")[:3])
                diff = max(abs(got.red() - want.red()), abs(got.green() - want.green()),
                           abs(got.blue() - want.blue()))  # fmt: skip
                assert diff <= 6, (i, j, got.name(), want.name())
        finally:
            page.release()


def test_png_scale_and_four_by_three(controller, tmp_path):
    spec = FigureSpec(format="png", scale=2, aspect="4:3")
    path = export_panel_figure(PANELS["head_grid"], controller, spec, tmp_path / "g.png")
    img = QtGui.QImage(str(path))
    assert (img.width(), img.height()) == (960 * 3, 720 * 3)


def test_svg_keeps_text_as_text_and_renders(controller, tmp_path):
    path = export_panel_figure(PANELS["causal_mask"], controller, FigureSpec(format="svg"),
                               tmp_path / "c.svg")  # fmt: skip
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    texts = ["".join(t.itertext()).strip() for t in root.iter(f"{ns}text")]
    for word in set(CAT):
        assert texts.count(word) >= 2  # on the key axis of both heatmaps
    assert any(True for _ in root.iter(f"{ns}image"))  # the heatmaps, as lossless images
    renderer = QtSvg.QSvgRenderer(str(path))
    assert renderer.isValid()
    img = QtGui.QImage(640, 360, QtGui.QImage.Format.Format_ARGB32)
    img.fill(QtCore.Qt.GlobalColor.white)
    painter = QtGui.QPainter(img)
    renderer.render(painter)
    painter.end()
    colours = {img.pixel(x, y) for x in range(0, 640, 16) for y in range(0, 360, 16)}
    assert len(colours) > 20  # drawn, not blank


def test_a_dark_slide_is_dark_and_the_users_theme_comes_back(controller, tmp_path):
    from attnviz.gui.theme import theme_manager

    theme_manager().apply(theme="light")
    spec = FigureSpec(format="png", theme="dark")
    path = export_panel_figure(PANELS["score_heatmap"], controller, spec, tmp_path / "d.png")
    img = QtGui.QImage(str(path))
    corner = img.pixelColor(5, 5)
    assert corner.lightness() < 80
    assert theme_manager().theme.name == "light"


@pytest.mark.parametrize("number", range(1, len(COURSE) + 1))
def test_a_lesson_deck_has_a_page_per_step_with_the_steps_words(tmp_path, number):
    out = tmp_path / f"lesson{number}.pdf"
    proc = subprocess.run(
        [sys.executable, "-m", "attnviz", "export", "--deck", str(out), "--lesson", str(number)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lesson = COURSE[number - 1]
    reader = pypdf.PdfReader(str(out))
    assert len(reader.pages) == len(lesson.steps)
    for page, step in zip(reader.pages, lesson.steps, strict=True):
        runs = text_runs(page)
        small = [(t, round(size, 1)) for t, size in runs if size < MIN_SLIDE_PT - 0.2]
        assert not small, (step.title, small[:4])
        text = " ".join(" ".join(t for t, _ in runs).split())
        text = unicodedata.normalize("NFKC", text)  # the PDF's "ﬀ" ligatures, as letters
        nfkc = lambda words: unicodedata.normalize("NFKC", words)  # noqa: E731
        assert nfkc(step.title) in text
        assert nfkc(" ".join(step.slide_text.split()[:6])) in text  # the step's words
        for control in ("Use Back and Next", "Press 1", "Space to play"):  # no prompts
            assert control not in text


@pytest.mark.parametrize(
    "args,message",
    [
        (["--deck", "x.png"], "does not end in .pdf"),
        (["--deck", "x.pdf", "--lesson", "99"], "lessons"),
        (["--deck", "x.pdf", "--panels", "nope"], "no panel 'nope'"),
        (["--all", "d", "--lesson", "2"], "choose the pages of a --deck"),
        (["--panel", "score_heatmap", "--out", "x.png", "--font-size", "10"], "at least 14"),
    ],
)
def test_deck_and_slide_mistakes_are_refused_with_a_message(tmp_path, args, message):
    proc = subprocess.run([sys.executable, "-m", "attnviz", "export", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not any(tmp_path.iterdir())


def test_the_app_exports_the_current_lesson_as_slides_and_keeps_its_own_session(window, tmp_path):
    window.start_lesson(4, 0)
    before = (window.session.scene, window.session.head, window.session.temperature)
    window.session.temperature = 0.7  # the lecturer's own setting, off the lesson's
    out = window.export_lesson_slides(tmp_path / "lesson5.pdf")
    assert out == tmp_path / "lesson5.pdf"
    reader = pypdf.PdfReader(str(out))
    assert len(reader.pages) == len(COURSE[4].steps)
    assert window.session.temperature == 0.7 and window.session.scene == before[0]
    assert "Saved" in window.statusBar().currentMessage()


def test_a_small_qkv_slide_shows_x_q_k_v_whole(qtbot):
    """The four-token scene fits X, Q, K and V above the step's table; every title whole."""
    from PySide6 import QtWidgets

    from attnviz.state.session import Session

    session = Session()
    session.scene = "qkv4"
    c = Controller(session)
    c.compute_now()
    spec = FigureSpec(format="pdf")
    with slide_theme(spec):
        page = compose_page(PANELS["qkv_steps"], c, spec)
        try:
            tables = [t for t in page.findChildren(QtWidgets.QTableView) if t.isVisible()]
            assert len(tables) == 5
            for t in tables:  # every row and column shown, no scroll bar
                assert t.height() >= t.verticalHeader().length() + t.horizontalHeader().height()
                assert not t.horizontalScrollBar().isVisible()
            for label in page.findChildren(QtWidgets.QLabel):
                if label.isVisible() and not label.wordWrap() and label.text():
                    doc = QtGui.QTextDocument()
                    doc.setDefaultFont(label.font())
                    doc.setHtml(label.text())
                    assert doc.idealWidth() - 2 * doc.documentMargin() <= label.width() + 1
        finally:
            page.release()
            c.wait()
