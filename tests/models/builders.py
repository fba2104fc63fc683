"""Tiny random models in Hugging Face layout, written into a folder by the tests themselves.

torch and transformers are test-only peers: they build the reference model (eager attention,
random weights big enough that attention is far from uniform) and save it as safetensors; the
tokenizer files are built offline with the ``tokenizers`` library.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# Before transformers is imported: never reach the network, no progress bars in test output.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import numpy as np
import torch
import transformers
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

transformers.utils.logging.set_verbosity_error()  # config-sanity chatter about toy vocabularies
transformers.utils.logging.disable_progress_bar()
torch.set_num_threads(1)

WORDS = [
    "the", "cat", "sat", "on", "mat", "dog", "ran", "fast", "a", "and", "is", "was", "it", "in",
    "to", "of", "he", "she", "they", "big", "small", "red", "blue", "green", "tree", "house",
    "bird", "sings", "sang", "quick", "brown", "fox", "jumps", "over", "lazy", "hello", "world",
]  # fmt: skip
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CORPUS = [
    "the quick brown fox jumps over the lazy dog.",
    "Hello world, the cats are running in the big house!",
    "she sang and the bird sings in the green tree",
    "a small red dog ran fast to the blue house; it was lazy.",
]
SENTENCE = "The quick brown fox jumps over the lazy dog and the cat sat on the mat."


def randomize(model: torch.nn.Module, seed: int, std: float = 0.25) -> torch.nn.Module:
    """Every parameter random (norm scales near 1): errors in any weight show in attention."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            is_norm = "norm" in name.lower() or name.split(".")[-2].startswith("ln")
            if is_norm and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * r)
            elif p.ndim == 1:
                p.copy_(0.1 * r)
            else:
                p.copy_(std * r)
    return model.eval()


def save(model: transformers.PreTrainedModel, folder: Path, **kw: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True, **kw)
    return folder


def edit_config(folder: Path, **changes: Any) -> None:
    path = folder / "config.json"
    cfg = json.loads(path.read_text())
    for k, v in changes.items():
        if v is ...:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    path.write_text(json.dumps(cfg, indent=2))


# -- tokenizers ------------------------------------------------------------------------------


def bert_vocab() -> list[str]:
    return [*BERT_SPECIALS, *WORDS, ".", ",", "!", ";", "##s", "##ing", "##ed", "run", "cats"]


def write_vocab_txt(folder: Path, lower: bool = True) -> None:
    """BERT WordPiece vocab.txt (+ tokenizer_config.json), as BertTokenizer saves it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(bert_vocab()) + "\n", encoding="utf-8")
    cfg = {"do_lower_case": lower, "tokenizer_class": "BertTokenizer"}
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg))


def _bert_pipeline(tok: Tokenizer, vocab: dict[str, int]) -> Tokenizer:
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.add_special_tokens(BERT_SPECIALS)
    # Settings a real tokenizer.json may carry; attnviz must switch both off.
    tok.enable_padding(length=48, pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(max_length=5)
    return tok


def write_wordlevel_tokenizer_json(folder: Path) -> None:
    """A word-level BERT tokenizer.json (one id per whole word)."""
    vocab = {w: i for i, w in enumerate(bert_vocab())}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    folder.mkdir(parents=True, exist_ok=True)
    _bert_pipeline(tok, vocab).save(str(folder / "tokenizer.json"))


def write_wordpiece_tokenizer_json(folder: Path) -> None:
    """A WordPiece tokenizer.json, as sentence-transformers models ship."""
    vocab = {w: i for i, w in enumerate(bert_vocab())}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.decoder = decoders.WordPiece()
    folder.mkdir(parents=True, exist_ok=True)
    _bert_pipeline(tok, vocab).save(str(folder / "tokenizer.json"))


def write_gpt2_bpe(folder: Path) -> int:
    """Byte-level BPE vocab.json + merges.txt trained on a toy corpus; returns the vocab size."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        min_frequency=1,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    folder.mkdir(parents=True, exist_ok=True)
    tok.model.save(str(folder))  # vocab.json, merges.txt
    return tok.get_vocab_size()


def write_llama_tokenizer_json(folder: Path) -> int:
    """A sentencepiece-style BPE tokenizer.json ("▁" for spaces) that prepends <s>."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    trainer = trainers.BpeTrainer(
        vocab_size=200,
        min_frequency=1,
        special_tokens=["<unk>", "<s>", "</s>"],
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B:1", special_tokens=[("<s>", 1)]
    )
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Strip(" ", 1, 0)])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return tok.get_vocab_size()


# -- models ----------------------------------------------------------------------------------


def bert(folder: Path, *, prefixed: bool = True, seed: int = 0, **cfg: Any) -> Any:
    """A 2-layer BERT (BertForMaskedLM: names under 'bert.'; BertModel: no prefix)."""
    kw = dict(
        vocab_size=len(bert_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=40, max_position_embeddings=40, type_vocab_size=2,
        layer_norm_eps=1e-3, hidden_act="gelu", pad_token_id=0,
    )  # fmt: skip
    kw.update(cfg)
    config = transformers.BertConfig(**kw)
    cls = transformers.BertForMaskedLM if prefixed else transformers.BertModel
    model = randomize(cls(config), seed)
    save(model, folder)
    return model


def roberta(folder: Path, *, seed: int = 3, **cfg: Any) -> Any:
    """A 2-layer RoBERTa: positions from pad_token_id + 1, one token type, names under
    'roberta.'."""
    kw = dict(
        vocab_size=len(bert_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=40, max_position_embeddings=42, type_vocab_size=1,
        layer_norm_eps=1e-3, hidden_act="gelu", pad_token_id=1,
    )  # fmt: skip
    kw.update(cfg)
    model = randomize(transformers.RobertaForMaskedLM(transformers.RobertaConfig(**kw)), seed)
    save(model, folder)
    return model


def distilbert(folder: Path, *, seed: int = 4, **cfg: Any) -> Any:
    """A 2-layer DistilBERT (no token types; q_lin, sa_layer_norm, ffn.lin1 …)."""
    kw = dict(
        vocab_size=len(bert_vocab()), dim=32, n_layers=2, n_heads=4, hidden_dim=40,
        max_position_embeddings=40, activation="gelu", pad_token_id=0,
    )  # fmt: skip
    kw.update(cfg)
    config = transformers.DistilBertConfig(**kw)
    model = randomize(transformers.DistilBertForMaskedLM(config), seed)
    save(model, folder)
    return model


def gpt2(folder: Path, vocab_size: int, *, prefixed: bool = True, seed: int = 1, **cfg: Any) -> Any:
    kw = dict(
        vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=4, n_positions=40,
        layer_norm_epsilon=1e-3, activation_function="gelu_new", bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    kw.update(cfg)
    config = transformers.GPT2Config(**kw)
    cls = transformers.GPT2LMHeadModel if prefixed else transformers.GPT2Model
    model = randomize(cls(config), seed, std=0.2)
    save(model, folder)
    return model


def gpt_neox(folder: Path, vocab_size: int, *, seed: int = 5, **cfg: Any) -> Any:
    """A 2-layer GPT-NeoX (Pythia layout): fused per-head query_key_value, partial RoPE."""
    kw = dict(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=48, max_position_embeddings=64, layer_norm_eps=1e-3,
        hidden_act="gelu", bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    kw.update(cfg)
    model = randomize(transformers.GPTNeoXForCausalLM(transformers.GPTNeoXConfig(**kw)), seed)
    save(model, folder)
    return model


def llama(folder: Path, vocab_size: int, *, kind: str = "llama", seed: int = 2, **cfg: Any) -> Any:
    """A 2-layer Llama (or Mistral / Qwen2 / Qwen3 / Phi-3) with grouped-query attention and
    RoPE."""
    kw = dict(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=48, max_position_embeddings=64,
        rms_norm_eps=1e-2, bos_token_id=1, eos_token_id=2,
    )  # fmt: skip
    if kind == "llama":
        kw["rope_theta"] = 500.0
    kw.update(cfg)
    config_cls, model_cls = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
        "phi3": (transformers.Phi3Config, transformers.Phi3ForCausalLM),
        "gemma": (transformers.GemmaConfig, transformers.GemmaForCausalLM),
        "gemma2": (transformers.Gemma2Config, transformers.Gemma2ForCausalLM),
        "gemma3": (transformers.Gemma3TextConfig, transformers.Gemma3ForCausalLM),
        "mixtral": (transformers.MixtralConfig, transformers.MixtralForCausalLM),
        "olmo": (transformers.OlmoConfig, transformers.OlmoForCausalLM),
        "olmo2": (transformers.Olmo2Config, transformers.Olmo2ForCausalLM),
    }[kind]
    model = randomize(model_cls(config_cls(**kw)), seed)
    save(model, folder)
    return model


def reference(folder: Path, ids: np.ndarray, **kw: Any) -> Any:
    """transformers' eager forward of the saved model: attentions and hidden states."""
    model = transformers.AutoModel.from_pretrained(folder, attn_implementation="eager", **kw)
    model.eval()
    with torch.no_grad():
        out = model(torch.as_tensor(ids[None]), output_attentions=True, output_hidden_states=True)
    return model, out


# -- encoder–decoders ------------------------------------------------------------------------

SEQ2SEQ_WORDS = [*WORDS, "le", "chat", "est", "assis", "sur", "tapis", ".", ","]


def write_seq2seq_tokenizer_json(folder: Path, specials: list[str], template: str) -> int:
    """A word-level tokenizer.json whose ids start with ``specials``; ``template`` places them
    ("$A </s>" as Marian, "<s> $A </s>" as BART). Returns the vocabulary size."""
    vocab = {w: i for i, w in enumerate([*specials, *SEQ2SEQ_WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    used = [s for s in specials if s in template]
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(s, vocab[s]) for s in used]
    )
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tok.add_special_tokens(specials)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return len(vocab)


def bart(folder: Path, *, seed: int = 6, **cfg: Any) -> Any:
    """A 2 + 2-layer BART (<s>=0, <pad>=1, </s>=2 as facebook/bart-*; decoder starts with </s>)."""
    v = write_seq2seq_tokenizer_json(folder, ["<s>", "<pad>", "</s>", "<unk>"], "<s> $A </s>")
    kw = dict(
        vocab_size=v, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=40, decoder_ffn_dim=48,
        max_position_embeddings=40, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        decoder_start_token_id=2, forced_eos_token_id=None, activation_function="gelu",
        scale_embedding=True,
    )  # fmt: skip
    kw.update(cfg)
    model = transformers.BartForConditionalGeneration(transformers.BartConfig(**kw))
    save(randomize(model, seed), folder)
    return model


def marian(folder: Path, *, seed: int = 7, **cfg: Any) -> Any:
    """A 2 + 3-layer Marian (</s>=0, <unk>=1, <pad> last, as opus-mt; the decoder starts with
    <pad>), sinusoidal positions, SiLU."""
    specials = ["</s>", "<unk>"]
    v = write_seq2seq_tokenizer_json(folder, specials, "$A </s>")
    # <pad> is the last id, as in opus-mt: add it to the tokenizer after the words.
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.add_special_tokens(["<pad>"])
    tok.save(str(folder / "tokenizer.json"))
    kw = dict(
        vocab_size=v + 1, d_model=32, encoder_layers=2, decoder_layers=3,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
        decoder_ffn_dim=40, max_position_embeddings=64, pad_token_id=v, eos_token_id=0,
        decoder_start_token_id=v, activation_function="swish", scale_embedding=True,
    )  # fmt: skip
    kw.update(cfg)
    model = transformers.MarianMTModel(transformers.MarianConfig(**kw))
    save(randomize(model, seed), folder)
    return model


def reference_seq2seq(folder: Path, ids: np.ndarray, decoder_ids: np.ndarray) -> Any:
    """transformers' eager forward of an encoder–decoder: all three attentions."""
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(folder, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        out = model(
            torch.as_tensor(ids[None]), decoder_input_ids=torch.as_tensor(decoder_ids[None]),
            output_attentions=True, output_hidden_states=True,
        )  # fmt: skip
    return model, out


def t5(folder: Path, *, seed: int = 10, **cfg: Any) -> Any:
    """A 2 + 3-layer T5 (<pad>=0 starts the decoder, </s>=1), 8 relative-position buckets up to
    a distance of 12 (texts longer than that reach the logarithmic buckets), d_kv ≠ d/heads."""
    v = write_seq2seq_tokenizer_json(folder, ["<pad>", "</s>", "<unk>"], "$A </s>")
    kw = dict(
        vocab_size=v, d_model=32, d_kv=12, d_ff=40, num_layers=2, num_decoder_layers=3,
        num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=12,
        layer_norm_epsilon=1e-3, feed_forward_proj="relu", pad_token_id=0, eos_token_id=1,
        decoder_start_token_id=0,
    )  # fmt: skip
    kw.update(cfg)
    model = transformers.T5ForConditionalGeneration(transformers.T5Config(**kw))
    save(randomize(model, seed), folder)
    return model


# -- the parity table --------------------------------------------------------------------------
PARITY: list[tuple[str, str, float]] = []  # (test, which attention, max |attnviz − transformers|)


def record_parity(what: str, ours: np.ndarray, ref: np.ndarray) -> None:
    """Keep the largest difference of one comparison for the table that
    ``ATTNVIZ_PARITY_TABLE=file.md pytest tests/models`` writes (tests/models/conftest.py)."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0].split("::")[-1]
    PARITY.append((test, what, float(np.abs(np.asarray(ours) - np.asarray(ref)).max())))
