"""Head grid redraw: 144 heads (12 layers × 12 heads, BERT-base) at 512 tokens, offscreen.

    python benchmarks/head_grid.py [--heads 144] [--tokens 512] [--repeat 5]

Times TileGrid.set_tiles (pool, quantise, compose one image) plus a repaint, median after a
warm-up, against drawing a single 512 × 512 Heatmap the same way in the same run.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--heads", type=int, default=144)
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from PySide6 import QtWidgets

    from attnviz.gui.widgets.heatmap import Heatmap
    from attnviz.gui.widgets.tile_grid import TileGrid

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rng = np.random.default_rng(0)
    n, h = args.tokens, args.heads
    stacks = []
    for _ in range(args.repeat + 1):
        w = rng.random((h, n, n), dtype=np.float32)
        stacks.append(w / w.sum(-1, keepdims=True))
    labels = [f"t{i}" for i in range(n)]
    grid = TileGrid()
    grid.resize(1000, 820)
    grid.show()
    heat = Heatmap()
    heat.resize(600, 600)
    heat.show()
    app.processEvents()

    def timed(draw) -> float:
        times = []
        for k, w in enumerate(stacks):
            t0 = time.perf_counter()
            draw(w)
            app.processEvents()
            if k:  # the first round is the warm-up
                times.append(time.perf_counter() - t0)
        return statistics.median(times)

    titles = [f"L{i // 12 + 1} H{i % 12 + 1}" for i in range(h)]
    t_grid = timed(lambda w: (grid.set_tiles(w, titles, columns=12), grid.repaint()))
    t_one = timed(lambda w: (heat.set_data(w[0], labels), heat.repaint()))
    print("| what | ms | ratio to one heatmap |\n|---|---|---|")
    print(f"| one {n}×{n} heatmap | {t_one * 1000:.1f} | 1.00 |")
    print(f"| head grid, {h} heads × {n} tokens | {t_grid * 1000:.1f} | {t_grid / t_one:.1f} |")


if __name__ == "__main__":
    main()
