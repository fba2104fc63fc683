"""`attnviz export`: figures and data from the command line, with no display needed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from attnviz.export import ExportError, FigureSpec, format_for

__all__ = ["run_export"]


def _fail(message: str, code: int = 2) -> int:
    print(f"attnviz export: {message}", file=sys.stderr)
    return code


def run_export(args: argparse.Namespace) -> int:
    """Run the export subcommand; 0 on success, 2 for bad input, 1 when writing failed."""
    # Exports never need a screen: use Qt's offscreen platform unless one was chosen.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtWidgets

    from attnviz.gui.app import quiet_offscreen_messages
    from attnviz.gui.controller import Controller
    from attnviz.gui.exporters import (
        export_deck,
        export_panel_data,
        export_panel_figure,
        lesson_slides,
        panel_slides,
    )
    from attnviz.gui.lifetime import dispose
    from attnviz.gui.panels import all_panels
    from attnviz.lessons.course import COURSE
    from attnviz.state.scene_file import apply_scene, load_scene
    from attnviz.state.session import Session
    from attnviz.state.source import model_translation

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["attnviz-export"])
    if app.platformName() == "offscreen":
        quiet_offscreen_messages()
    panels = all_panels()
    if args.list_panels:
        for pid, cls in panels.items():
            print(f"{pid:<22} {cls.title}")
        return 0
    if args.panel is not None and args.panel not in panels:
        return _fail(f"no panel {args.panel!r}; choose one of: {', '.join(panels)}")
    if args.panel is not None and not args.out:
        return _fail("--panel needs --out FILE")
    deck = getattr(args, "deck", None)
    chosen = [p.strip() for p in (getattr(args, "panels", None) or "").split(",") if p.strip()]
    lesson = getattr(args, "lesson", None)
    if (chosen or lesson is not None) and deck is None:
        return _fail("--panels and --lesson choose the pages of a --deck FILE.pdf")
    if chosen and lesson is not None:
        return _fail("a deck is either --panels or --lesson, not both")
    unknown = [p for p in chosen if p not in panels]
    if unknown:
        return _fail(f"no panel {unknown[0]!r}; choose from: {', '.join(panels)}")
    if lesson is not None and not 1 <= lesson <= len(COURSE):
        return _fail(f"there are {len(COURSE)} lessons; --lesson {lesson} has none")
    if deck is not None and Path(deck).suffix.lower() != ".pdf":
        return _fail(f"a deck is one PDF: {deck!r} does not end in .pdf")
    try:
        session = Session()
        if getattr(args, "scene_file", None) is not None:
            apply_scene(session, load_scene(args.scene_file))
        if args.scene:
            session.scene = args.scene
        if args.text is not None:
            session.text = args.text
        if getattr(args, "model", None) is not None:
            session.model_path = args.model
        if getattr(args, "attention_file", None) is not None:
            session.attention_path = args.attention_file
        if getattr(args, "hide_special", False):
            session.hide_special = True
        target = getattr(args, "target", None)
        if target is not None:
            session.text_b = target
        elif session.source.caps.cross and not session.text_b:
            session.text_b = model_translation(session.model_path, session.text)
        if getattr(args, "stack", None) is not None:
            session.stack = args.stack
        if getattr(args, "layer", None) is not None:
            session.layer = args.layer - 1
        if args.head is not None:
            session.head = args.head - 1
        if args.token is not None:
            session.selected_token = args.token - 1
        if args.temperature is not None:
            session.temperature = args.temperature
        if not session.source.caps.adjustable:  # the saved probabilities keep their own mask
            pass
        elif args.causal or (
            not session.source.caps.trained and getattr(args, "scene_file", None) is None
        ):
            # A model keeps its own mask (decoders: on), and a scene file its saved one.
            session.causal = args.causal
        fmt = "pdf" if deck is not None else args.format
        if args.panel is not None and not args.data:
            fmt = format_for(args.out, fmt, kind="figure").name
        spec = FigureSpec(
            format=fmt or "png", scale=args.scale, dpi=args.dpi, style=args.style,
            background=args.background, title=args.title, caption=args.caption,
            width=args.width, height=args.height, aspect=getattr(args, "aspect", "16:9"),
            theme=getattr(args, "theme", "light"), font_pt=getattr(args, "font_pt", 16),
        )  # fmt: skip
        if deck is not None and spec.style != "slide":
            raise ExportError("a deck is made of slides: leave out --style screen")
    except (ValueError, ExportError) as exc:
        return _fail(str(exc))

    controller = Controller(session)
    controller.compute_now()
    if deck is not None:
        if lesson is not None:
            slides = lesson_slides(controller, lesson - 1, spec)
        else:
            slides = panel_slides(controller, [panels[p] for p in chosen or panels], spec)
        try:
            path = export_deck(slides, spec, deck)
        except ExportError as exc:
            return _fail(str(exc), 1)
        finally:
            controller.wait()
        print(path)
        return 0
    targets = [args.panel] if args.panel is not None else list(panels)
    if args.all is not None:
        folder = Path(args.all)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return _fail(f"cannot create {str(folder)!r}: {exc.strerror}", 1)
    code = 0
    for pid in targets:
        ext = args.data or spec.format
        out = Path(args.out) if args.panel is not None else Path(args.all) / f"{pid}.{ext}"
        try:
            if args.data:
                panel = panels[pid](controller)
                panel.result = controller.latest
                panel._stale = True
                panel.ensure_drawn()
                if args.panel is None and not panel.export_data():
                    # --all: a panel with nothing to show yet (Next token before a generation)
                    # is left out, and said so; asked for alone, it is an error below.
                    print(f"attnviz export: {pid}: no numbers to export, left out",
                          file=sys.stderr)  # fmt: skip
                    dispose(panel)
                    continue
                path = export_panel_data(panel, out, args.data)
                dispose(panel)
            else:
                path = export_panel_figure(panels[pid], controller, spec, out)
        except ExportError as exc:
            code = 1
            print(f"attnviz export: {pid}: {exc}", file=sys.stderr)
            continue
        print(path)
    controller.wait()
    return code
