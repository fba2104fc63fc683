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

    from attnviz.gui.app import dispose, quiet_offscreen_messages
    from attnviz.gui.controller import Controller
    from attnviz.gui.exporters import export_panel_data, export_panel_figure
    from attnviz.gui.panels import all_panels
    from attnviz.state.scene_file import apply_scene, load_scene
    from attnviz.state.session import Session

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
        if getattr(args, "layer", None) is not None:
            session.layer = args.layer - 1
        if args.head is not None:
            session.head = args.head - 1
        if args.token is not None:
            session.selected_token = args.token - 1
        if args.temperature is not None:
            session.temperature = args.temperature
        if session.attention is not None:  # the saved probabilities keep their own mask
            pass
        elif args.causal or (session.model is None and getattr(args, "scene_file", None) is None):
            # A model keeps its own mask (decoders: on), and a scene file its saved one.
            session.causal = args.causal
        fmt = args.format
        if args.panel is not None and not args.data:
            fmt = format_for(args.out, fmt, kind="figure").name
        spec = FigureSpec(
            format=fmt or "png", scale=args.scale, dpi=args.dpi, style=args.style,
            background=args.background, title=args.title, caption=args.caption,
            width=args.width, height=args.height,
        )  # fmt: skip
    except (ValueError, ExportError) as exc:
        return _fail(str(exc))

    controller = Controller(session)
    controller.compute_now()
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
