"""The CuPy backend: it explains itself without a GPU, and on a GPU the flash kernels agree with
a float64 NumPy reference.

Tolerances: float32 output within 1e-5 of the output's scale (max |O - ref| <= 1e-5 max |ref|);
float16 / bfloat16 within 2e-2 absolute. Outputs are allocated NaN-filled, so an element the
kernel forgot to write fails; inputs are fresh random normals, never zeros.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from attnviz.backends import cupy_backend as cb

GPU_OK, GPU_TEXT = cb.probe()
gpu = pytest.mark.gpu
needs_gpu = pytest.mark.skipif(not GPU_OK, reason=f"no usable GPU: {GPU_TEXT}")
FLOAT_DTYPES = ("float32", "float16", "bfloat16")


# ------------------------------------------------------------------------------------------
# Everywhere
# ------------------------------------------------------------------------------------------


def test_importing_the_backend_does_not_import_cupy():
    code = (
        "import sys; import attnviz.backends.cupy_backend; "
        "assert 'cupy' not in sys.modules, sorted(m for m in sys.modules if 'cupy' in m)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_probe_says_why_without_raising():
    ok, text = cb.probe()
    assert isinstance(ok, bool)
    assert isinstance(text, str) and text
    assert cb.probe() is cb.probe()  # cached
    if ok:
        pytest.skip(f"a GPU is present ({text}); the gpu tests cover it")
    assert not ok


def test_flash_attention_without_a_gpu_raises_kernel_unsupported():
    if GPU_OK:
        pytest.skip(f"a GPU is present ({GPU_TEXT})")
    q = np.ones((1, 1, 4, 32), np.float32)
    with pytest.raises(cb.KernelUnsupported) as info:
        cb.flash_attention(q, q, q, scale=1.0)
    assert str(info.value) == GPU_TEXT
    assert issubclass(cb.KernelUnsupported, RuntimeError)


@pytest.mark.parametrize(
    ("window", "is_causal", "expected"),
    [
        (None, False, (30, 30)),  # L + S = 30: unlimited
        (None, True, (30, 0)),
        ((4, None), True, (4, 0)),
        ((None, 3), True, (30, 0)),
        ((2, -1), True, (2, -1)),
        ((10**9, -(10**9)), False, (30, -30)),  # clamped, same meaning
    ],
)
def test_window_folding(window, is_causal, expected):
    assert cb._window_bounds(window, is_causal, 10, 20) == expected


def test_kernel_source_names_both_kernels():
    source = cb.kernel_source()
    assert 'extern "C" __global__' in source
    assert "attnviz_flash_fwd" in source and "attnviz_attn_weights" in source


# ------------------------------------------------------------------------------------------
# GPU helpers
# ------------------------------------------------------------------------------------------


def _bf16_bits(x: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) >> 16).astype(np.uint16)


def to_device(x: np.ndarray, dtype: str):
    """float32 host array -> device array of ``dtype``, and the float64 values it holds."""
    import cupy

    if dtype == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 arrays need ml_dtypes")
        bits = _bf16_bits(x)
        try:
            dev = cupy.asarray(bits).view(ml_dtypes.bfloat16)
        except (TypeError, ValueError) as exc:
            pytest.skip(f"this CuPy has no bfloat16 arrays: {exc}")
        exact = (bits.astype(np.uint32) << 16).view(np.float32)
        return dev, exact.astype(np.float64)
    host = x.astype(dtype)
    return cupy.asarray(host), host.astype(np.float64)


def to_host64(x) -> np.ndarray:
    import cupy

    if x.dtype.name == "bfloat16":
        bits = x.view(cupy.uint16).get()
        return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return x.get().astype(np.float64)


@pytest.fixture
def poisoned_outputs(monkeypatch):
    """Every output the backend allocates starts as NaN."""
    import cupy

    def empty_nan(shape, dtype):
        out = cupy.empty(shape, dtype=dtype)
        if out.dtype.itemsize == 2:
            out.view(cupy.uint16).fill(0x7FFF)  # NaN in float16 and in bfloat16
        else:
            out.fill(np.nan)
        return out

    monkeypatch.setattr(cb, "_empty_output", empty_nan)


def reference(q, k, v, *, scale, temperature, is_causal, window, kv_lengths, bias=None):
    """float64 NumPy: (O, lse, P) with GQA by repetition; rows with no key give 0 / -inf / 0.
    ``bias`` (additive, -inf = masked) is added to the logits q . k * scale / temperature."""
    batch, heads_q, length_l, _ = q.shape
    heads_kv, length_s = k.shape[1], k.shape[2]
    k = np.repeat(k, heads_q // heads_kv, axis=1)  # (B, Hq, S, E)
    v = np.repeat(v, heads_q // heads_kv, axis=1)  # (B, Hq, S, Ev)
    i = np.arange(length_l)[:, None]
    j = np.arange(length_s)[None, :]
    visible = np.ones((batch, 1, length_l, length_s), bool)
    if is_causal:
        visible &= j <= i
    if window is not None:
        left, right = window
        if left is not None:
            visible &= j >= i - left
        if right is not None:
            visible &= j <= i + right
    if kv_lengths is not None:
        visible &= j < np.asarray(kv_lengths).reshape(batch, 1, 1, 1)
    logits = q @ k.swapaxes(-1, -2) * (scale / temperature)
    if bias is not None:
        logits = logits + bias
    logits = np.where(visible, logits, -np.inf)
    row_max = logits.max(axis=-1, keepdims=True, initial=-np.inf)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    e = np.exp(logits - row_max)
    denom = e.sum(axis=-1, keepdims=True)
    has_key = denom > 0
    p = np.where(has_key, e / np.where(has_key, denom, 1.0), 0.0)
    with np.errstate(divide="ignore"):
        lse = np.where(has_key, np.log(np.where(has_key, denom, 1.0)) + row_max, -np.inf)[..., 0]
    return p @ v, lse, p


def random_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    heads_kv = int(rng.choice([1, 2, 3]))
    group = int(rng.choice([1, 2, 4]))  # 1: MHA; > 1: GQA (MQA when heads_kv == 1)
    length_l = int(rng.integers(1, 200))
    length_s = length_l if rng.random() < 0.4 else int(rng.integers(1, 200))  # else: cross
    batch = int(rng.choice([1, 2]))
    window = None
    if rng.random() < 0.4:
        sides = [None, int(rng.integers(0, 40)), int(rng.integers(-3, 90))]
        window = (sides[rng.integers(3)], sides[rng.integers(3)])
    kv_lengths = None
    if rng.random() < 0.4:
        kv_lengths = rng.integers(0, length_s + 5, size=batch)
    return dict(
        shape=(batch, heads_kv * group, heads_kv, length_l, length_s),
        head_dim=int(rng.choice(cb.HEAD_DIMS)),
        is_causal=bool(rng.random() < 0.5),
        window=window,
        kv_lengths=kv_lengths,
        temperature=float(rng.choice([1.0, 0.5, 2.0])),
        seed=seed,
    )


CASES = [random_case(seed) for seed in range(24)] + [
    # long causal self-attention: many tiles, most skipped above the diagonal
    dict(
        shape=(1, 2, 2, 700, 700),
        head_dim=64,
        is_causal=True,
        window=None,
        kv_lengths=None,
        temperature=1.0,
        seed=100,
    ),
    # sliding window, several tiles straddling both edges
    dict(
        shape=(2, 4, 1, 333, 333),
        head_dim=128,
        is_causal=False,
        window=(40, 17),
        kv_lengths=np.array([333, 200]),
        temperature=0.7,
        seed=101,
    ),
    # decoding one token against a long cache; cross shapes
    dict(
        shape=(2, 8, 2, 1, 517),
        head_dim=32,
        is_causal=False,
        window=None,
        kv_lengths=np.array([517, 3]),
        temperature=1.0,
        seed=102,
    ),
    dict(
        shape=(1, 3, 1, 257, 65),
        head_dim=64,
        is_causal=True,
        window=None,
        kv_lengths=None,
        temperature=1.3,
        seed=103,
    ),
]


def _case_id(case: dict) -> str:
    b, hq, hkv, length_l, length_s = case["shape"]
    flags = "c" if case["is_causal"] else ""
    flags += "w" if case["window"] is not None else ""
    flags += "k" if case["kv_lengths"] is not None else ""
    return f"s{case['seed']}-{b}x{hq}/{hkv}x{length_l}x{length_s}xE{case['head_dim']}{flags}"


def _inputs(case: dict, dtype: str):
    batch, heads_q, heads_kv, length_l, length_s = case["shape"]
    head_dim = case["head_dim"]
    rng = np.random.default_rng(1000 + case["seed"])
    host = [
        rng.standard_normal((batch, heads_q, length_l, head_dim)).astype(np.float32),
        rng.standard_normal((batch, heads_kv, length_s, head_dim)).astype(np.float32),
        rng.standard_normal((batch, heads_kv, length_s, head_dim)).astype(np.float32),
    ]
    pairs = [to_device(x, dtype) for x in host]
    return [p[0] for p in pairs], [p[1] for p in pairs]


# ------------------------------------------------------------------------------------------
# GPU tests
# ------------------------------------------------------------------------------------------


@gpu
@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_flash_kernel_matches_float64_reference(case, dtype, poisoned_outputs):
    (q, k, v), (q64, k64, v64) = _inputs(case, dtype)
    scale = 1.0 / math.sqrt(case["head_dim"])
    kw = dict(
        scale=scale,
        temperature=case["temperature"],
        is_causal=case["is_causal"],
        window=case["window"],
        kv_lengths=case["kv_lengths"],
    )
    out, lse, weights = cb.flash_attention(q, k, v, return_weights=True, **kw)
    o_ref, lse_ref, p_ref = reference(q64, k64, v64, **kw)

    assert out.dtype == q.dtype and out.shape == q.shape
    assert lse.dtype == np.float32 and lse.shape == q.shape[:3]
    assert weights.dtype == np.float32 and weights.shape == p_ref.shape
    o, lse_h, p = to_host64(out), lse.get().astype(np.float64), weights.get().astype(np.float64)
    assert not np.isnan(o).any(), "unwritten or NaN output"
    assert not np.isnan(lse_h).any() and not np.isnan(p).any()

    empty = np.isneginf(lse_ref)
    np.testing.assert_array_equal(np.isneginf(lse_h), empty)
    assert (o[empty] == 0).all() and (p[empty] == 0).all()
    assert (p[p_ref == 0] == 0).all(), "weight on a masked key"
    if dtype == "float32":
        assert np.abs(o - o_ref).max(initial=0) <= 1e-5 * max(1.0, np.abs(o_ref).max(initial=0))
        np.testing.assert_allclose(lse_h[~empty], lse_ref[~empty], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(p, p_ref, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(o, o_ref, rtol=0, atol=2e-2)
        np.testing.assert_allclose(lse_h[~empty], lse_ref[~empty], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(p, p_ref, rtol=0, atol=2e-2)
    np.testing.assert_allclose(p.sum(-1)[~empty], 1.0, atol=1e-4)


@gpu
@needs_gpu
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_rows_without_keys_are_zero_not_nan(dtype, poisoned_outputs):
    case = dict(shape=(2, 2, 1, 70, 90), head_dim=64, seed=5)
    (q, k, v), _ = _inputs(case, dtype)
    out, lse, weights = cb.flash_attention(
        q, k, v, scale=0.125, kv_lengths=np.array([0, 0]), return_weights=True
    )
    assert (to_host64(out) == 0).all()
    assert np.isneginf(lse.get()).all()
    assert (weights.get() == 0).all()
    # A window that excludes every key for the first rows: j <= i - 5.
    out, lse = cb.flash_attention(q, k, v, scale=0.125, window=(None, -5))
    assert (to_host64(out)[:, :, :5] == 0).all() and np.isneginf(lse.get()[:, :, :5]).all()
    assert np.isfinite(lse.get()[:, :, 5:]).all()


@gpu
@needs_gpu
def test_non_contiguous_inputs_and_empty_query(poisoned_outputs):
    import cupy

    rng = np.random.default_rng(3)
    base = cupy.asarray(rng.standard_normal((1, 64, 3, 32)).astype(np.float32))
    q = base.transpose(0, 2, 1, 3)  # (1, 3, 64, 32), not contiguous
    out, _ = cb.flash_attention(q, q, q, scale=0.2)
    q64 = q.get().astype(np.float64)
    o_ref, _, _ = reference(
        q64, q64, q64, scale=0.2, temperature=1.0, is_causal=False, window=None, kv_lengths=None
    )
    assert np.abs(out.get() - o_ref).max() <= 1e-5 * np.abs(o_ref).max()
    empty = cupy.asarray(rng.standard_normal((1, 3, 0, 32)).astype(np.float32))
    out, lse = cb.flash_attention(empty, q, q, scale=0.2)
    assert out.shape == (1, 3, 0, 32) and lse.shape == (1, 3, 0)


@gpu
@needs_gpu
def test_unsupported_cases_raise_kernel_unsupported():
    import cupy

    def arr(*shape, dtype=cupy.float32):
        return cupy.asarray(np.random.default_rng(0).standard_normal(shape)).astype(dtype)

    with pytest.raises(cb.KernelUnsupported, match="head dim"):
        cb.flash_attention(arr(1, 1, 8, 48), arr(1, 1, 8, 48), arr(1, 1, 8, 48), scale=1.0)
    with pytest.raises(cb.KernelUnsupported, match="float64"):
        x = arr(1, 1, 8, 32, dtype=cupy.float64)
        cb.flash_attention(x, x, x, scale=1.0)
    with pytest.raises(cb.KernelUnsupported, match="Ev == E"):
        cb.flash_attention(arr(1, 1, 8, 32), arr(1, 1, 8, 32), arr(1, 1, 8, 64), scale=1.0)
    with pytest.raises(cb.KernelUnsupported, match="temperature"):
        x = arr(1, 1, 8, 32)
        cb.flash_attention(x, x, x, scale=1.0, temperature=0.0)
    with pytest.raises(ValueError, match="multiple"):
        cb.flash_attention(arr(1, 3, 8, 32), arr(1, 2, 8, 32), arr(1, 2, 8, 32), scale=1.0)


@gpu
@needs_gpu
def test_compile_times_are_recorded():
    import cupy

    x = cupy.asarray(np.random.default_rng(1).standard_normal((1, 1, 16, 32)).astype(np.float32))
    cb.flash_attention(x, x, x, scale=1.0, return_weights=True)
    times = cb.compile_times()
    assert ("float32", 32, "forward") in times and ("float32", 32, "weights") in times
    assert all(t > 0 for t in times.values())


@gpu
@needs_gpu
@pytest.mark.parametrize("method", ["auto", "standard", "flash"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_run_matches_the_numpy_core(method, dtype):
    """The backend's run gives the CPU core's numbers, with or without the kernel."""
    from attnviz.core._problem import prepare
    from attnviz.core.attention import attention

    rng = np.random.default_rng(21)
    q = rng.standard_normal((2, 4, 50, 64)).astype(dtype)
    k = rng.standard_normal((2, 2, 70, 64)).astype(dtype)
    v = rng.standard_normal((2, 2, 70, 64)).astype(dtype)
    masks = [None, rng.random((50, 70)) < 0.7]
    for attn_mask in masks:
        kw = dict(attn_mask=attn_mask, is_causal=True, enable_gqa=True, temperature=0.7)
        p = prepare(q, k, v, attn_mask, True, None, True, 0.7, (20, None))
        out, weights = cb.run(p, method, True, to_host=True)
        ref, ref_w = attention(q, k, v, window=(20, None), return_weights=True, **kw)
        assert out.dtype == ref.dtype and weights.shape == ref_w.shape
        tol = {"float32": 1e-5, "float16": 2e-2, "float64": 1e-12}[dtype]
        scale = max(1.0, float(np.abs(ref.astype(np.float64)).max()))
        assert np.abs(out.astype(np.float64) - ref.astype(np.float64)).max() <= tol * scale
        np.testing.assert_allclose(
            weights.astype(np.float64), ref_w.astype(np.float64), rtol=0, atol=max(tol, 1e-6)
        )
