"""Real-model benchmark: loading a MiniLM-L6-shaped BERT and computing its attention, attnviz
against transformers' eager path, one thread, in the same run.

    python benchmarks/model_load.py [--tokens 60] [--repeat 7]

The model (6 layers, d=384, 12 heads, intermediate 1536, vocabulary 30522: the shape of
sentence-transformers/all-MiniLM-L6-v2) gets random weights, saved as safetensors with a
WordPiece tokenizer.json into a temporary folder; nothing is downloaded. Prints median seconds
for each side and their ratio (goal: attnviz ≤ 1.5× transformers), and the largest difference
between the two sides' attention probabilities.

"load" is tokenizer + weights from disk to a model ready to run (AutoTokenizer + AutoModel
for transformers); "attention" is text -> (layers, heads, L, L) probabilities (tokenize +
forward with output_attentions=True under inference_mode for transformers).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # before NumPy loads BLAS: two threads on two cores time erratically
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import attnviz
import attnviz.models

MINILM = dict(
    vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
    intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2,
    hidden_act="gelu", layer_norm_eps=1e-12,
)  # fmt: skip
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: page cache, BLAS buffers, lazy imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_words(n: int) -> list[str]:
    """n distinct lower-case pseudo-words ("ba", "be", ..., "bazu", ...)."""
    cons, vows = "bdfgklmnprstvz", "aeiou"
    syll = [c + v for c in cons for v in vows]  # 70 syllables
    words: list[str] = []
    for a in syll:
        words.append(a)
        for b in syll:
            words.append(a + b)
            if len(words) >= n:
                return words
    for a in syll:
        for b in syll:
            for c in syll:
                words.append(a + b + c)
                if len(words) >= n:
                    return words
    return words


def write_model(folder: Path, torch, transformers) -> list[str]:
    """Random MiniLM-shaped BertModel + WordPiece tokenizer in folder; returns the words."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    torch.manual_seed(0)
    model = transformers.BertModel(transformers.BertConfig(**MINILM)).eval()
    model.save_pretrained(folder, safe_serialization=True)
    words = make_words(MINILM["vocab_size"] - len(SPECIALS))
    vocab = {w: i for i, w in enumerate(SPECIALS + words)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens(SPECIALS)
    tok.enable_truncation(max_length=128)  # as all-MiniLM-L6-v2's tokenizer.json has
    tok.save(str(folder / "tokenizer.json"))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return words


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--tokens", type=int, default=60, help="tokens in the sentence, [CLS]/[SEP] included"
    )
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    import torch
    import transformers

    torch.set_num_threads(1)
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    cpu = platform.processor() or platform.machine()
    print(f"# attnviz {attnviz.__version__}, NumPy {np.__version__}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, {cpu}, 1 thread, float32")  # fmt: skip
    c = MINILM
    print(f"# MiniLM-L6 shape: {c['num_hidden_layers']} layers, d={c['hidden_size']}, "
          f"{c['num_attention_heads']} heads, vocab {c['vocab_size']}, random weights")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        words = write_model(folder, torch, transformers)
        rng = np.random.default_rng(0)
        text = " ".join(rng.choice(words[:2000], size=args.tokens - 2))

        def ours_load():
            return attnviz.models.load(folder)

        def hf_load():
            tok = transformers.AutoTokenizer.from_pretrained(folder)
            model = transformers.AutoModel.from_pretrained(folder, attn_implementation="eager")
            return tok, model.eval()

        t_load_ours = median_time(ours_load, args.repeat)
        t_load_hf = median_time(hf_load, args.repeat)

        ours = ours_load()
        hf_tok, hf_model = hf_load()

        def ours_attn():
            return ours.attentions(text)

        def hf_attn():
            enc = hf_tok(text, return_tensors="pt")
            with torch.inference_mode():
                out = hf_model(**enc, output_attentions=True)
            return torch.stack(out.attentions)[:, 0].numpy()

        a, b = ours_attn(), hf_attn()
        assert a.shape == b.shape == (6, 12, args.tokens, args.tokens), (a.shape, b.shape)
        reps = max(args.repeat, 30)
        t_attn_ours = median_time(ours_attn, reps)
        t_attn_hf = median_time(hf_attn, reps)

    print()
    print("| step | attnviz s | transformers s | attnviz / transformers |")
    print("|---|---|---|---|")
    print(f"| load (tokenizer + weights) | {t_load_ours:.4f} | {t_load_hf:.4f} "
          f"| {t_load_ours / t_load_hf:.2f} |")  # fmt: skip
    print(f"| attention, {args.tokens} tokens (tokenize + forward) | {t_attn_ours:.4f} "
          f"| {t_attn_hf:.4f} | {t_attn_ours / t_attn_hf:.2f} |")  # fmt: skip
    print()
    print(
        f"max |attnviz - transformers| over all {a.size:,} probabilities: {np.abs(a - b).max():.2e}"
    )


if __name__ == "__main__":
    main()
