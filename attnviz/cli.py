"""The `attnviz` command.

    attnviz            open the app
    attnviz FILE.attnviz   open the app showing a saved scene
    attnviz lessons    the course outline (no window)
    attnviz info       versions, the backend in use and why, GPU status; opens no window
    attnviz export     figures (PNG, SVG, PDF) or data (CSV, NPZ, JSON), no display needed

Qt-free until a subcommand must draw, so `attnviz info` works on a machine with no display.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from attnviz.export import FIGURE_FORMATS

SCENE_SUFFIX = ".attnviz"  # attnviz.state.scene_file.SCENE_SUFFIX, without importing the state


def _dist_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _qt_line() -> str:
    try:
        import PySide6
        from PySide6 import QtCore  # importing QtCore opens no window and needs no display

        return f"PySide6 {PySide6.__version__} (Qt {QtCore.qVersion()})"
    except ImportError as exc:  # e.g. a missing system library such as libGL
        pyside = _dist_version("PySide6-Essentials") or _dist_version("PySide6")
        if pyside is None:
            return "not installed"
        return f"PySide6 {pyside} installed but does not import: {exc}"


def info_lines() -> list[str]:
    """What `attnviz info` prints, one fact a line."""
    import numpy as np

    from attnviz import __version__
    from attnviz.backends import BackendUnavailable, backend_status, cupy_backend

    try:
        choice = backend_status()
        backend = f"{choice.name}: {choice.reason}"
    except (ValueError, BackendUnavailable) as exc:
        backend = f"none: {exc}"
    ok, why = cupy_backend.probe()
    cupy_v = _dist_version("cupy-cuda13x") or _dist_version("cupy-cuda12x") or _dist_version("cupy")
    gpu = f"CuPy {cupy_v}: {why}" if cupy_v else f"CuPy not installed ({why})"
    return [
        f"attnviz {__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()}) "
        f"on {platform.system()} {platform.machine()}",
        f"NumPy {np.__version__}",
        f"Qt {_qt_line()}",
        f"backend {backend}",
        f"GPU {'available' if ok else 'unavailable'}; {gpu}",
    ]


def _cmd_info(_args: argparse.Namespace) -> int:
    width = 8
    for line in info_lines():
        head, _, rest = line.partition(" ")
        print(f"{head:<{width}} {rest}")
    return 0


def _cmd_lessons(_args: argparse.Namespace) -> int:
    from attnviz.lessons.course import outline

    print("attnviz course — open the app and use View → Lesson (Left/Right arrows step)")
    for line in outline():
        print(line)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from attnviz.gui.export_cli import run_export

    return run_export(args)


def _export_arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--panel", metavar="ID", help="the panel to export (see --list-panels)")
    what.add_argument("--all", metavar="DIR", help="export every panel into DIR")
    what.add_argument("--deck", metavar="FILE.pdf",
                      help="one PDF, a page per panel or lesson step")  # fmt: skip
    what.add_argument("--list-panels", action="store_true", help="list the panel ids and exit")
    p.add_argument("--panels", metavar="A,B,…", help="the deck's panels, in order (default: all)")
    p.add_argument("--lesson", type=int, metavar="N",
                   help="with --deck: each step of lesson N (from 1)")  # fmt: skip
    p.add_argument("--out", metavar="FILE", help="output file for --panel (format from extension)")
    p.add_argument("--format", choices=FIGURE_FORMATS, help="figure format (default: from --out)")
    p.add_argument("--data", choices=("csv", "npz", "json"),
                   help="write the numbers behind the panel instead of a figure")  # fmt: skip
    p.add_argument("--scene-file", metavar="FILE.attnviz",
                   help="a saved scene (File → Save scene…); options below refine it")  # fmt: skip
    p.add_argument("--scene", help="lesson scene: cat, game, qkv4 or free")
    p.add_argument("--text", help="free text to show (switches to the free-text scene)")
    p.add_argument("--model", metavar="DIR",
                   help="a real model folder (config.json, safetensors, tokenizer)")  # fmt: skip
    p.add_argument("--attention-file", metavar="FILE",
                   help="saved attention probabilities: .npz/.npy (layers, heads, L, S) or "
                        "(heads, L, S) with its tokens")  # fmt: skip
    p.add_argument(
        "--target",
        metavar="TEXT",
        help="an encoder–decoder's target (default: the model's own translation)",
    )
    p.add_argument(
        "--stack",
        choices=("encoder", "decoder"),
        help="an encoder–decoder's self-attention to show (default: encoder)",
    )
    p.add_argument("--layer", type=int, help="layer number, from 1 (real models)")
    p.add_argument("--hide-special", action="store_true",
                   help="drop [CLS]/[SEP]/<s> … and renormalise (real models)")  # fmt: skip
    p.add_argument("--head", type=int, help="head number, from 1")
    p.add_argument("--token", type=int, help="selected token, from 1")
    p.add_argument("--temperature", type=float, help="attention temperature T > 0")
    p.add_argument("--causal", action="store_true", help="apply the causal mask")
    p.add_argument("--scale", type=float, default=1.0,
                   help="raster scale 1-4 (default 1: a 16:9 slide is 1920 x 1080 px)")  # fmt: skip
    p.add_argument("--dpi", type=float, help="raster resolution instead of --scale")
    p.add_argument("--style", choices=("slide", "screen"), default="slide")
    p.add_argument("--background", choices=("white", "transparent"), default="white")
    p.add_argument("--title", default="")
    p.add_argument("--caption", default="")
    p.add_argument("--aspect", choices=("16:9", "4:3"), default="16:9",
                   help="slide shape: 13.33 x 7.5 in or 10 x 7.5 in (default 16:9)")  # fmt: skip
    p.add_argument("--theme", choices=("light", "dark"), default="light",
                   help="slide colours (default light)")  # fmt: skip
    p.add_argument("--font-size", type=int, default=16, dest="font_pt",
                   help="slide text size in pt, at least 14 (default 16)")  # fmt: skip
    p.add_argument("--width", type=int, default=1600,
                   help="screen-style figure width in px (default 1600)")  # fmt: skip
    p.add_argument("--height", type=int, default=1000,
                   help="screen-style figure height in px (default 1000)")  # fmt: skip


def _cmd_gui(args: argparse.Namespace) -> int:
    from attnviz.gui.app import run_app

    rest = list(args.qt_args or [])
    scenes = [a for a in rest if a.endswith(SCENE_SUFFIX) and not a.startswith("-")]
    if len(scenes) > 1:
        print("attnviz: open one scene file at a time", file=sys.stderr)
        return 2
    qt_args = [a for a in rest if a not in scenes]
    return run_app(qt_args, check=args.check, scene=scenes[0] if scenes else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attnviz",
        description="See, step by step and with real numbers, how transformer attention works.",
    )
    parser.add_argument(
        "--version", action="version", version=f"attnviz {_dist_version('attnviz')}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_info = sub.add_parser("info", help="versions, backend and GPU status (no window)")
    p_info.set_defaults(func=_cmd_info)
    p_lessons = sub.add_parser("lessons", help="print the course outline (no window)")
    p_lessons.set_defaults(func=_cmd_lessons)
    p_export = sub.add_parser(
        "export",
        help="export figures (PNG, SVG, PDF) or data (CSV, NPZ, JSON) without a display",
        description="Export a panel, or every panel, as a figure or as the numbers behind it.",
    )
    _export_arguments(p_export)
    p_export.set_defaults(func=_cmd_export)
    p_gui = sub.add_parser("gui", help="open the app (the default)")
    p_gui.add_argument(
        "--check", action="store_true", help="build the window, draw it once and exit"
    )
    p_gui.add_argument("qt_args", nargs="*", help=argparse.SUPPRESS)
    p_gui.set_defaults(func=_cmd_gui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `attnviz` console script and of `python -m attnviz`."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].endswith(SCENE_SUFFIX):  # `attnviz talk.attnviz` opens it
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui"])
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
