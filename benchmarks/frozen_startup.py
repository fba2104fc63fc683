"""Start-up of the frozen Linux bundle against the same app run from the virtual environment.

    bash packaging/build_linux.sh && python benchmarks/frozen_startup.py [--repeat 5]

Times, from process launch to exit, `attnviz gui --check` (builds and paints the main window
offscreen, then quits) and `attnviz info`, median of --repeat runs each, in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FROZEN = ROOT / "build" / "linux" / "dist" / "attnviz" / "attnviz"
VENV = Path(sys.executable).with_name("attnviz")


def median_seconds(cmd: list[str], repeat: int) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not FROZEN.exists():
        print(f"no bundle at {FROZEN}; run bash packaging/build_linux.sh first", file=sys.stderr)
        return 2
    print(f"# median of {args.repeat}, offscreen")
    print()
    print("| command | venv s | frozen s | frozen / venv |")
    print("|---|---|---|---|")
    for sub in (["gui", "--check"], ["info"]):
        v = median_seconds([str(VENV), *sub], args.repeat)
        f = median_seconds([str(FROZEN), *sub], args.repeat)
        print(f"| attnviz {' '.join(sub)} | {v:.3f} | {f:.3f} | {f / v:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
