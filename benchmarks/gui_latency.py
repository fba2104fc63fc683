"""GUI latency, offscreen: start-up to first painted window, and change -> panels redrawn.

    python benchmarks/gui_latency.py [--sizes 128 512 2048] [--repeat 5]

Start-up is timed from launching a fresh Python process to the main window's first paint,
against a minimal PySide6 + pyqtgraph window started the same way in the same run. A redraw is a
temperature change on N tokens of free text, timed from the assignment (what the slider does) to
the repainted window, and split into compute (the pipeline on the worker thread) and draw (from
the result's arrival on the main thread to the end of the repaint; hidden tabs are not drawn).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

MINIMAL = """
import time, sys
t0 = float(sys.argv[1])
from PySide6 import QtWidgets
import pyqtgraph as pg
app = QtWidgets.QApplication([])
w = QtWidgets.QMainWindow(); w.setCentralWidget(pg.PlotWidget()); w.resize(1400, 900); w.show()
app.processEvents(); w.grab()
print(time.time() - t0)
w.close(); w.deleteLater(); app.processEvents()
"""

ATTNVIZ = """
import time, sys
t0 = float(sys.argv[1])
from PySide6 import QtCore, QtWidgets
app = QtWidgets.QApplication([])
from attnviz.gui.main_window import MainWindow
s = QtCore.QSettings(sys.argv[2], QtCore.QSettings.Format.IniFormat)
w = MainWindow(settings=s); w.resize(1400, 900); w.show()
app.processEvents(); w.grab()
print(time.time() - t0)
w.close(); w.deleteLater(); app.processEvents()
"""


def startup(code: str, repeat: int, *extra: str) -> float:
    times = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", code, repr(time.time()), *extra],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def redraw(sizes: list[int], repeat: int) -> list[tuple[int, float, float, float]]:
    """Per N: median (change -> redrawn, compute on the worker, draw on the main thread)."""
    from PySide6 import QtCore, QtWidgets

    from attnviz.gui.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    ini = os.path.join(tempfile.mkdtemp(), "settings.ini")
    w = MainWindow(settings=QtCore.QSettings(ini, QtCore.QSettings.Format.IniFormat))
    w.resize(1400, 900)
    w.show()
    app.processEvents()
    marks: dict[str, float] = {}
    deliver = w.controller._deliver

    def timed_deliver(result: object) -> None:
        marks["arrived"] = time.perf_counter()
        deliver(result)

    w.controller._deliver = timed_deliver  # type: ignore[method-assign]
    rows = []
    for n in sizes:
        w.session.text = " ".join(f"w{i % 97}" for i in range(n))
        w.controller.compute_now()
        app.processEvents()
        total, compute, draw = [], [], []
        for k in range(repeat):
            marks.clear()
            t0 = time.perf_counter()
            w.session.temperature = 0.5 + 0.25 * k  # what the slider does
            while "arrived" not in marks:
                app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)
            w.repaint()  # paint now, as the next frame would
            app.processEvents()
            t2 = time.perf_counter()
            total.append(t2 - t0)
            compute.append(w.controller.latest.seconds)
            draw.append(t2 - marks["arrived"])
        rows.append((n, *(statistics.median(x) for x in (total, compute, draw))))
    w.controller.wait()
    w.close()
    w.deleteLater()
    app.processEvents()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 2048])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t_min = startup(MINIMAL, args.repeat)
        t_app = startup(ATTNVIZ, args.repeat, os.path.join(tmp, "s.ini"))
    print(f"# offscreen, 1 BLAS thread, median of {args.repeat}")
    print()
    print("| start-up | seconds | ratio to minimal PySide6 + pyqtgraph window |")
    print("|---|---|---|")
    print(f"| minimal window | {t_min:.3f} | 1.00 |")
    print(f"| attnviz main window | {t_app:.3f} | {t_app / t_min:.2f} |")
    print()
    print("| N tokens | change → redrawn ms | compute ms (worker thread) | draw ms (main thread) |")
    print("|---|---|---|---|")
    for n, t, c, d in redraw(args.sizes, args.repeat):
        print(f"| {n} | {t * 1000:.1f} | {c * 1000:.1f} | {d * 1000:.1f} |", flush=True)


if __name__ == "__main__":
    main()
