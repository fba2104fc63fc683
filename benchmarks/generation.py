"""Generation: milliseconds per new token with attnviz's KV cache, without it (the whole sequence
again every step), and with transformers' ``generate``, at several prompt lengths, in the same run.

    python benchmarks/generation.py [--contexts 128 512 1024] [--new 16] [--repeat 1] [--threads N]

The model is Llama-shaped (d 512, 8 layers, 8 query and 2 key/value heads, intermediate 1376,
vocabulary 8000, 2048 positions; 30 M parameters) with random float32 weights, written by this
script as safetensors (LlamaForCausalLM.save_pretrained) with a word-level tokenizer.json
("<s>" then words "w3" ... "w7999") into a temporary folder; nothing is downloaded. A prompt of
``context`` tokens is "<s>" and ``context - 1`` random words; each generation is greedy and runs
exactly ``--new`` steps (end-of-sequence ignored).

Step 1 reads the whole prompt (the prefill) and is reported on its own; "per token" is the
median over steps 2 .. new (and over ``--repeat`` generations). attnviz's time is
``GenerationStep.seconds`` (layers, final norm, output layer, choosing the token);
transformers' is the time between consecutive calls of a stopping criterion, i.e. one turn of
``generate``'s loop (``attn_implementation="eager"``, ``use_cache=True``, float32); its prefill
runs from the ``generate`` call to the first call. Each side runs in its own process, after a
short warm-up generation (attnviz converts its layers to float32 then), with the same number of
threads: ``--threads`` (default: torch's own default) for torch and for NumPy's BLAS.
"greedy tokens equal": attnviz's generated ids are transformers'.

transformers and torch are test-only dependencies: without them the model is written with
NumPy and safetensors instead (the same layout, normal(0, 0.02) weights) and the transformers
columns are left out, as the output says.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import attnviz

LAYOUT = dict(
    vocab_size=8000, hidden_size=512, num_hidden_layers=8, num_attention_heads=8,
    num_key_value_heads=2, intermediate_size=1376, max_position_embeddings=2048,
    rms_norm_eps=1e-5, rope_theta=10000.0, bos_token_id=1, eos_token_id=2,
    tie_word_embeddings=False,
)  # fmt: skip
SPECIALS = ["<unk>", "<s>", "</s>"]

SIDE = r"""
import json, statistics, sys, time
folder, side, prompts, new, repeat = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:6])
threads = int(sys.argv[6])
texts = json.load(open(prompts))
warm = " ".join(f"w{3 + i}" for i in range(15))
out = {}

def summary(runs):
    # runs: [(prefill s, [per-token s], prompt length, generated ids)] -> ms and the ids
    return {
        "prefill_ms": 1e3 * statistics.median(r[0] for r in runs),
        "token_ms": 1e3 * statistics.median(t for r in runs for t in r[1]),
        "prompt": runs[0][2], "ids": runs[0][3],
        "same_ids": all(r[3] == runs[0][3] for r in runs),
    }

if side == "attnviz":
    import attnviz.models as M
    from attnviz.models.generation import Generation, Sampling
    model = M.load(folder)
    def generate(text, n, cached):
        gen = Generation(model, text, Sampling(), cached=cached, stop_at_eos=False)
        gen.run(n)
        s = [step.seconds for step in gen.steps]
        return s[0], s[1:], len(gen.prompt), gen.generated
    generate(warm, 4, True)  # converts every layer and the output layer to float32
    for ctx, text in texts.items():
        for cached in (True, False):
            runs = [generate(text, new, cached) for _ in range(repeat)]
            out[f"{ctx} {'cached' if cached else 'recompute'}"] = summary(runs)
else:
    import torch, transformers
    torch.set_num_threads(threads)
    transformers.utils.logging.set_verbosity_error()
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager").eval()

    class Clock(transformers.StoppingCriteria):  # called once per generated token
        def __init__(self):
            self.times = []
        def __call__(self, input_ids, scores, **kwargs):
            self.times.append(time.perf_counter())
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    def generate(text, n, cached=True):
        ids = tok(text, return_tensors="pt")["input_ids"]
        clock = Clock()
        with torch.inference_mode():
            t0 = time.perf_counter()
            seq = model.generate(
                ids, do_sample=False, max_new_tokens=n, min_new_tokens=n, use_cache=cached,
                pad_token_id=0, stopping_criteria=transformers.StoppingCriteriaList([clock]))
        t = [t0, *clock.times]
        steps = [b - a for a, b in zip(t, t[1:])]
        return steps[0], steps[1:], ids.shape[1], [int(i) for i in seq[0, ids.shape[1]:]]
    generate(warm, 4)
    for ctx, text in texts.items():
        out[f"{ctx} cached"] = summary([generate(text, new) for _ in range(repeat)])
out["threads"] = threads
print(json.dumps(out))
"""


def write_model(folder: Path, have_torch: bool) -> int:
    """Random float32 weights of the layout and a word-level tokenizer; returns the parameters.

    With transformers: LlamaForCausalLM's own initialisation, saved with save_pretrained.
    Without: the same tensor names and config.json from NumPy (normal(0, 0.02), norms 1).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    c = LAYOUT
    if have_torch:
        import torch
        import transformers

        torch.manual_seed(0)
        model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**c)).float().eval()
        model.save_pretrained(folder, safe_serialization=True)
        n = sum(p.numel() for p in model.parameters())
    else:
        from safetensors.numpy import save_file

        rng = np.random.default_rng(0)
        d, v, f = c["hidden_size"], c["vocab_size"], c["intermediate_size"]
        kv = d // c["num_attention_heads"] * c["num_key_value_heads"]
        shapes = {"model.embed_tokens.weight": (v, d), "lm_head.weight": (v, d)}
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            shapes |= {
                p + "self_attn.q_proj.weight": (d, d), p + "self_attn.k_proj.weight": (kv, d),
                p + "self_attn.v_proj.weight": (kv, d), p + "self_attn.o_proj.weight": (d, d),
                p + "mlp.gate_proj.weight": (f, d), p + "mlp.up_proj.weight": (f, d),
                p + "mlp.down_proj.weight": (d, f),
            }  # fmt: skip
        tensors = {k: rng.normal(0, 0.02, s).astype(np.float32) for k, s in shapes.items()}
        norms = [f"model.layers.{i}.{w}_layernorm.weight" for i in range(c["num_hidden_layers"])
                 for w in ("input", "post_attention")] + ["model.norm.weight"]  # fmt: skip
        tensors |= {k: np.ones(d, np.float32) for k in norms}
        save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
        config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                  "hidden_act": "silu", "torch_dtype": "float32", **c}  # fmt: skip
        (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        n = sum(t.size for t in tensors.values())
    vocab = {**{s: i for i, s in enumerate(SPECIALS)},
             **{f"w{i}": i for i in range(len(SPECIALS), c["vocab_size"])}}  # fmt: skip
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tok.decoder = decoders.WordPiece(prefix="##")  # joins the words with spaces
    tok.save(str(folder / "tokenizer.json"))
    return n


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--contexts", type=int, nargs="+", default=[128, 512, 1024])
    ap.add_argument("--new", type=int, default=16, help="tokens generated per prompt (≥ 2)")
    ap.add_argument("--repeat", type=int, default=1, help="generations per prompt and side")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch and BLAS threads (default: torch's default)")  # fmt: skip
    args = ap.parse_args()
    if args.new < 2:
        ap.error("--new must be at least 2 (step 1 is the prefill)")
    try:
        import torch
        import transformers
    except ImportError:
        torch = transformers = None
    have_torch = torch is not None
    threads = args.threads or (torch.get_num_threads() if have_torch else os.cpu_count() or 1)
    versions = f"NumPy {np.__version__}"
    if have_torch:
        versions += f", torch {torch.__version__}, transformers {transformers.__version__}"
    else:
        versions += ", torch/transformers absent: the transformers columns are left out"
    cores = os.cpu_count()
    print(f"# attnviz {attnviz.__version__}, {versions}; {cpu_model()}, {cores} CPUs, "
          f"{threads} threads (torch and BLAS), Python {platform.python_version()}")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        t0 = time.perf_counter()
        n = write_model(folder, have_torch)
        written = time.perf_counter() - t0
        rng = np.random.default_rng(0)
        texts = {}  # "<s>" + ctx - 1 words: ctx tokens
        for ctx in args.contexts:
            ids = rng.integers(len(SPECIALS), LAYOUT["vocab_size"], ctx - 1)
            texts[str(ctx)] = " ".join(f"w{i}" for i in ids)
        prompts = Path(tmp) / "prompts.json"
        prompts.write_text(json.dumps(texts), encoding="utf-8")
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        results = {}
        for side in ("attnviz", "transformers") if have_torch else ("attnviz",):
            r = subprocess.run(
                [sys.executable, "-c", SIDE, str(folder), side, str(prompts), str(args.new),
                 str(args.repeat), str(threads)],
                capture_output=True, text=True, check=True, env=env,
            )  # fmt: skip
            results[side] = json.loads(r.stdout.strip().splitlines()[-1])

    c = LAYOUT
    print(f"# Llama-shaped, d {c['hidden_size']}, {c['num_hidden_layers']} layers, "
          f"{c['num_attention_heads']}/{c['num_key_value_heads']} query/KV heads, vocabulary "
          f"{c['vocab_size']}: {n / 1e6:.1f} M float32 parameters, written in {written:.1f} s; "
          f"{args.new} greedy tokens, per token = median of steps 2..{args.new} over "
          f"{args.repeat} generation(s)")  # fmt: skip
    print()
    ours = results["attnviz"]
    head = ("| context | attnviz prefill ms | attnviz cached ms/token | attnviz recompute "
            "ms/token | recompute / cached |")  # fmt: skip
    rule = "|---|---|---|---|---|"
    if have_torch:
        head += (" transformers prefill ms | transformers cached ms/token | attnviz / "
                 "transformers (cached) | greedy tokens equal |")  # fmt: skip
        rule += "---|---|---|---|"
    print(head)
    print(rule)
    same = True
    for ctx in args.contexts:
        cached, again = ours[f"{ctx} cached"], ours[f"{ctx} recompute"]
        assert cached["prompt"] == ctx, (cached["prompt"], ctx)
        same = same and cached["ids"] == again["ids"] and cached["same_ids"] and again["same_ids"]
        slower = again["token_ms"] / cached["token_ms"]
        row = (f"| {ctx} | {cached['prefill_ms']:.1f} | {cached['token_ms']:.2f} | "
               f"{again['token_ms']:.2f} | {slower:.1f} |")  # fmt: skip
        if have_torch:
            ref = results["transformers"][f"{ctx} cached"]
            assert ref["prompt"] == ctx, (ref["prompt"], ctx)
            ratio = cached["token_ms"] / ref["token_ms"]
            equal = "yes" if cached["ids"] == ref["ids"] else "no"
            row += (f" {ref['prefill_ms']:.1f} | {ref['token_ms']:.2f} | {ratio:.2f} | "
                    f"{equal} |")  # fmt: skip
        print(row)
    print()
    print(f"attnviz cached and recompute generated the same tokens: {'yes' if same else 'no'}")


if __name__ == "__main__":
    main()
