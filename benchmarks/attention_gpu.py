"""Forward attention throughput on the GPU: our flash kernels against CuPy and torch.

One run, CUDA events, median of several timed calls after warm-up; a call is timed end to end
(argument checks and the tiny kv-length fill included, as an application sees it). Throughput
counts the two matmuls only: 4 · L · S · d FLOPs per head (halved for causal self-attention), so
every column is on the same scale whatever the kernel really does. Columns:

    ours fp32        attnviz flash kernel, float32 (SIMT)
    ours fp16, bf16  attnviz flash kernel, float16 / bfloat16 (mma.sync tensor cores;
                     bfloat16 arrays need ml_dtypes)
    CuPy std fp32    the core's standard path on CuPy arrays (attnviz.core.attention.attention)
    torch …          torch.nn.functional.scaled_dot_product_attention, one backend forced
                     (flash, efficient, cuDNN in bf16; efficient in fp32), only if torch imports

Batch and heads follow FlashAttention's benchmark: B · N = 16k tokens, H · d = 2048.

    python benchmarks/attention_gpu.py            # d 64, 128; N 1k-16k; full and causal
    python benchmarks/attention_gpu.py --max-n 4096
    python benchmarks/attention_gpu.py --dry-run   # the problems it would measure, no GPU
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from attnviz.backends import cupy_backend as cb
from attnviz.core.attention import attention

TOKENS = 16 * 1024
MODEL_DIM = 2048
STANDARD_MAX_BYTES = 40 * 2**30  # the CuPy standard path holds ~4 L x S float32 arrays


def _median_ms(
    fn: Callable[[], Any], new_event: Callable[[], Any], elapsed_ms: Callable[[Any, Any], float]
) -> float:
    """Median milliseconds of ``fn`` between two CUDA events, after two warm-up calls."""
    for _ in range(2):
        fn()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < 5 or (len(times) < 30 and time.perf_counter() - started < 1.0):
        start, end = new_event(), new_event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(elapsed_ms(start, end))
    return statistics.median(times)


class _Timers:
    def __init__(self) -> None:
        import cupy

        self.cupy = cupy
        try:
            import torch
        except ImportError:
            torch = None
        self.torch = torch if torch is not None and torch.cuda.is_available() else None

    def cupy_ms(self, fn: Callable[[], Any]) -> float:
        cupy = self.cupy
        return _median_ms(fn, cupy.cuda.Event, cupy.cuda.get_elapsed_time)

    def torch_ms(self, fn: Callable[[], Any]) -> float:
        torch = self.torch
        return _median_ms(
            fn, lambda: torch.cuda.Event(enable_timing=True), lambda a, b: a.elapsed_time(b)
        )


def _cupy_inputs(cupy: Any, shape: tuple[int, int, int, int, int, int], dtype: str):
    batch, heads_q, heads_kv, length_l, length_s, head_dim = shape
    rng = cupy.random.default_rng(0)
    arrays = [
        rng.standard_normal((batch, heads_q, length_l, head_dim), dtype=cupy.float32),
        rng.standard_normal((batch, heads_kv, length_s, head_dim), dtype=cupy.float32),
        rng.standard_normal((batch, heads_kv, length_s, head_dim), dtype=cupy.float32),
    ]
    if dtype == "bfloat16":
        return [cb._from_float32(a, _bfloat16_dtype()) for a in arrays]
    return [a.astype(dtype) for a in arrays]


def _bfloat16_dtype() -> Any:
    import ml_dtypes

    return ml_dtypes.bfloat16


def _row(
    timers: _Timers, shape: tuple[int, int, int, int, int, int], causal: bool
) -> dict[str, str]:
    """TFLOP/s of every contender for one problem; '—' where it does not run."""
    batch, heads_q, heads_kv, length_l, length_s, head_dim = shape
    flops = 4.0 * length_l * length_s * head_dim * batch * heads_q
    if causal:
        flops /= 2
    scale = 1.0 / math.sqrt(head_dim)
    cells: dict[str, str] = {}

    def measure(label: str, run: Callable[[], float]) -> None:
        try:
            cells[label] = f"{flops / (run() * 1e-3) / 1e12:.1f}"
        except Exception as exc:  # OOM, unsupported backend, missing bfloat16: keep going
            cells[label] = "—"
            print(
                f"  {label}: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}",
                file=sys.stderr,
            )

    cupy = timers.cupy
    for label, dtype in (
        ("ours fp32", "float32"),
        ("ours fp16", "float16"),
        ("ours bf16", "bfloat16"),
    ):

        def ours(dtype: str = dtype) -> float:
            q, k, v = _cupy_inputs(cupy, shape, dtype)
            return timers.cupy_ms(
                lambda: cb.flash_attention(q, k, v, scale=scale, is_causal=causal)
            )

        measure(label, ours)

    def standard() -> float:
        if 4 * 4 * batch * heads_q * length_l * length_s > STANDARD_MAX_BYTES:
            raise MemoryError("skipped: the full L x S matrices would not fit comfortably")
        q, k, v = _cupy_inputs(cupy, shape, "float32")
        return timers.cupy_ms(
            lambda: attention(q, k, v, scale=scale, is_causal=causal, method="standard")
        )

    measure("CuPy std fp32", standard)

    torch = timers.torch
    if torch is None:
        return cells
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = [
        ("torch flash bf16", SDPBackend.FLASH_ATTENTION, torch.bfloat16),
        ("torch efficient bf16", SDPBackend.EFFICIENT_ATTENTION, torch.bfloat16),
        ("torch cuDNN bf16", getattr(SDPBackend, "CUDNN_ATTENTION", None), torch.bfloat16),
        ("torch efficient fp32", SDPBackend.EFFICIENT_ATTENTION, torch.float32),
    ]
    for label, backend, tdtype in backends:

        def sdpa(backend: Any = backend, tdtype: Any = tdtype) -> float:
            if backend is None:
                raise RuntimeError("this torch has no cuDNN attention backend")
            gen = torch.Generator(device="cuda").manual_seed(0)
            q = torch.randn(batch, heads_q, length_l, head_dim, device="cuda", generator=gen)
            k = torch.randn(batch, heads_kv, length_s, head_dim, device="cuda", generator=gen)
            v = torch.randn(batch, heads_kv, length_s, head_dim, device="cuda", generator=gen)
            q, k, v = (x.to(tdtype) for x in (q, k, v))
            gqa = {"enable_gqa": True} if heads_q != heads_kv else {}
            with sdpa_kernel(backend):
                return timers.torch_ms(
                    lambda: torch.nn.functional.scaled_dot_product_attention(
                        q, k, v, is_causal=causal, scale=scale, **gqa
                    )
                )

        measure(label, sdpa)
    return cells


def _problems(
    head_dims: list[int], max_n: int
) -> list[tuple[str, tuple[int, int, int, int, int, int], bool]]:
    """(kind, (B, Hq, Hkv, L, S, d), causal) for every row of the table."""
    problems: list[tuple[str, tuple[int, int, int, int, int, int], bool]] = []
    for head_dim in head_dims:
        heads = MODEL_DIM // head_dim
        n = 1024
        while n <= max_n:
            batch = max(1, TOKENS // n)
            for causal in (False, True):
                problems.append(("self", (batch, heads, heads, n, n, head_dim), causal))
            n *= 2
    problems.append(("GQA 32/8", (4, 32, 8, 4096, 4096, 128), True))
    problems.append(("cross", (4, 16, 16, 1024, 8192, 64), False))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=16 * 1024, help="longest sequence")
    parser.add_argument("--head-dims", type=int, nargs="+", default=[64, 128])
    parser.add_argument(
        "--dry-run", action="store_true", help="print the problems it would measure; no GPU"
    )
    args = parser.parse_args(argv)
    problems = _problems(args.head_dims, args.max_n)
    if args.dry_run:
        for kind, shape, causal in problems:
            print(f"would measure {kind} {shape} causal={causal}")
        return 0

    ok, text = cb.probe()
    if not ok:
        print(f"attention_gpu: no usable GPU, nothing to measure ({text})", file=sys.stderr)
        return 2
    cb.CHECK_LAUNCHES = False  # back-to-back launches; timing calls synchronise on events
    timers = _Timers()

    torch_note = (
        f"torch {timers.torch.__version__}" if timers.torch is not None else "torch not available"
    )
    print(f"# Attention forward, TFLOP/s (higher is better)\n\n{text}; {torch_note}\n")
    rows = []
    for kind, shape, causal in problems:
        batch, heads_q, heads_kv, length_l, length_s, head_dim = shape
        print(f"measuring {kind} {shape} causal={causal}", file=sys.stderr)
        cells = _row(timers, shape, causal)
        heads = f"{heads_q}" if heads_q == heads_kv else f"{heads_q}/{heads_kv}"
        size = f"{length_l}" if length_l == length_s else f"{length_l}×{length_s}"
        label = f"{kind} B={batch} H={heads} N={size} d={head_dim}{' causal' if causal else ''}"
        rows.append((label, cells))
    columns = list(dict.fromkeys(c for _, cells in rows for c in cells))
    print("| problem | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for label, cells in rows:
        print(f"| {label} | " + " | ".join(cells.get(c, "—") for c in columns) + " |")
    times = ", ".join(f"{k[0]}/d{k[1]}/{k[2]} {s:.2f}s" for k, s in cb.compile_times().items())
    print(f"\nFirst-use compile + load times: {times}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
