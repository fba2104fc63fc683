"""CPU attention benchmark: our standard and flash paths against torch SDPA, one thread.

    python benchmarks/attention_cpu.py [--sizes 1024 2048 4096 8192] [--dims 64 128] [--repeat 3]

Prints, per (N, d, full/causal): median seconds of torch SDPA (when torch imports; it is a
test-only dependency), our flash path (output only), our standard path returning the weights,
their ratios to torch measured in the same run, and the peak memory each of our paths allocates
beyond its inputs and output (tracemalloc, which sees NumPy's allocations).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # before NumPy loads BLAS: two threads on two cores time erratically

import argparse
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

import attnviz

MiB = 2**20


def median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: BLAS buffers, page faults, caches
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_extra(fn: Callable[[], object], returned_bytes: int) -> float:
    """MiB allocated at the peak of one call, minus what the call returns."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return (peak - base - returned_bytes) / MiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096, 8192])
    ap.add_argument("--dims", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
        sdpa_t = torch.nn.functional.scaled_dot_product_attention
    except ImportError:
        torch = None
    cpu = platform.processor() or platform.machine()
    torch_v = torch.__version__ if torch else "absent"
    print(f"# attnviz {attnviz.__version__}, NumPy {np.__version__}, torch {torch_v}, {cpu}, "
          "1 thread, float32, shape (1, 1, N, d)")  # fmt: skip
    print()
    print(
        "| N | d | mask | torch s | flash s | flash/torch | weights s | weights/torch "
        "| flash extra MiB | weights extra MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for n in args.sizes:
        for d in args.dims:
            q, k, v = (rng.standard_normal((1, 1, n, d), dtype=np.float32) for _ in range(3))
            out_bytes = q.nbytes
            for causal in (False, True):
                rep = args.repeat if n <= 4096 else max(1, args.repeat - 1)

                def flash(causal=causal, q=q, k=k, v=v):
                    return attnviz.scaled_dot_product_attention(
                        q, k, v, is_causal=causal, method="flash"
                    )

                def weights(causal=causal, q=q, k=k, v=v):
                    return attnviz.scaled_dot_product_attention(
                        q, k, v, is_causal=causal, method="standard", return_weights=True
                    )

                t_flash = median_time(flash, rep)
                t_w = median_time(weights, rep)
                if torch is not None:
                    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))

                    def ref_fn(tq=tq, tk=tk, tv=tv, causal=causal):
                        with torch.inference_mode():
                            return sdpa_t(tq, tk, tv, is_causal=causal)

                    t_ref = median_time(ref_fn, rep)
                    r_flash, r_w = f"{t_flash / t_ref:.2f}", f"{t_w / t_ref:.2f}"
                    ref = f"{t_ref:.4f}"
                else:
                    ref = r_flash = r_w = "n/a"
                m_flash = peak_extra(flash, out_bytes)
                m_w = peak_extra(weights, out_bytes + 4 * n * n)
                print(f"| {n} | {d} | {'causal' if causal else 'full'} | {ref} | {t_flash:.4f} "
                      f"| {r_flash} | {t_w:.4f} | {r_w} | {m_flash:.1f} | {m_w:.1f} |",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
