"""Figures and data from every panel, in the app and from the command line."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from attnviz.export import FigureSpec
from attnviz.gui.exporters import (
    _write_figure,
    export_panel_data,
    export_panel_figure,
    figure_frame,
)
from attnviz.gui.panels import all_panels
from attnviz.gui.theme import theme_manager

PANELS = all_panels()
TOKENS = ("The", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired")


def test_png_has_the_scaled_size_and_the_colours_of_the_weights(controller, tmp_path):
    spec = FigureSpec(format="png", scale=2, width=1000, height=700, style="screen")
    frame = figure_frame(PANELS["score_heatmap"], controller, spec)
    heat = frame.panel.heatmap
    out = _write_figure(frame, spec, tmp_path / "h.png")
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (2000, 1400)
    w = controller.latest.weights[controller.session.head]
    cmap = theme_manager().colormap()
    for i, j in ((7, 1), (0, 0), (2, 5)):  # it->cat (strong), two weak cells
        scene = heat.plot.vb.mapViewToScene(QtCore.QPointF(j + 0.5, i + 0.5))
        p = heat.mapTo(frame, heat.mapFromScene(scene))
        got = img.pixelColor(p.x() * 2, p.y() * 2)
        want = QtGui.QColor(*cmap.map(float(w[i, j]), mode="byte")[:3])
        diff = max(abs(got.red() - want.red()), abs(got.green() - want.green()),
                   abs(got.blue() - want.blue()))  # fmt: skip
        assert diff <= 6, (i, j, got.name(), want.name())
    frame.deleteLater()


def test_svg_is_xml_with_token_labels_as_text_and_the_heatmap_as_image(controller, tmp_path):
    path = export_panel_figure(
        PANELS["score_heatmap"], controller, FigureSpec(format="svg"), tmp_path / "h.svg"
    )
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    texts = {"".join(t.itertext()).strip() for t in root.iter(f"{ns}text")}
    assert set(TOKENS) <= texts
    assert any(True for _ in root.iter(f"{ns}image"))


def test_pdf_has_one_page_and_extractable_token_labels(controller, tmp_path):
    pypdf = pytest.importorskip("pypdf", reason="pypdf is a test dependency")
    path = export_panel_figure(
        PANELS["causal_mask"], controller,
        FigureSpec(format="pdf", title="Causal masking", caption="head 3"), tmp_path / "c.pdf",
    )  # fmt: skip
    assert path.read_bytes()[:4] == b"%PDF"
    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())  # pypdf separates words by tabs
    for word in ("Causal masking", "because", "tired", "query"):
        assert word in text


@pytest.mark.parametrize("panel_id", sorted(PANELS))
def test_every_panel_exports_a_figure_that_is_not_blank(controller, tmp_path, panel_id):
    spec = FigureSpec(format="png", scale=1, width=900, height=650)
    path = export_panel_figure(PANELS[panel_id], controller, spec, tmp_path / f"{panel_id}.png")
    img = QtGui.QImage(str(path)).scaled(90, 65)
    colours = {img.pixel(x, y) for x in range(90) for y in range(65)}
    assert len(colours) > 12, f"{panel_id} exported a blank figure"


@pytest.mark.parametrize("panel_id", sorted(PANELS))
def test_every_panel_with_numbers_exports_them(controller, tmp_path, panel_id):
    panel = PANELS[panel_id](controller)
    panel.result = controller.latest
    panel._stale = True
    data = panel.export_data()
    if not data:
        pytest.skip(f"{panel_id} shows no numbers")
    out = export_panel_data(panel, tmp_path / f"{panel_id}.npz")
    with np.load(out, allow_pickle=False) as z:
        assert set(z.files) == set(data)


def test_slide_export_restores_the_users_theme(controller, tmp_path):
    theme_manager().apply(theme="dark", font_pt=11)
    try:
        export_panel_figure(PANELS["score_heatmap"], controller, FigureSpec(), tmp_path / "a.png")
        assert theme_manager().theme.name == "dark" and theme_manager().font_pt == 11
    finally:
        theme_manager().apply(theme="light", font_pt=10)


def test_window_export(window, tmp_path):
    from attnviz.gui.exporters import export_widget_figure

    path = export_widget_figure(window, FigureSpec(format="png", scale=1), tmp_path / "w.png")
    img = QtGui.QImage(str(path))
    assert (img.width(), img.height()) == (window.width(), window.height())


def run_cli(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "attnviz", "export", *args],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )  # fmt: skip


def test_cli_exports_every_panel_headless(tmp_path):
    r = run_cli("--all", str(tmp_path / "figs"), "--format", "svg", "--causal")
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert files == sorted(f"{pid}.svg" for pid in PANELS)
    assert "propagateSizeHints" not in r.stderr


def test_cli_single_panel_with_options(tmp_path):
    out = tmp_path / "t.png"
    r = run_cli("--panel", "softmax_temperature", "--temperature", "0.5", "--scale", "1",
                "--text", "Attention is all you need", "--out", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert QtGui.QImage(str(out)).width() == 1920  # a 16:9 slide at scale 1
    r = run_cli("--panel", "score_heatmap", "--data", "csv", "--out", str(tmp_path / "w.csv"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "w.csv").read_text().startswith("weights,The,cat")


def test_cli_lists_panels():
    r = run_cli("--list-panels")
    assert r.returncode == 0
    for pid in PANELS:
        assert pid in r.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--panel", "nope", "--out", "x.png"), 2, "no panel 'nope'"),
        (("--panel", "score_heatmap"), 2, "--panel needs --out"),
        (("--panel", "score_heatmap", "--out", "x.gif"), 2, "cannot tell the format"),
        (("--panel", "score_heatmap", "--temperature", "0", "--out", "x.png"), 2, "T -> 0"),
        (("--panel", "score_heatmap", "--text", "", "--out", "x.png"), 2, "empty"),
        (("--panel", "score_heatmap", "--scale", "9", "--out", "x.png"), 2, "scale"),
        (("--panel", "score_heatmap", "--out", "/no/such/dir/x.png"), 1, "does not exist"),
    ],
)
def test_cli_errors_exit_non_zero_with_a_message(args, code, message):
    r = run_cli(*args)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert message in r.stderr


def test_menu_exports_save_and_report_failures(window, tmp_path, monkeypatch):
    from PySide6 import QtWidgets

    from attnviz.gui.window import exports as mw  # where the export dialogs are opened

    monkeypatch.setattr(mw.FigureDialog, "exec", lambda self: QtWidgets.QDialog.DialogCode.Accepted)
    monkeypatch.setattr(mw.FigureDialog, "ask_path", lambda self: tmp_path / "fig.svg")
    panel = window.panels["score_heatmap"]
    assert window.export_panel_figure(panel) == tmp_path / "fig.svg"
    assert "Saved" in window.statusBar().currentMessage()
    assert window.export_window_figure().suffix == ".svg"
    monkeypatch.setattr(mw, "ask_data_path", lambda parent, name: tmp_path / "no" / "w.csv")
    assert window.export_panel_data(panel) is None  # missing folder: refused, said, nothing kept
    assert "Export failed" in window.statusBar().currentMessage()
    monkeypatch.setattr(mw.FigureDialog, "exec", lambda self: QtWidgets.QDialog.DialogCode.Rejected)
    assert window.export_panel_figure(panel) is None
