"""Loading by memory map, converting layer by layer.

What is checked: ``load`` reads no tensor data (nothing is converted, and a tensor overwritten
after loading shows in the layer that reads it); bf16 and f16 files give the forward pass of
float32 files holding the same values (stated tolerance: 1e-6 relative to the largest entry;
the float32 values are the same, only their memory differs); a model converting every layer on
every pass (budget 0) gives exactly the numbers of one that keeps them; the memory check names
what it counts; progress calls come as layers are converted.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import attnviz.models as M
from attnviz.models import model as model_mod
from attnviz.models import weights as weights_mod
from tests.models import builders as B

TEXT = "the cat sat on the mat and the dog ran fast"
RTOL = 1e-6


# -- model folders ---------------------------------------------------------------------------


def _bert(folder: Path) -> None:
    B.write_wordlevel_tokenizer_json(folder)
    B.bert(folder)


def _gpt2(folder: Path) -> None:
    B.gpt2(folder, B.write_gpt2_bpe(folder))


def _gpt_neox(folder: Path) -> None:
    B.gpt_neox(folder, B.write_gpt2_bpe(folder))


def _llama(folder: Path) -> None:
    B.llama(folder, B.write_llama_tokenizer_json(folder), num_hidden_layers=3)


def _mixtral(folder: Path) -> None:
    B.llama(folder, B.write_llama_tokenizer_json(folder), kind="mixtral", num_local_experts=4,
            num_experts_per_tok=2, pad_token_id=0)  # fmt: skip


def _gemma2(folder: Path) -> None:
    B.llama(folder, B.write_llama_tokenizer_json(folder), kind="gemma2", head_dim=8,
            sliding_window=4, pad_token_id=0)  # fmt: skip


BUILDERS = {"bert": _bert, "gpt2": _gpt2, "gpt_neox": _gpt_neox, "llama": _llama,
            "mixtral": _mixtral, "gemma2": _gemma2}  # fmt: skip


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name, build in BUILDERS.items():
        out[name] = tmp_path_factory.mktemp(name)
        build(out[name])
    return out


def write_safetensors(path: Path, tensors: dict[str, tuple[str, np.ndarray]]) -> None:
    """{name: (safetensors dtype, array of that dtype's bytes)} -> a safetensors file, the
    tensors in name order (a model's layers one after another)."""
    tensors = dict(sorted(tensors.items()))
    header, offset = {}, 0
    for name, (dtype, a) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}  # fmt: skip
        offset += a.nbytes
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for _, a in tensors.values():
            f.write(np.ascontiguousarray(a).tobytes())


def rewritten(src: Path, dst: Path, dtype: str) -> Path:
    """A copy of ``src`` whose weights are stored as ``dtype`` ("BF16", "F16"), beside a copy
    ("F32") holding exactly the float32 values those round to. Returns ``dst``."""
    shutil.copytree(src, dst)
    tensors = load_file(str(src / "model.safetensors"))
    stored, widened = {}, {}
    for name, a in tensors.items():
        a = a.astype(np.float32)
        if dtype == "BF16":
            words = (a.view(np.uint32) >> 16).astype(np.uint16)  # truncated: still bf16
            stored[name] = ("BF16", words)
            widened[name] = ("F32", (words.astype(np.uint32) << 16).view(np.float32))
        else:
            half = a.astype(np.float16)
            stored[name] = ("F16", half)
            widened[name] = ("F32", half.astype(np.float32))
    write_safetensors(dst / "model.safetensors", stored)
    twin = dst.parent / f"{dst.name}-f32"
    shutil.copytree(src, twin)
    write_safetensors(twin / "model.safetensors", widened)
    return dst


def assert_same_trace(a: M.ModelTrace, b: M.ModelTrace, rtol: float = 0.0) -> None:
    for field in ("attentions", "q", "k", "v", "hidden_states"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.shape == y.shape and x.dtype == y.dtype == np.float32, field
        if rtol == 0.0:
            np.testing.assert_array_equal(x, y, err_msg=field)
        else:
            scale = float(np.abs(y).max())
            np.testing.assert_allclose(x, y, rtol=0, atol=rtol * scale, err_msg=field)


# -- nothing read up front -------------------------------------------------------------------


def test_load_converts_nothing_until_a_layer_runs(folders, tmp_path, monkeypatch):
    folder = rewritten(folders["llama"], tmp_path / "bf16", "BF16")
    converted = []
    real = weights_mod.to_float32

    def spy(raw, dtype, out=None):
        converted.append(raw.shape)
        return real(raw, dtype, out)

    def fail(*_a, **_k):
        raise AssertionError("load read every tensor")

    monkeypatch.setattr(weights_mod, "to_float32", spy)
    monkeypatch.setattr(weights_mod.WeightFiles, "read", fail)
    model = M.load(folder)
    assert converted == []
    assert model.weights is not None and model.weights.kept == 0
    model.forward(TEXT)
    assert converted, "the forward pass converted nothing"
    assert model.weights.kept == model.info.layers


def test_a_tensor_overwritten_after_loading_shows_only_in_its_layer(folders, tmp_path):
    """The data is read when its layer runs, not at load: NaN written into the last layer's
    query weights after loading leaves every earlier layer as it was and breaks that one."""
    folder = rewritten(folders["llama"], tmp_path / "bf16", "BF16")
    clean = M.load(folder).forward(TEXT)
    model = M.load(folder)
    last = model.info.layers - 1
    t = model.spec.tensors[f"layers.{last}.self_attn.q_proj.weight"]
    with t.file.open("r+b") as f:  # same size, in place: the mapping sees the new bytes
        f.seek(t.begin)
        f.write(np.full(t.size, 0x7FC0, "<u2").tobytes())  # bf16 NaN
    trace = model.forward(TEXT)
    np.testing.assert_array_equal(trace.attentions[:last], clean.attentions[:last])
    np.testing.assert_array_equal(trace.hidden_states[: last + 1], clean.hidden_states[: last + 1])
    assert np.isnan(trace.q[last]).all() and np.isnan(trace.attentions[last]).any()
    assert np.isfinite(clean.attentions).all()


def test_a_file_cut_short_after_checking_fails_when_its_tensor_is_used(
    folders, tmp_path, monkeypatch
):
    """A file truncated between the header check and the first pass: the layer whose bytes
    are missing says so (the earlier ones never needed them)."""
    folder = rewritten(folders["llama"], tmp_path / "bf16", "BF16")
    spec = M.inspect(folder)
    last = spec.arch.layers - 1
    t = spec.tensors[f"layers.{last}.mlp.down_proj.weight"]
    cut = t.begin + t.nbytes // 2
    for i in range(last):
        assert all(spec.tensors[n].begin < cut for n in spec.family.layer_shapes(i))
    real_inspect = model_mod.inspect

    def inspect_then_cut(path):  # the headers are checked, then the file is cut, then mapped
        out = real_inspect(path)
        with t.file.open("r+b") as f:
            f.truncate(cut)
        return out

    monkeypatch.setattr(model_mod, "inspect", inspect_then_cut)
    model = M.load(folder)
    assert model.weights is not None
    model.weights.shared()
    for i in range(last):
        model.weights.layer(i)  # every tensor of these lies before the cut
    with pytest.raises(M.ModelError, match="truncated inside tensor"):
        model.forward(TEXT)


# -- stored dtypes ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["BF16", "F16"])
@pytest.mark.parametrize("family", ["bert", "gpt2", "llama", "mixtral"])
def test_bf16_and_f16_files_match_float32_files_of_the_same_values(
    folders, tmp_path, family, dtype
):
    folder = rewritten(folders[family], tmp_path / "m", dtype)
    model = M.load(folder)
    assert model.info.dtype == {"BF16": "bfloat16", "F16": "float16"}[dtype]
    ref = M.load(tmp_path / "m-f32")
    assert ref.info.dtype == "float32"
    assert_same_trace(model.forward(TEXT), ref.forward(TEXT), rtol=RTOL)


def test_float32_files_are_used_in_place(folders):
    """Kept F32 layers hold only their fused copies; the rest is the mapped file itself."""
    model = M.load(folders["llama"])
    model.forward(TEXT)
    assert model.weights is not None
    t, converted = model.weights.layer(0)
    assert not converted
    assert not t["o_w"].flags.writeable  # a view of the read-only mapping
    assert t["qkv_w"].flags.writeable  # fused: a float32 array of its own
    f32 = sum(model.spec.layer_float32_bytes(i) for i in range(model.info.layers))
    assert 0 < model.weights.kept_bytes < f32


# -- per layer or kept -----------------------------------------------------------------------


@pytest.mark.parametrize("family", list(BUILDERS))
def test_per_layer_path_equals_the_kept_path_exactly(folders, tmp_path, family):
    folder = rewritten(folders[family], tmp_path / "m", "BF16")
    kept = M.load(folder)
    each_pass = M.load(folder, cache_bytes=0)
    first = kept.forward(TEXT)
    assert kept.weights.kept == kept.info.layers
    for _ in range(2):  # the second pass of each reads kept layers / converts again
        assert_same_trace(each_pass.forward(TEXT), first)
        assert_same_trace(kept.forward(TEXT), first)
    assert each_pass.weights.kept == 0 and each_pass.weights.kept_bytes == 0


def test_a_budget_for_one_layer_keeps_one(folders, tmp_path):
    folder = rewritten(folders["llama"], tmp_path / "m", "BF16")
    one = M.load(folder).spec.layer_float32_bytes(0)
    model = M.load(folder, cache_bytes=one)
    ref = M.load(folder).forward(TEXT)
    assert_same_trace(model.forward(TEXT), ref)
    assert model.weights.kept == 1 and 0 < model.weights.kept_bytes <= one
    assert_same_trace(model.forward(TEXT), ref)


# -- memory check ----------------------------------------------------------------------------


def test_memory_check_counts_the_mapped_files_and_one_layer(folders, tmp_path, monkeypatch):
    folder = rewritten(folders["llama"], tmp_path / "m", "BF16")
    spec = M.inspect(folder)
    layer = max(spec.layer_float32_bytes(i) for i in range(spec.arch.layers))
    need = spec.mapped_bytes + layer
    mapped = []
    real_init = weights_mod.MappedWeights.__init__

    def spy_init(self, files):
        mapped.append(files)
        real_init(self, files)

    monkeypatch.setattr(weights_mod.MappedWeights, "__init__", spy_init)
    monkeypatch.setattr(model_mod, "_available_memory", lambda: need - 1)
    with pytest.raises(M.ModelError) as info:
        M.load(folder)
    msg = str(info.value)
    for part in ("needs about", "GiB of memory as float32, one layer at a time",
                 "GiB of bfloat16 weights mapped from the files", "for the largest layer",
                 "GiB is available"):  # fmt: skip
        assert part in msg, msg
    assert mapped == [], "refused only after mapping the files"

    # Just enough for the mapped files and one layer: it loads, keeping nothing converted.
    monkeypatch.setattr(model_mod, "_available_memory", lambda: need)
    model = M.load(folder)
    assert model.weights.budget == 0
    model.forward(TEXT)
    assert model.weights.kept == 0

    # Room for two more layers: half of it (CACHE_SHARE) is the budget, one layer is kept.
    monkeypatch.setattr(model_mod, "_available_memory", lambda: need + 2 * layer + 1)
    model = M.load(folder)
    assert model.weights.budget == int((2 * layer + 1) * model_mod.CACHE_SHARE)
    model.forward(TEXT)
    assert model.weights.kept == 1


def test_an_explicit_budget_counts_in_the_memory_check(folders, monkeypatch):
    spec = M.inspect(folders["llama"])
    layer = max(spec.layer_float32_bytes(i) for i in range(spec.arch.layers))
    monkeypatch.setattr(model_mod, "_available_memory", lambda: spec.mapped_bytes + 2 * layer)
    M.load(folders["llama"], cache_bytes=layer)
    with pytest.raises(M.ModelError, match="of layers kept converted"):
        M.load(folders["llama"], cache_bytes=2 * layer)


# -- progress --------------------------------------------------------------------------------


def test_progress_as_layers_are_converted(folders, tmp_path):
    folder = rewritten(folders["llama"], tmp_path / "m", "BF16")
    calls: list[tuple[int, int, str]] = []
    model = M.load(folder, progress=lambda *a: calls.append(a))
    n = model.info.layers
    assert [c[:2] for c in calls] == [(0, n)] and "mapped" in calls[0][2]
    calls.clear()
    model.forward(TEXT)
    assert [c[:2] for c in calls] == [(i, n) for i in range(1, n + 1)]
    assert all(isinstance(w, str) and "converted" in w for *_, w in calls)
    calls.clear()
    model.forward(TEXT)  # every layer kept: nothing to convert, nothing said
    assert calls == []

    own: list[tuple[int, int, str]] = []
    each_pass = M.load(folder, cache_bytes=0)
    for _ in range(2):  # converted again each pass, each pass says so
        each_pass.forward(TEXT, progress=lambda *a: own.append(a))
    assert [c[:2] for c in own] == [(i, n) for i in range(1, n + 1)] * 2


def test_prepare_converts_ahead_of_the_first_pass(folders, tmp_path):
    folder = rewritten(folders["llama"], tmp_path / "m", "BF16")
    calls: list[tuple[int, int, str]] = []
    model = M.load(folder)
    assert model.prepare(progress=lambda *a: calls.append(a)) == model.info.layers
    assert [c[:2] for c in calls] == [(i, model.info.layers) for i in range(1, 4)]
    calls.clear()
    model.forward(TEXT, progress=lambda *a: calls.append(a))
    assert calls == []
    one = M.load(folder, cache_bytes=model.spec.layer_float32_bytes(0))
    assert one.prepare() == 1
