"""Bad input: every refusal is a ModelError (a ValueError) naming the file and the problem."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import attnviz.models as M
from attnviz.models import model as model_mod
from tests.models import builders as B


@pytest.fixture(scope="module")
def good_bert(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bert")
    B.write_wordlevel_tokenizer_json(folder)
    B.bert(folder, max_position_embeddings=16)
    return folder


@pytest.fixture(scope="module")
def good_gpt2(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gpt2")
    B.gpt2(folder, B.write_gpt2_bpe(folder))
    return folder


@pytest.fixture
def bert_dir(good_bert, tmp_path) -> Path:
    """A private copy to break."""
    return Path(shutil.copytree(good_bert, tmp_path / "m"))


def refused(path, *fragments: str, call=M.load) -> M.ModelError:
    with pytest.raises(M.ModelError) as info:
        call(path)
    msg = str(info.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    return info.value


def test_model_error_is_a_value_error():
    assert issubclass(M.ModelError, ValueError)


# -- pickle ----------------------------------------------------------------------------------


def test_pickle_only_folder_is_refused_with_conversion_advice(bert_dir):
    (bert_dir / "model.safetensors").unlink()
    # Never opened: its content does not matter (a real one would run code when unpickled).
    (bert_dir / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    err = refused(bert_dir, "pytorch_model.bin", "pickle", "safetensors", "save_pretrained",
                  "weights_only=True")  # fmt: skip
    assert err.path == bert_dir / "pytorch_model.bin"


@pytest.mark.parametrize("name", ["model.pt", "weights.ckpt", "model.pth", "pytorch_model.bin"])
def test_pickle_file_given_directly_is_refused(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x80\x04")
    refused(path, name, "never loads pickle")


def test_shard_index_naming_a_pickle_is_refused(bert_dir):
    (bert_dir / "model.safetensors").unlink()
    index = {"weight_map": {"embeddings.word_embeddings.weight": "pytorch_model-00001.bin"}}
    (bert_dir / "model.safetensors.index.json").write_text(json.dumps(index))
    refused(bert_dir, "pytorch_model-00001.bin", "pickle")


# -- corrupt safetensors ---------------------------------------------------------------------


def test_truncated_safetensors(bert_dir):
    path = bert_dir / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    err = refused(bert_dir, "model.safetensors is truncated", "interrupted")
    assert err.path == path


def test_header_claiming_more_bytes_than_the_file(bert_dir):
    path = bert_dir / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    refused(bert_dir, "model.safetensors", "header claims 1,000,000,000,000 bytes")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"abc", "only 3 bytes"),
        (struct.pack("<Q", 5) + b"nope!", "header is not JSON"),
        (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
    ],
)
def test_corrupt_header(bert_dir, content, fragment):
    (bert_dir / "model.safetensors").write_bytes(content)
    refused(bert_dir, "model.safetensors is not a valid safetensors file", fragment)


def test_header_whose_offsets_disagree_with_shape(bert_dir):
    header = {"x": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 60]}}
    raw = json.dumps(header).encode()
    (bert_dir / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(60))
    refused(bert_dir, "tensor 'x' (F32, shape (4, 4)) needs 64 bytes", "span 60")


def test_shape_disagreeing_with_config(bert_dir):
    B.edit_config(bert_dir, intermediate_size=41)
    err = refused(bert_dir, "bert.encoder.layer.0.intermediate.dense.weight", "model.safetensors",
                  "has shape (40, 32)", "config.json implies (41, 32)")  # fmt: skip
    assert err.path == bert_dir / "model.safetensors"


def test_integer_weights_are_refused(bert_dir):
    path = bert_dir / "model.safetensors"
    t = load_file(path)
    name = "bert.encoder.layer.1.output.dense.weight"
    t[name] = t[name].astype(np.int32)
    save_file(t, path)
    refused(bert_dir, name, "is I32", "float weights")


def test_missing_tensor(bert_dir):
    path = bert_dir / "model.safetensors"
    t = load_file(path)
    del t["bert.encoder.layer.1.attention.self.key.bias"]
    save_file(t, path)
    refused(bert_dir, "lacks 1 tensor(s)", "bert.encoder.layer.1.attention.self.key.bias")


def test_weights_of_another_family(bert_dir, good_gpt2):
    shutil.copy(good_gpt2 / "model.safetensors", bert_dir / "model.safetensors")
    refused(bert_dir, "no tensor named '…embeddings.word_embeddings.weight'", "BertForMaskedLM")


# -- shards ----------------------------------------------------------------------------------


def test_shard_outside_the_folder(bert_dir):
    (bert_dir / "model.safetensors").unlink()
    index = {"weight_map": {"a": "../elsewhere.safetensors"}}
    (bert_dir / "model.safetensors.index.json").write_text(json.dumps(index))
    refused(bert_dir, "outside its folder", "../elsewhere.safetensors")


def test_missing_shard(bert_dir):
    (bert_dir / "model.safetensors").rename(bert_dir / "model-00001-of-00002.safetensors")
    t = load_file(bert_dir / "model-00001-of-00002.safetensors")
    wmap = dict.fromkeys(t, "model-00001-of-00002.safetensors")
    wmap["extra"] = "model-00002-of-00002.safetensors"
    (bert_dir / "model.safetensors.index.json").write_text(json.dumps({"weight_map": wmap}))
    refused(bert_dir, "model-00002-of-00002.safetensors is missing")


def test_index_that_is_not_json(bert_dir):
    (bert_dir / "model.safetensors").unlink()
    (bert_dir / "model.safetensors.index.json").write_text("{oops")
    refused(bert_dir, "model.safetensors.index.json is not valid JSON")


# -- config ----------------------------------------------------------------------------------


def test_an_image_and_text_checkpoint_without_its_text_config(bert_dir):
    B.edit_config(bert_dir, model_type="gemma3", architectures=["Gemma3ForConditionalGeneration"])
    refused(bert_dir, "config.json", "'gemma3' needs a text_config")


def test_unknown_architecture(bert_dir):
    B.edit_config(bert_dir, model_type="mamba", architectures=["MambaForCausalLM"])
    refused(bert_dir, "config.json", "model_type 'mamba'", "MambaForCausalLM",
            "not supported", "bert, roberta", "gpt2, gpt_neox, llama")  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        (dict(hidden_size=...), ("lacks 'hidden_size'",)),
        (dict(num_attention_heads="4"), ("'num_attention_heads' must be an integer",)),
        (dict(num_attention_heads=5), ("hidden size 32 does not split into 5 heads",)),
        (dict(hidden_act="mish"), ("activation 'mish' is not supported",)),
        (dict(position_embedding_type="relative_key"), ("'relative_key' is not supported",)),
        (dict(layer_norm_eps=True), ("'layer_norm_eps' must be a finite number",)),
    ],
)
def test_bad_config_values(bert_dir, changes, fragments):
    B.edit_config(bert_dir, **changes)
    refused(bert_dir, "config.json", *fragments)


def test_unsupported_rope_type(tmp_path):
    """An unknown RoPE type is refused by name ("llama3" was, until issue 16 made it work)."""
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n)
    rope = {"rope_type": "wobbly", "rope_theta": 5e5, "factor": 8.0}
    B.edit_config(tmp_path, rope_parameters=rope)
    refused(tmp_path, "config.json", "RoPE type 'wobbly' is not supported")


def test_bad_long_context_rope_settings(tmp_path):
    n = B.write_llama_tokenizer_json(tmp_path)
    B.llama(tmp_path, n)
    bad = {"rope_type": "longrope", "rope_theta": 5e5, "short_factor": [1.0], "long_factor": [1.0]}
    B.edit_config(tmp_path, rope_parameters=bad)
    refused(tmp_path, "config.json", "short_factor must list 4 numbers")
    bad = {"rope_type": "llama3", "rope_theta": 5e5, "factor": 8.0, "low_freq_factor": 4.0,
           "high_freq_factor": 1.0, "original_max_position_embeddings": 64}  # fmt: skip
    B.edit_config(tmp_path, rope_parameters=bad)
    refused(tmp_path, "config.json", "low_freq_factor < high_freq_factor")


def test_config_not_json(bert_dir):
    (bert_dir / "config.json").write_text("{'single': 'quotes'}")
    refused(bert_dir, "config.json is not valid JSON")


# -- missing files ---------------------------------------------------------------------------


def test_missing_folder(tmp_path):
    refused(tmp_path / "nowhere", "no model folder at")


@pytest.mark.parametrize(
    ("remove", "fragments"),
    [
        ("config.json", ("config.json is missing from",)),
        ("model.safetensors", ("no weights in", "model.safetensors or model.safetensors.index")),
        ("tokenizer.json", ("no tokenizer in", "tokenizer.json, vocab.txt")),
    ],
)
def test_missing_files(bert_dir, remove, fragments):
    (bert_dir / remove).unlink()
    refused(bert_dir, *fragments)


def test_sentencepiece_only_tokenizer_says_how_to_convert(bert_dir):
    (bert_dir / "tokenizer.json").unlink()
    (bert_dir / "tokenizer.model").write_bytes(b"\x00")
    refused(bert_dir, "tokenizer.model (sentencepiece) is not read", "save_pretrained")


def test_corrupt_tokenizer_json(bert_dir):
    (bert_dir / "tokenizer.json").write_text('{"version": "1.0"}')
    refused(bert_dir, "cannot read tokenizer.json")


# -- text ------------------------------------------------------------------------------------


def test_sentence_longer_than_max_positions(good_bert):
    model = M.load(good_bert)
    model.forward("the cat sat on the mat")  # 8 tokens of 16: fine
    text = " ".join(["the"] * 15)  # 17 with [CLS] and [SEP]
    err = refused(text, "17 tokens long", "at most 16", "config.json", call=model.forward)
    assert err.path == good_bert / "config.json"


def test_text_without_tokens(good_gpt2):
    refused("", "gives no tokens", call=M.load(good_gpt2).forward)


def test_tokenizer_bigger_than_embedding_table(good_gpt2, tmp_path):
    folder = Path(shutil.copytree(good_gpt2, tmp_path / "m"))
    vocab = json.loads((folder / "vocab.json").read_text())
    top = max(vocab, key=vocab.get)  # the last merge learned: "Ġthe"-like
    B.edit_config(folder, vocab_size=vocab[top])
    t = load_file(folder / "model.safetensors")
    t = {k: (v[: vocab[top]] if k == "transformer.wte.weight" else v) for k, v in t.items()}
    save_file(t, folder / "model.safetensors")
    model = M.load(folder)
    text = B.transformers.AutoTokenizer.from_pretrained(folder).convert_tokens_to_string([top])
    refused(text, "vocab.json gives token id", "do not match", call=model.forward)


def test_not_enough_memory(good_bert, monkeypatch):
    monkeypatch.setattr(model_mod, "_available_memory", lambda: 1000)
    refused(good_bert, "needs about", "GiB of memory as float32")
