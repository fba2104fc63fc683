"""Measure standard against flash attention on the active backend: time and peak memory.

Qt-free: the flash panel runs :func:`measure_attention` on a worker thread and passes a
``cancel`` callable and a ``progress`` callback; this module knows nothing of threads.

Before anything is allocated the size is checked (:func:`check_fits`): the standard path keeps
the N×N float32 probabilities, and :func:`attnviz.core.memory.attention_cost` says how many bytes
that is. A size above :func:`memory_limit` is refused with the number it would need.

Peak memory is what ``tracemalloc`` sees allocated on the host above the level before the call
(NumPy reports its buffers to it). On the CuPy backend the arrays live on the GPU, which
tracemalloc cannot see, so there only the host side is counted and the result says so.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from attnviz.backends import scaled_dot_product_attention, select_backend
from attnviz.core.memory import attention_cost

__all__ = [
    "MEASURE_CAP_BYTES",
    "Cancelled",
    "Measurement",
    "PathMeasurement",
    "check_fits",
    "human_bytes",
    "measure_attention",
    "measurement_bytes",
    "memory_limit",
    "physical_memory_bytes",
]

# Never ask for more than this, whatever the machine: a lecture should not swap.
MEASURE_CAP_BYTES = 2 * 2**30
MEASURE_DTYPE_BYTES = 4  # the measurement runs in float32, as the backends compute


class Cancelled(Exception):
    """The measurement was cancelled between two of its steps."""


def human_bytes(n: float) -> str:
    """Bytes in binary units: 33554432 -> '32.0 MiB'."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def physical_memory_bytes() -> int | None:
    """This machine's RAM in bytes, or None where the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit() -> tuple[int, str]:
    """The most a measurement may need, and why: the cap, or half the RAM if that is less."""
    ram = physical_memory_bytes()
    if ram is not None and ram // 2 < MEASURE_CAP_BYTES:
        return ram // 2, f"half of this machine's {human_bytes(ram)} of RAM"
    return MEASURE_CAP_BYTES, f"attnviz's cap of {human_bytes(MEASURE_CAP_BYTES)} per measurement"


def measurement_bytes(n: int, head_dim: int) -> int:
    """What the standard path needs for one float32 head: Q, K, V, O and the N×N probabilities."""
    return attention_cost(n, head_dim, heads=1, dtype_bytes=MEASURE_DTYPE_BYTES).standard_bytes


def check_fits(n: int, head_dim: int, limit: int | None = None) -> int:
    """Return the bytes a measurement at ``n`` needs; ValueError if above the limit."""
    need = measurement_bytes(n, head_dim)
    if limit is None:
        limit, why = memory_limit()
    else:
        why = "the limit given"
    if need > limit:
        raise ValueError(
            f"N = {n:,} would need {human_bytes(need)} ({need:,} bytes) for the standard path "
            f"(the {n:,} × {n:,} float32 weights plus Q, K, V and O); the limit is "
            f"{human_bytes(limit)}, {why}. Choose a smaller N."
        )
    return need


@dataclass(frozen=True)
class PathMeasurement:
    """One path's best time over the repeats and its largest peak of host memory."""

    method: str
    seconds: float
    peak_bytes: int
    predicted_extra_bytes: int  # attention_cost's extra memory for this path (float32)


@dataclass(frozen=True)
class Measurement:
    n: int
    head_dim: int
    backend: str  # "numpy" or "cupy"
    backend_reason: str  # why that backend (select_backend's reason)
    repeats: int
    standard: PathMeasurement
    flash: PathMeasurement
    max_abs_diff: float  # |flash - standard| over the outputs
    note: str


def _traced_call(fn: Callable[[], object]) -> tuple[object, float, int]:
    """Run fn; return its value, the seconds it took and the host memory it added at its peak."""
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] - base
    return value, seconds, max(0, peak)


def measure_attention(
    n: int,
    head_dim: int = 64,
    *,
    backend: str | None = None,
    repeats: int = 3,
    seed: int = 0,
    cancel: Callable[[], bool] | None = None,
    progress: Callable[[float, str], None] | None = None,
    limit: int | None = None,
) -> Measurement:
    """Time both paths on one float32 head of length ``n``; raises Cancelled or ValueError.

    The standard path runs with ``return_weights=True`` (it keeps the N×N probabilities, as a
    training framework does for the backward pass); the flash path returns only the output.
    Each runs ``repeats`` times; the best time and the largest peak are kept. ``cancel`` is
    asked before every run, ``progress(fraction, text)`` told after it.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    check_fits(n, head_dim, limit)
    choice = select_backend(backend)
    ask = cancel or (lambda: False)
    tell = progress or (lambda fraction, text: None)
    total = 2 * repeats + 1
    done = 0

    def step(text: str) -> None:
        nonlocal done
        done += 1
        tell(done / total, text)

    if ask():
        raise Cancelled
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((1, n, head_dim), dtype=np.float32) for _ in range(3))
    step(f"made Q, K, V: 3 × {n:,} × {head_dim} float32")
    cost = attention_cost(n, head_dim, heads=1, dtype_bytes=MEASURE_DTYPE_BYTES)
    started = tracemalloc.is_tracing()
    if not started:
        tracemalloc.start()
    try:
        runs: dict[str, list[tuple[float, int]]] = {"standard": [], "flash": []}
        outputs: dict[str, np.ndarray] = {}
        for method in ("standard", "flash"):
            for r in range(repeats):
                if ask():
                    raise Cancelled

                def call(method: str = method) -> object:
                    return scaled_dot_product_attention(
                        q, k, v, method=method, return_weights=method == "standard",
                        backend=choice.name,
                    )  # fmt: skip

                value, seconds, peak = _traced_call(call)
                out = value[0] if method == "standard" else value  # type: ignore[index]
                outputs[method] = np.asarray(out)
                del value, out  # the N×N weights go before the next run
                runs[method].append((seconds, peak))
                step(f"{method}: run {r + 1} of {repeats}, {seconds * 1000:.1f} ms")
    finally:
        if not started:
            tracemalloc.stop()
    diff = float(np.abs(outputs["flash"] - outputs["standard"]).max())
    note = "host memory (tracemalloc)"
    if choice.name == "cupy":
        note += "; the GPU's memory is not counted and times include copies to and from it"

    def summary(method: str, extra: int) -> PathMeasurement:
        times, peaks = zip(*runs[method], strict=True)
        return PathMeasurement(method, min(times), max(peaks), extra)

    return Measurement(
        n=n,
        head_dim=head_dim,
        backend=choice.name,
        backend_reason=choice.reason,
        repeats=repeats,
        standard=summary("standard", cost.standard_extra_bytes),
        flash=summary("flash", cost.flash_extra_bytes),
        max_abs_diff=diff,
        note=note,
    )
