"""The `attnviz` command.

    attnviz            open the app
    attnviz info       versions, the backend in use and why, GPU status; opens no window

Qt-free until a subcommand must draw, so `attnviz info` works on a machine with no display.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version


def _dist_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _qt_line() -> str:
    pyside = _dist_version("PySide6-Essentials") or _dist_version("PySide6")
    if pyside is None:
        return "not installed"
    try:
        from PySide6 import QtCore  # importing QtCore opens no window and needs no display

        return f"PySide6 {pyside} (Qt {QtCore.qVersion()})"
    except ImportError as exc:  # e.g. a missing system library such as libGL
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


def _cmd_gui(args: argparse.Namespace) -> int:
    from attnviz.gui.app import run_app

    return run_app(list(args.qt_args or []), check=args.check)


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
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        args = parser.parse_args(["gui"])
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
