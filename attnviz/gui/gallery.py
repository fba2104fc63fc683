"""Look at the whole app: every panel, sub-tab and lesson step as a PNG, and a contact sheet.

    python -m attnviz.gui.gallery OUTDIR [--size 1280x720 ...] [--presenter | --mode all]
                                         [--theme light|dark|all] [--no-lessons] [--panels a,b]

For each size × mode × theme a fresh main window (default layout, its settings in a temporary
file: the user's own settings are never read or written) is painted offscreen with each panel's
dock raised in turn, each tab inside a panel selected in turn, and each lesson step applied. The
PNGs go to ``OUTDIR/<W>x<H>-<mode>-<theme>/`` and one contact sheet per combination to
``OUTDIR/contact-<W>x<H>-<mode>-<theme>.png``. Like sphinx-gallery for documentation: the one
command to run after a visual change, then open the sheets.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Shot", "main", "render"]

DEFAULT_SIZES = ((1280, 720), (1920, 1080))
THUMB_WIDTH = 480
SHEET_COLUMNS = 4


@dataclass(frozen=True)
class Shot:
    """One rendered picture: its file and what it shows."""

    path: Path
    caption: str


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{3,5})x(\d{3,5})", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"a size is WIDTHxHEIGHT, such as 1280x720; got {text!r}")
    return int(m[1]), int(m[2])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "tab"


def _inner_tabs(panel: object) -> list[object]:
    """The panel's own tab widgets (sub-tabs such as Sinusoidal / RoPE), not the docks' tabs."""
    from PySide6 import QtWidgets

    return [t for t in panel.findChildren(QtWidgets.QTabWidget) if t.count() > 1]  # type: ignore[attr-defined]


def _settle(window: object, ms: int = 30) -> None:
    """Run the event loop briefly, as the app does between frames: layouts, timers, deferred
    deletes and draws. (processEvents() alone is not enough: Qt drops the dock tab bars of
    intermediate tab groups in a deferred delete, and without it they are painted over the
    panels — something the running app never shows.)"""
    from attnviz.gui.lifetime import settle

    window.controller.wait()  # type: ignore[attr-defined]
    settle(ms)


def _shots(
    window: object, out: Path, panels: list[str], lessons: bool, size: tuple[int, int]
) -> Iterator[Shot]:
    from attnviz.lessons.course import COURSE

    w = window
    w.controller.compute_now()  # type: ignore[attr-defined]
    n = 0

    def grab(name: str, caption: str) -> Shot:
        nonlocal n
        n += 1
        _settle(w)
        for panel in w._built.values():  # type: ignore[attr-defined]
            panel.ensure_drawn()
        _settle(w)  # what the drawing changed (least sizes, layouts) before the picture
        path = out / f"{n:03d}-{name}.png"
        pixels = w.grab()  # type: ignore[attr-defined]
        if not pixels.save(str(path)):
            raise OSError(f"could not write {path}")
        if (pixels.width(), pixels.height()) != size:
            # The window's minimum size is larger than the screen asked for: on that screen
            # part of it would be cut off. Said on the sheet, not hidden by scaling.
            caption += f" [does not fit: {pixels.width()}×{pixels.height()}]"
        return Shot(path, caption)

    for pid in panels:
        dock = w.docks[pid]  # type: ignore[attr-defined]
        w.show_panels([pid])  # type: ignore[attr-defined]
        panel = w.panel(pid)  # type: ignore[attr-defined]
        yield grab(f"panel-{pid}", dock.windowTitle())
        for tabs in _inner_tabs(panel):
            first = tabs.currentIndex()
            for i in range(tabs.count()):
                if i == first:
                    continue
                tabs.setCurrentIndex(i)
                title = tabs.tabText(i)
                yield grab(f"panel-{pid}-{_slug(title)}", f"{dock.windowTitle()} › {title}")
            tabs.setCurrentIndex(first)
    if lessons:
        for li, lesson in enumerate(COURSE):
            for si, step in enumerate(lesson.steps):
                w.start_lesson(li, si)  # type: ignore[attr-defined]
                w.controller.compute_now()  # type: ignore[attr-defined]
                yield grab(f"lesson-{li + 1}-{si + 1}", f"{lesson.title} {si + 1}: {step.title}")
        w.lesson_dock.hide()  # type: ignore[attr-defined]


def contact_sheet(shots: list[Shot], path: Path, title: str) -> Path:
    """Thumbnails of ``shots`` in a grid, each captioned, under a title line."""
    from PySide6 import QtCore, QtGui

    if not shots:
        raise ValueError("no pictures to put on a contact sheet")
    first = QtGui.QImage(str(shots[0].path))
    thumb_h = round(first.height() * THUMB_WIDTH / max(1, first.width()))
    pad, caption_h, title_h = 12, 22, 36
    cols = min(SHEET_COLUMNS, len(shots))
    rows = -(-len(shots) // cols)
    sheet = QtGui.QImage(cols * (THUMB_WIDTH + pad) + pad,
                         title_h + rows * (thumb_h + caption_h + pad) + pad,
                         QtGui.QImage.Format.Format_RGB32)  # fmt: skip
    sheet.fill(QtGui.QColor("white"))
    p = QtGui.QPainter(sheet)
    try:
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        font = p.font()
        font.setPixelSize(20)
        font.setBold(True)
        p.setFont(font)
        p.drawText(QtCore.QRect(pad, 0, sheet.width(), title_h),
                   QtCore.Qt.AlignmentFlag.AlignVCenter, title)  # fmt: skip
        font.setPixelSize(14)
        font.setBold(False)
        p.setFont(font)
        for k, shot in enumerate(shots):
            x = pad + (k % cols) * (THUMB_WIDTH + pad)
            y = title_h + (k // cols) * (thumb_h + caption_h + pad)
            img = QtGui.QImage(str(shot.path)).scaled(
                THUMB_WIDTH, thumb_h, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                QtCore.Qt.TransformationMode.SmoothTransformation,
            )  # fmt: skip
            p.drawImage(x, y, img)
            p.setPen(QtGui.QColor("#888888"))
            p.drawRect(x, y, img.width() - 1, img.height() - 1)
            p.setPen(QtGui.QColor("black"))
            p.drawText(QtCore.QRect(x, y + thumb_h, THUMB_WIDTH, caption_h),
                       QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                       p.fontMetrics().elidedText(f"{k + 1}. {shot.caption}",
                                                  QtCore.Qt.TextElideMode.ElideRight,
                                                  THUMB_WIDTH))  # fmt: skip
    finally:
        p.end()
    if not sheet.save(str(path)):
        raise OSError(f"could not write {path}")
    return path


def render(
    outdir: str | os.PathLike[str],
    sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES,
    modes: tuple[str, ...] = ("normal", "presenter"),
    themes: tuple[str, ...] = ("light", "dark"),
    panels: list[str] | None = None,
    lessons: bool = True,
    scene_file: str | os.PathLike[str] | None = None,
    generate: int = 0,
) -> dict[str, list[Shot]]:
    """Render the gallery; returns, per ``<W>x<H>-<mode>-<theme>``, its shots (the contact sheet
    last). ``scene_file`` (a saved ``.attnviz`` scene: a model, its texts, layer and head …)
    is shown instead of the start-up scene; ``generate`` > 0 then lets its model (a decoder)
    generate that many tokens, greedily, and every panel shows the last step. Needs a
    QApplication (made offscreen if there is none and no display)."""
    from PySide6 import QtCore, QtWidgets

    from attnviz.gui.app import quiet_offscreen_messages
    from attnviz.gui.lifetime import dispose
    from attnviz.gui.theme import theme_manager
    from attnviz.gui.window import MainWindow
    from attnviz.state.scene_file import apply_scene, load_scene

    scene = load_scene(scene_file) if scene_file is not None else None
    if generate and (scene is None or scene.model_path is None):
        raise ValueError("--generate needs --scene-file with a decoder model")
    gen = None

    app = QtWidgets.QApplication.instance()
    if app is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QtWidgets.QApplication(["attnviz-gallery"])
        if app.platformName() == "offscreen":
            quiet_offscreen_messages()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    tm = theme_manager()
    before = (tm.theme.name, tm.colormap_name, tm.font_pt)
    done: dict[str, list[Shot]] = {}
    with tempfile.TemporaryDirectory(prefix="attnviz-gallery-") as tmp:
        for width, height in sizes:
            for mode in modes:
                for theme in themes:
                    key = f"{width}x{height}-{mode}-{theme}"
                    folder = out / key
                    folder.mkdir(exist_ok=True)
                    ini = Path(tmp) / f"{key}.ini"
                    settings = QtCore.QSettings(str(ini), QtCore.QSettings.Format.IniFormat)
                    tm.apply(theme="light", colormap="viridis", font_pt=10)
                    window = MainWindow(settings=settings)
                    try:
                        window.resize(width, height)
                        window.show()
                        window.set_theme(theme)
                        window.set_presenter(mode == "presenter")
                        if scene is not None:
                            apply_scene(window.session, scene)
                            if generate:
                                gen = gen or _generation(window.session, generate)
                                window.session.show_generation(gen)
                            window.controller.compute_now()
                        ids = panels or list(window.docks)
                        unknown = sorted(set(ids) - set(window.docks))
                        if unknown:
                            raise ValueError(f"no such panels: {', '.join(unknown)}")
                        shots = list(_shots(window, folder, ids, lessons, (width, height)))
                        window.set_presenter(False)
                    finally:
                        dispose(window)
                    title = f"attnviz at {width}×{height}, {mode}, {theme}"
                    sheet = contact_sheet(shots, out / f"contact-{key}.png", title)
                    done[key] = [*shots, Shot(sheet, "contact sheet")]
    tm.apply(theme=before[0], colormap=before[1], font_pt=before[2])
    return done


def _generation(session: object, n: int) -> object:
    """``n`` greedy tokens from the session's model and text (made once, shown in every
    combination)."""
    from attnviz.models.generation import Sampling
    from attnviz.state.source import generate

    return generate(session.model_path, session.text, Sampling(), n=n)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m attnviz.gui.gallery",
        description="Render every panel, sub-tab and lesson step to PNGs and contact sheets.",
    )
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--size", type=_size, action="append",
                    help="WIDTHxHEIGHT, repeatable (default: 1280x720 and 1920x1080)")  # fmt: skip
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--presenter", action="store_true", help="presenter mode only")
    group.add_argument("--mode", choices=("normal", "presenter", "all"), default="all")
    ap.add_argument("--theme", choices=("light", "dark", "all"), default="all")
    ap.add_argument("--panels", help="comma-separated panel ids (default: all)")
    ap.add_argument("--no-lessons", action="store_true", help="skip the lesson steps")
    ap.add_argument("--scene-file", metavar="FILE.attnviz",
                    help="show this saved scene (a model, its texts …) in every panel")  # fmt: skip
    ap.add_argument("--generate", type=int, default=0, metavar="N",
                    help="with --scene-file: generate N tokens and show the last step")  # fmt: skip
    args = ap.parse_args(argv)
    mode = "presenter" if args.presenter else args.mode
    modes = ("normal", "presenter") if mode == "all" else (mode,)
    themes = ("light", "dark") if args.theme == "all" else (args.theme,)
    panels = [p.strip() for p in args.panels.split(",")] if args.panels else None
    try:
        done = render(args.outdir, tuple(args.size or DEFAULT_SIZES), modes, themes, panels,
                      lessons=not args.no_lessons, scene_file=args.scene_file,
                      generate=args.generate)  # fmt: skip
    except (OSError, ValueError) as exc:
        print(f"gallery: {exc}", file=sys.stderr)
        return 2
    for key, shots in done.items():
        misfits = sum("[does not fit" in shot.caption for shot in shots)
        note = f"; {misfits} do not fit the screen size" if misfits else ""
        print(f"{key}: {len(shots) - 1} pictures{note}, contact sheet {shots[-1].path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
