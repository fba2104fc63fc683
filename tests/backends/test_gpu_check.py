"""The one-command GPU check runs, up to the GPU, anywhere (issue 14, item 7): a session lent a
GPU for a few minutes must not find out there that the script itself is broken."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run_passes_and_writes_its_logs(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable}
    r = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "gpu_check: passed" in r.stdout
    tests_log = (tmp_path / "gpu-tests.log").read_text()
    assert "tests collected" in tests_log and "test_cupy_backend.py" in tests_log
    plan = (tmp_path / "benchmark.log").read_text().splitlines()
    assert len(plan) == 2 * 2 * 5 + 2  # d 64 and 128, full and causal, N 1k..16k; GQA; cross
    assert all(line.startswith("would measure") for line in plan)


def test_gpu_check_refuses_an_unknown_option(tmp_path):
    r = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dryrun"],
        cwd=ROOT, env={**os.environ, "OUT": str(tmp_path)}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 2 and "usage" in r.stderr
