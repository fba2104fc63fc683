"""Memory over repeated exports, and the window's cost of one very long token (issue 19).

    python benchmarks/hostile_input.py [--rounds 8] [--token-chars 20000]

Memory: the process's resident size after each round of exporting every panel as PNG (11
figures), from a main window offscreen at 1600 × 1000. Long token: a text change to
"a <N characters> b" timed from the assignment to every panel drawn and the window painted,
against the same change to "a cat b" in the same run (ratio), then a font-size change after each.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import tempfile
import time
from pathlib import Path


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--token-chars", type=int, default=20_000)
    args = ap.parse_args()

    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    from attnviz.export import FigureSpec
    from attnviz.gui.exporters import export_panel_figure
    from attnviz.gui.lifetime import dispose
    from attnviz.gui.panels import all_panels
    from attnviz.gui.window import MainWindow

    tmp = Path(tempfile.mkdtemp())
    settings = QtCore.QSettings(str(tmp / "s.ini"), QtCore.QSettings.Format.IniFormat)
    w = MainWindow(settings=settings)
    w.resize(1600, 1000)
    w.show()
    w.controller.compute_now()
    app.processEvents()

    print(f"memory: resident MiB after each round of {len(all_panels())} PNG exports")
    print(f"  start {rss_mib():7.1f}")
    for k in range(args.rounds):
        for pid, cls in all_panels().items():
            export_panel_figure(cls, w.controller, FigureSpec(), tmp / f"{pid}.png")
        app.processEvents()
        print(f"  round {k + 1:2d} {rss_mib():7.1f}")

    def draw(text: str) -> tuple[float, float]:
        t0 = time.perf_counter()
        w.session.text = text
        w.controller.compute_now()
        for pid in w.docks:
            w.panel(pid).ensure_drawn()
        app.processEvents()
        w.grab()
        t1 = time.perf_counter()
        w.set_font_size(18)
        app.processEvents()
        w.grab()
        w.set_font_size(10)
        app.processEvents()
        return t1 - t0, time.perf_counter() - t1

    draw("a dog b")  # warm up
    short = draw("a cat b")
    long = draw("a " + "x" * args.token_chars + " b")
    widest = max(c.width() for c in w.findChildren(QtWidgets.QWidget))
    print(f"long token ({args.token_chars:,} characters) vs a short one, same run:")
    print(f"  text change: {long[0] * 1e3:8.1f} ms vs {short[0] * 1e3:6.1f} ms "
          f"({long[0] / short[0]:.2f}x)")  # fmt: skip
    print(f"  font 18 pt and back: {long[1] * 1e3:8.1f} ms vs {short[1] * 1e3:6.1f} ms "
          f"({long[1] / short[1]:.2f}x)")  # fmt: skip
    print(f"  widest widget: {widest} px")
    dispose(w)


if __name__ == "__main__":
    main()
