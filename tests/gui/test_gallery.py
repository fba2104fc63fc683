"""The gallery command renders every panel, sub-tab and lesson step, and writes no settings."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui

from attnviz.gui.gallery import main
from attnviz.gui.theme import theme_manager
from attnviz.lessons.course import COURSE


def _luminance(path: Path) -> float:
    img = QtGui.QImage(str(path)).scaled(64, 36)
    total = 0.0
    for y in range(img.height()):
        for x in range(img.width()):
            c = img.pixelColor(x, y)
            total += 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()
    return total / (img.width() * img.height())


def test_gallery_renders_panels_sub_tabs_and_lessons(qapp, tmp_path):
    user = Path(QtCore.QSettings("attnviz", "attnviz").fileName())
    stamp = user.stat().st_mtime if user.exists() else None
    args = [str(tmp_path), "--size", "1280x720", "--mode", "presenter", "--theme", "dark",
            "--panels", "token_attention,positional_encoding"]  # fmt: skip
    assert main(args) == 0
    folder = tmp_path / "1280x720-presenter-dark"
    names = sorted(p.name for p in folder.glob("*.png"))
    panels = [n for n in names if "-panel-" in n]
    # token attention, then positional encoding with its three tabs (Sinusoidal, RoPE, shuffle)
    assert [n.split("-", 1)[1] for n in panels[:2]] == [
        "panel-token_attention.png", "panel-positional_encoding.png"
    ]  # fmt: skip
    assert len(panels) == 4
    steps = sum(len(lesson.steps) for lesson in COURSE)
    assert len([n for n in names if "-lesson-" in n]) == steps
    sheet = QtGui.QImage(str(tmp_path / "contact-1280x720-presenter-dark.png"))
    assert sheet.width() > 1000 and sheet.height() > 1000
    first = QtGui.QImage(str(folder / panels[0]))
    # The window at its default layout: 1280 wide; taller where its minimum height exceeds
    # 720 px (issue 12), which the sheet's caption then says.
    assert first.width() == 1280 and first.height() >= 720
    assert _luminance(folder / panels[0]) < 110  # the dark theme, not the light one
    assert theme_manager().theme.name == "light"  # the user's theme is back
    assert (user.stat().st_mtime if user.exists() else None) == stamp  # no settings written


def test_gallery_refuses_unknown_panels_and_sizes(qapp, tmp_path, capsys):
    assert main([str(tmp_path), "--mode", "normal", "--theme", "light", "--size", "1280x720",
                 "--panels", "nope", "--no-lessons"]) == 2  # fmt: skip
    assert "no such panels: nope" in capsys.readouterr().err
