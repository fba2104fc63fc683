"""GUI latency, offscreen: start-up to first painted window, and change -> panels redrawn.

    python benchmarks/gui_latency.py [--sizes 128 512 2048] [--repeat 5]

Start-up is timed from launching a fresh Python process to the main window's first paint with
the numbers of the panels on screen drawn,
against a minimal PySide6 + pyqtgraph window started the same way in the same run. A redraw is a
temperature change on N tokens of free text (and, when torch and transformers are installed, a
random 6-layer MiniLM-shaped BERT at --model-tokens tokens), timed from the assignment (what the
slider does) to the painted window, and split into compute (the pipeline on the worker thread)
and draw (from the result's arrival on the main thread to the end of the paint; hidden tabs are
not drawn). Each is set against its floor, measured in the same run: one NumPy softmax of the
selected head's N × N scores.
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
from pathlib import Path

import numpy as np

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
from attnviz.gui.window import MainWindow
s = QtCore.QSettings(sys.argv[2], QtCore.QSettings.Format.IniFormat)
w = MainWindow(settings=s); w.resize(1400, 900); w.show()
app.processEvents()
# until the panels on screen have drawn their numbers (computed on the worker once shown)
while any(p._stale for p in w._built.values() if p.showing()):
    w.controller.wait(); app.processEvents()
w.grab()
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


def _softmax_floor(s: np.ndarray, repeat: int) -> float:
    """Median seconds of one NumPy softmax of ``s`` (rows): the least a temperature change
    must compute for one head."""
    times = []
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        e /= e.sum(axis=-1, keepdims=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def _head_scores(w) -> np.ndarray:
    """The selected head's scaled scores (n, n), computed here, not by the app."""
    s = w.session
    if s.model_path is not None:
        from attnviz.state.pipeline import model_trace

        tr = model_trace(s.model_path, s.text)
        q, k = tr.q[s.layer][s.head], tr.k[s.layer][tr.kv_head(s.head)]
        scale = tr.scales[s.layer]
    else:
        from attnviz.lessons.scenes import get_scene

        built = get_scene(s.scene).build(s.text)
        q, k = built.x @ built.wq[s.head], built.x @ built.wk[s.head]
        scale = 1 / np.sqrt(q.shape[-1])
    return ((q @ k.T) * scale / s.temperature).astype(np.float32)


def redraw(w, texts: list[tuple[str, str]], repeat: int) -> list[tuple]:
    """Per text: median (change -> redrawn, compute on the worker, draw, floor) in seconds.

    "Redrawn" is what the next frame shows: the panels on screen have drawn the result and
    every changed region is painted (Qt paints what was updated, not the whole window)."""
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance()
    marks: dict[str, float] = {}
    deliver = w.controller._deliver

    def timed_deliver(result: object) -> None:
        marks["arrived"] = time.perf_counter()
        deliver(result)

    w.controller._deliver = timed_deliver  # type: ignore[method-assign]
    rows = []
    for label, text in texts:
        w.session.text = text
        w.controller.compute_now()
        app.processEvents()
        w.controller.wait()
        app.processEvents()
        total, compute, draw, floor = [], [], [], []
        for k in range(repeat):
            marks.clear()
            t0 = time.perf_counter()
            w.session.temperature = 0.5 + 0.25 * k  # what the slider does
            while "arrived" not in marks:
                app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)
            app.processEvents()  # the updated widgets paint (the next frame)
            t2 = time.perf_counter()
            total.append(t2 - t0)
            compute.append(w.controller.latest.seconds)
            draw.append(t2 - marks["arrived"])
            floor.append(_softmax_floor(_head_scores(w), 3))
        rows.append((label, *(statistics.median(x) for x in (total, compute, draw, floor))))
    w.controller._deliver = deliver  # type: ignore[method-assign]
    return rows


def _window():
    from PySide6 import QtCore, QtWidgets

    from attnviz.gui.window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    ini = os.path.join(tempfile.mkdtemp(), "settings.ini")
    w = MainWindow(settings=QtCore.QSettings(ini, QtCore.QSettings.Format.IniFormat))
    w.resize(1400, 900)
    w.show()
    app.processEvents()
    return app, w


def _six_layer_model(folder: str, tokens: int) -> str | None:
    """A MiniLM-shaped BERT (6 layers × 12 heads, random weights) for ``tokens`` tokens;
    None when torch and transformers (test-only) are not installed."""
    try:
        import torch
        import transformers
    except ImportError:
        return None
    sys.path.insert(0, os.path.dirname(__file__))
    from model_load import write_model
    from tokenizers import Tokenizer

    words = write_model(Path(folder), torch, transformers)
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.enable_truncation(max_length=512)
    tok.save(os.path.join(folder, "tokenizer.json"))
    return " ".join(words[i % 500] for i in range(tokens - 2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 2048])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--model-tokens", type=int, default=512)
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
    app, w = _window()
    texts = [(f"toy, {n} tokens", " ".join(f"w{i % 97}" for i in range(n))) for n in args.sizes]
    rows = redraw(w, texts, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        text = _six_layer_model(tmp, args.model_tokens)
        if text is not None:
            w.session.text = text  # the toy's 2,048 tokens would not fit the model
            if not w.set_model(tmp) or w.session.model_path is None:
                raise SystemExit(
                    f"the 6-layer model did not load: {w.statusBar().currentMessage()}"
                )
            w.controller.wait()
            app.processEvents()
            rows += redraw(w, [(f"6-layer BERT, {args.model_tokens} tokens", text)], args.repeat)
        else:
            print("(torch and transformers not installed: no 6-layer model row)")
        w.set_model(None)
        w.controller.wait()
    print()
    print("Temperature change; floor = one NumPy softmax of the selected head's N × N scores.")
    print()
    print("| input | change → redrawn ms | × floor | compute ms (worker) | × floor "
          "| draw ms (main thread) | floor ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for label, t, c, d, f in rows:
        print(f"| {label} | {t * 1000:.1f} | {t / f:.0f} | {c * 1000:.1f} | {c / f:.1f} "
              f"| {d * 1000:.1f} | {f * 1000:.2f} |", flush=True)  # fmt: skip
    w.close()
    w.deleteLater()
    app.processEvents()


if __name__ == "__main__":
    main()
