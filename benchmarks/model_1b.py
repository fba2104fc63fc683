"""A 1-B-class model: load time, attention time at 128 and 512 tokens, and peak memory, attnviz
against transformers' eager path, one process per side and length, in the same run.

    python benchmarks/model_1b.py [--tokens 128 512] [--repeat 2] [--layers 22]

The model has TinyLlama-1.1B's layout (d 2048, 22 layers, 32 query and 4 key/value heads,
intermediate 5632, vocabulary 32000) with random weights, written by this script as bf16
safetensors with a word-level tokenizer.json into a temporary folder; nothing is downloaded.
Each side runs in its own process for each length (so their peaks are their own): "load" is
folder to a model object (attnviz maps the file and converts layers as they first run;
transformers converts everything), "first pass" is load plus the first text's attention,
"attention" is text to every layer's (heads, L, L) probabilities once warm (median). attnviz runs
twice: with its default memory budget (every layer kept once converted) and with
``cache_bytes=0`` (every layer converted again on every pass, as for a model whose float32 copy
does not fit). Peak memory is the process's own resident high-water mark (VmHWM), against the
weights' size in bf16 and f32.
transformers and torch are test-only dependencies: without them the script says so and stops.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "2")
os.environ["HF_HUB_OFFLINE"] = "1"

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAYOUT = dict(
    vocab_size=32000, hidden_size=2048, num_hidden_layers=22, num_attention_heads=32,
    num_key_value_heads=4, intermediate_size=5632, max_position_embeddings=2048,
    rms_norm_eps=1e-5, rope_theta=10000.0, bos_token_id=1, eos_token_id=2,
)  # fmt: skip

SIDE = r"""
import json, resource, statistics, sys, time
folder, side, n, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
text = lambda n: " ".join(f"w{3 + i % 31000}" for i in range(n - 1))  # <s> + n - 1 words
out = {}
t0 = time.perf_counter()
if side.startswith("attnviz"):
    import attnviz.models as M
    model = M.load(folder, cache_bytes=0 if side == "attnviz-per-layer" else None)
    out["load"] = time.perf_counter() - t0
    run = lambda t: model.attentions(t)
else:
    import torch, transformers
    torch.set_num_threads(2)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModel.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager").eval()
    out["load"] = time.perf_counter() - t0
    def run(t):
        with torch.inference_mode():
            ids = tok(t, return_tensors="pt")["input_ids"]
            return model(ids, output_attentions=True).attentions
run(text(n))  # the first pass (attnviz: converts the layers)
out["first"] = time.perf_counter() - t0
times = []
for _ in range(repeat):
    t0 = time.perf_counter(); run(text(n)); times.append(time.perf_counter() - t0)
out["attention"] = statistics.median(times)
# VmHWM: this process's own high-water mark. ru_maxrss would carry over the parent's peak
# (the parent held a torch copy of the model while writing it) across fork and exec.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
kib = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out["peak_gib"] = kib / 2**20
print(json.dumps(out))
"""
SIDES = ("attnviz", "attnviz-per-layer", "transformers")


def write_model(folder: Path, layers: int) -> int:
    """Random bf16 weights of the layout, and a word-level tokenizer; returns the parameters."""
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    torch.manual_seed(0)
    config = transformers.LlamaConfig(**{**LAYOUT, "num_hidden_layers": layers})
    with torch.device("meta"):
        meta = transformers.LlamaModel(config)
    n = sum(p.numel() for p in meta.parameters())
    model = transformers.LlamaModel(config).to(torch.bfloat16)  # random init, then bf16
    model.save_pretrained(folder, safe_serialization=True)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{f"w{i}": i for i in range(3, 32000)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tok.save(str(folder / "tokenizer.json"))
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tokens", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--layers", type=int, default=LAYOUT["num_hidden_layers"])
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        raise SystemExit("torch and transformers (test-only) are needed here") from None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        n = write_model(folder, args.layers)
        written = time.perf_counter() - t0
        rows: dict[tuple[str, int], dict[str, float]] = {}
        for tokens in args.tokens:
            for side in SIDES:
                r = subprocess.run(
                    [sys.executable, "-c", SIDE, str(folder), side, str(tokens),
                     str(args.repeat)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                rows[side, tokens] = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"{n / 1e9:.2f} B parameters in {args.layers} layers, written in {written:.0f} s; "
          f"median of {args.repeat} warm passes")  # fmt: skip
    print(f"weights: {n * 2 / 2**30:.2f} GiB in bf16, {n * 4 / 2**30:.2f} GiB in float32")
    print()
    print("| what | tokens | attnviz s | transformers eager s | ratio | attnviz, per layer "
          "(cache_bytes=0) s | ratio |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for tokens in args.tokens:
        ours, ref = rows["attnviz", tokens], rows["transformers", tokens]
        low = rows["attnviz-per-layer", tokens]
        for key, label in (
            ("load", "load"),
            ("first", "load + first pass"),
            ("attention", "attention (warm)"),
            ("peak_gib", "peak memory GiB"),
        ):
            print(
                f"| {label} | {tokens} | {ours[key]:.2f} | {ref[key]:.2f} | "
                f"{ours[key] / ref[key]:.2f} | {low[key]:.2f} | {low[key] / ref[key]:.2f} |"
            )


if __name__ == "__main__":
    main()
