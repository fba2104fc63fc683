"""Training the tiny transformer: steps per second, seconds until an induction head forms, and
the NumPy step's time against torch's for the same model on the CPU, in the same run.

    python benchmarks/training.py [--seeds 0 1 2] [--steps 4000] [--threads 1]

Default settings of attnviz.train (the induction task, two attention-only layers of two heads,
d_model 32, RoPE, batch 32, AdamW at 1e-2), on one thread (``--threads``: NumPy's BLAS and torch
alike). "seconds to induction" is training time (the optimiser's steps, not the score checks)
until some head's induction score on the probe reaches 0.5, checked every 25 steps; it is what
the Training panel's promise ("within a minute on one core") rests on. The torch step is the
same model written with torch (tests/train/torch_twin.py: autograd for the backward pass,
torch.optim.AdamW), timed on the same batches after a warm-up; torch is optional.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path


def _threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=4000, help="give up after this many steps")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--torch-steps", type=int, default=200)
    args = ap.parse_args()
    _threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.train.torch_twin

    import numpy as np

    from attnviz.train import Trainer, TrainSettings

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    print(f"{cpu}, {os.cpu_count()} CPUs, {args.threads} thread(s), NumPy {np.__version__}")
    print()
    print("| seed | steps to induction ≥ 0.5 | seconds to induction | steps/s | "
          "loss on the repeat then | on the rest |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    rates = []
    for seed in args.seeds:
        t = Trainer(TrainSettings(seed=seed))
        while t.step_count < args.steps and t.best_induction() < 0.5:
            t.run(t.settings.every)
        r = t.records[-1]
        rate = t.step_count / t.seconds
        rates.append(rate)
        reached = t.best_induction() >= 0.5
        steps = f"{t.step_count:,}" if reached else f"not in {t.step_count:,}"
        secs = f"{t.seconds:.1f}" if reached else "-"
        print(f"| {seed} | {steps} | {secs} | {rate:.0f} | {r.second_half:.2f} | "
              f"{r.first_half:.2f} |")  # fmt: skip

    try:
        import torch
    except ImportError:
        print("\ntorch is not installed: no torch column")
        return 0
    from tests.train import torch_twin

    torch.set_num_threads(args.threads)
    t = Trainer(TrainSettings(seed=0))
    model = t.model
    p = torch_twin.params_of(model)
    opt = torch.optim.AdamW(list(p.values()), lr=t.settings.lr, betas=(0.9, 0.98),
                            weight_decay=t.settings.weight_decay)  # fmt: skip
    batches = [t.task.batch(np.random.default_rng(i), t.settings.batch)
               for i in range(args.torch_steps)]  # fmt: skip

    def torch_step(b) -> None:
        opt.zero_grad()
        torch_twin.loss(torch_twin.forward(model, p, b.ids), b.targets, b.weights).backward()
        opt.step()

    def numpy_step(b) -> None:
        fwd = model.forward(b.ids)
        _, dlogits = model.loss(fwd.logits, b.targets, b.weights)
        t.opt.step(model.params, model.backward(fwd, dlogits))

    times = {}
    for name, fn in (("numpy", numpy_step), ("torch", torch_step)):
        for b in batches[:20]:
            fn(b)  # warm-up
        t0 = time.perf_counter()
        for b in batches:
            fn(b)
        times[name] = (time.perf_counter() - t0) / len(batches) * 1e3
    print()
    print("| step (forward, backward, AdamW) | ms | NumPy / torch |")
    print("|---|---|---|")
    print(f"| attnviz (NumPy, hand-written backward) | {times['numpy']:.2f} | "
          f"{times['numpy'] / times['torch']:.2f} |")  # fmt: skip
    print(f"| torch {torch.__version__} (autograd) | {times['torch']:.2f} | 1 |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
