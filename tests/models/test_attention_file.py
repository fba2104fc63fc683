"""Importing saved attention (.npy / .npz) without pickle, with every shape checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

import attnviz.models as M

TOKENS = ["[CLS]", "the", "cat", "sat", "[SEP]"]


def probs(*shape: int, seed: int = 0, causal: bool = False) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=shape)
    if causal:
        x = np.where(np.tril(np.ones(shape[-2:], dtype=bool)), x, -np.inf)
    e = np.exp(x - x.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def refused(*args, fragments=(), **kw) -> None:
    with pytest.raises(M.ModelError) as info:
        M.load_attention_file(*args, **kw)
    for f in fragments:
        assert f in str(info.value), f"{f!r} not in {info.value}"


def test_npz_with_tokens(tmp_path):
    a = probs(3, 2, 5, 5)
    np.savez(tmp_path / "att.npz", attention=a, tokens=np.array(TOKENS))
    f = M.load_attention_file(tmp_path / "att.npz")
    assert f.tokens == tuple(TOKENS) and f.key_tokens == tuple(TOKENS)
    assert (f.layers, f.heads) == (3, 2)
    np.testing.assert_array_equal(f.attentions, a)
    assert f.attentions.dtype == np.float32


def test_npy_with_sidecar_json_and_one_layer(tmp_path):
    a = probs(4, 5, 5, causal=True).astype(np.float16)  # (heads, L, S) as CircuitsVis takes it
    np.save(tmp_path / "pattern.npy", a)
    (tmp_path / "pattern.json").write_text(json.dumps(TOKENS))
    f = M.load_attention_file(tmp_path / "pattern.npy")
    assert f.attentions.shape == (1, 4, 5, 5)
    np.testing.assert_array_equal(f.attentions[0], a.astype(np.float32))


def test_batch_of_one_and_explicit_tokens_path(tmp_path):
    a = probs(2, 1, 3, 5, 5)  # per-layer (batch, heads, L, S) outputs stacked, as from BertViz
    np.save(tmp_path / "a.npy", a)
    (tmp_path / "t.json").write_text(json.dumps({"tokens": TOKENS}))
    f = M.load_attention_file(tmp_path / "a.npy", tokens_path=tmp_path / "t.json")
    assert f.attentions.shape == (2, 3, 5, 5)


def test_cross_attention_needs_key_tokens(tmp_path):
    a = probs(1, 2, 5, 3)
    np.savez(tmp_path / "x.npz", attention=a, tokens=np.array(TOKENS))
    refused(tmp_path / "x.npz", fragments=("5 queries × 3 keys", "key_tokens"))
    np.savez(
        tmp_path / "y.npz", attention=a, tokens=np.array(TOKENS), key_tokens=np.array(list("abc"))
    )
    assert M.load_attention_file(tmp_path / "y.npz").key_tokens == ("a", "b", "c")


def test_unnamed_single_array_is_taken(tmp_path):
    np.savez(tmp_path / "u.npz", probs(2, 2, 5, 5), tokens=np.array(TOKENS))  # saved as arr_0
    assert M.load_attention_file(tmp_path / "u.npz").layers == 2


def test_object_arrays_are_never_unpickled(tmp_path):
    np.savez(tmp_path / "o.npz", attention=probs(1, 1, 5, 5), tokens=np.array(TOKENS, dtype=object))
    refused(tmp_path / "o.npz", fragments=("'tokens'", "Python objects", "never unpickles"))
    np.save(tmp_path / "o.npy", np.array([probs(1, 2, 2)], dtype=object), allow_pickle=True)
    refused(tmp_path / "o.npy", fragments=("Python objects",))


@pytest.mark.parametrize("name", ["att.pt", "att.pkl", "att.csv"])
def test_other_formats_refused(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x80\x04")
    refused(tmp_path / name, fragments=(name,))


def test_rows_must_be_distributions(tmp_path):
    scores = np.random.default_rng(1).normal(size=(1, 2, 5, 5)).astype(np.float32)
    np.savez(tmp_path / "s.npz", attention=np.abs(scores), tokens=np.array(TOKENS))
    refused(tmp_path / "s.npz", fragments=("probability distributions", "layer 0, head 0"))
    a = probs(1, 2, 5, 5)
    a[0, 1, 3] = 0.0  # a row that may look at nothing is allowed (all zeros)
    np.savez(tmp_path / "z.npz", attention=a, tokens=np.array(TOKENS))
    assert M.load_attention_file(tmp_path / "z.npz").heads == 2
    a[0, 0, 0, 0] = np.nan
    np.savez(tmp_path / "n.npz", attention=a, tokens=np.array(TOKENS))
    refused(tmp_path / "n.npz", fragments=("NaN",))


def test_token_count_must_match(tmp_path):
    np.savez(tmp_path / "m.npz", attention=probs(1, 2, 4, 4), tokens=np.array(TOKENS))
    refused(tmp_path / "m.npz", fragments=("L=4 query positions", "lists 5 tokens"))


def test_missing_tokens(tmp_path):
    np.save(tmp_path / "a.npy", probs(1, 2, 5, 5))
    refused(tmp_path / "a.npy", fragments=("no tokens", "a.json"))
    refused(tmp_path / "a.npy", tokens_path=tmp_path / "gone.json", fragments=("missing",))


def test_wrong_dimensions(tmp_path):
    np.savez(tmp_path / "d.npz", attention=probs(5, 5), tokens=np.array(TOKENS))
    refused(tmp_path / "d.npz", fragments=("shape (5, 5)", "(layers, heads, L, S)"))
    np.save(tmp_path / "e.npy", probs(2, 2, 2, 2, 5, 5))
    (tmp_path / "e.json").write_text(json.dumps(TOKENS))
    refused(tmp_path / "e.npy", fragments=("shape (2, 2, 2, 2, 5, 5)",))


def test_ambiguous_arrays(tmp_path):
    np.savez(tmp_path / "two.npz", probs(1, 2, 5, 5), probs(1, 2, 5, 5), tokens=np.array(TOKENS))
    refused(tmp_path / "two.npz", fragments=("cannot tell which array", "arr_0, arr_1"))


def test_truncated_npy_is_caught_before_reading(tmp_path):
    np.save(tmp_path / "t.npy", probs(2, 2, 5, 5))
    (tmp_path / "t.json").write_text(json.dumps(TOKENS))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-40])
    refused(tmp_path / "t.npy", fragments=("truncated",))


def test_header_claiming_a_huge_array_is_refused(tmp_path):
    path = tmp_path / "h.npy"
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (64, 64, 4096, 4096)}
        )
    refused(path, fragments=("GiB", "limit"))


def test_not_a_zip(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"PK not really")
    refused(tmp_path / "bad.npz", fragments=("not a valid .npz",))
