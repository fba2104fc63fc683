"""The CUDA kernels compile, and their arithmetic is right, on machines without a GPU.

1. ``flash_attention.cu`` compiles for sm_80 and sm_90 with the options CuPy would use, for every
   dtype x head dim x variant, with nvcc (``-cubin``, ptxas must not spill) and with NVRTC — the
   compiler CuPy really uses — when its library is found (the ``nvidia-cuda-nvrtc`` wheel).
2. A NumPy emulation that follows the kernels' loop (tiles, skipped tiles, zero-filled padding,
   base-2 online softmax, running max m and sum l, rescale alpha) matches a direct float64
   softmax.
3. A lane-by-lane emulation of ldmatrix and mma.sync m16n8k16 replays the tensor-core kernel's
   address arithmetic and checks that the fragments it builds give Q K^T and P V.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.backends import cupy_backend as cb

ARCHS = ("80", "90")
CONFIGS = [
    (dtype, head_dim, variant)
    for dtype in cb.DTYPES
    for head_dim in cb.HEAD_DIMS
    for variant in cb.VARIANTS
]
# What CuPy appends to every RawModule compile (cupy/cuda/compiler.py, cupy/_core/raw.pyx).
CUPY_OPTIONS = ("--std=c++17", "-ftz=true")
KERNEL_NAMES = {"forward": "attnviz_flash_fwd", "weights": "attnviz_attn_weights"}


# ------------------------------------------------------------------------------------------
# Compilers
# ------------------------------------------------------------------------------------------


def _find_nvcc() -> str | None:
    found = shutil.which("nvcc")
    if found:
        return found
    for root in (os.environ.get("CUDA_PATH"), os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if root and Path(root, "bin", "nvcc").is_file():
            return str(Path(root, "bin", "nvcc"))
    return None


def _nvrtc_candidates() -> list[str]:
    paths: list[str] = []
    for entry in sys.path:  # the nvidia-cuda-nvrtc wheel: nvidia/cu13/lib or nvidia/cuda_nvrtc/lib
        for pattern in ("nvidia/cu1*/lib/libnvrtc.so*", "nvidia/cuda_nvrtc/lib/libnvrtc.so*"):
            paths += sorted(glob.glob(os.path.join(entry, pattern)))
    for root in (os.environ.get("CUDA_PATH"), os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if root:
            paths += sorted(glob.glob(os.path.join(root, "lib64", "libnvrtc.so*")))
    system = ctypes.util.find_library("nvrtc")
    if system:
        paths.append(system)
    return [p for p in paths if "builtins" not in p and "alt" not in Path(p).name]


def _load_nvrtc() -> ctypes.CDLL | None:
    for path in _nvrtc_candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        major, minor = ctypes.c_int(), ctypes.c_int()
        if lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)) == 0 and major.value >= 12:
            return lib
    return None


NVCC = _find_nvcc()
NVRTC = _load_nvrtc()


def _compile_nvcc(source: Path, options: tuple[str, ...], arch: str, out: Path) -> str:
    cmd = [NVCC, "-cubin", f"-arch=sm_{arch}", *CUPY_OPTIONS, *options, "-Xptxas", "-v"]
    cmd += ["-o", str(out), "-x", "cu", str(source)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"nvcc failed:\n{' '.join(cmd)}\n{log}"
    return log


def _compile_nvrtc(source: str, options: tuple[str, ...], arch: str) -> tuple[bytes, str]:
    """Compile with NVRTC through ctypes, as CuPy does (sm_XX -> cubin); returns (cubin, log)."""
    assert NVRTC is not None
    prog = ctypes.c_void_p()
    rc = NVRTC.nvrtcCreateProgram(
        ctypes.byref(prog), source.encode(), b"flash_attention.cu", 0, None, None
    )
    assert rc == 0, f"nvrtcCreateProgram returned {rc}"
    try:
        opts = [o.encode() for o in (f"-arch=sm_{arch}", *CUPY_OPTIONS, *options)]
        argv = (ctypes.c_char_p * len(opts))(*opts)
        rc = NVRTC.nvrtcCompileProgram(prog, len(opts), argv)
        size = ctypes.c_size_t()
        NVRTC.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log_buf = ctypes.create_string_buffer(size.value)
        NVRTC.nvrtcGetProgramLog(prog, log_buf)
        log = log_buf.value.decode(errors="replace")
        assert rc == 0, f"NVRTC failed ({rc}) with {opts}:\n{log}"
        NVRTC.nvrtcGetCUBINSize(prog, ctypes.byref(size))
        cubin = ctypes.create_string_buffer(size.value)
        assert NVRTC.nvrtcGetCUBIN(prog, cubin) == 0
        return cubin.raw, log
    finally:
        NVRTC.nvrtcDestroyProgram(ctypes.byref(prog))


@pytest.mark.skipif(
    NVCC is None and NVRTC is None,
    reason="neither nvcc nor NVRTC (libnvrtc, e.g. the nvidia-cuda-nvrtc wheel) is available",
)
@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: f"sm_{a}")
@pytest.mark.parametrize(("dtype", "head_dim", "variant"), CONFIGS, ids=lambda x: str(x))
def test_kernel_compiles(tmp_path, arch, dtype, head_dim, variant):
    options = cb.compile_options(dtype, head_dim, variant)
    source = cb.kernel_source()
    name = KERNEL_NAMES[variant]
    if NVCC is not None:
        src = tmp_path / "flash_attention.cu"
        src.write_text(source)
        out = tmp_path / "k.cubin"
        log = _compile_nvcc(src, options, arch, out)
        assert "warning" not in log.lower(), log
        assert " 0 bytes spill stores" in log, f"ptxas spilled registers:\n{log}"
        assert name.encode() in out.read_bytes()
    if NVRTC is not None:
        cubin, log = _compile_nvrtc(source, options, arch)
        assert "warning" not in log.lower(), log
        assert name.encode() in cubin


def test_compile_options_select_one_configuration():
    assert cb.compile_options("bfloat16", 64, "forward") == (
        "-DATTNVIZ_DTYPE=2",
        "-DATTNVIZ_HEAD_DIM=64",
        "-DATTNVIZ_VARIANT=0",
    )
    assert cb.compile_options(np.dtype(np.float32), 128, "weights")[0] == "-DATTNVIZ_DTYPE=0"
    with pytest.raises(ValueError, match="head dim"):
        cb.compile_options("float16", 48, "forward")
    with pytest.raises(ValueError, match="dtype"):
        cb.compile_options("float64", 64, "forward")
    with pytest.raises(ValueError, match="variant"):
        cb.compile_options("float32", 64, "backward")


def test_shared_memory_matches_the_documented_layout():
    source = cb.kernel_source()
    for dtype, sizes in (
        ("float32", (45_056, 69_632, 76_800)),
        ("float16", (15_360, 27_648, 52_224)),
    ):
        got = tuple(cb.shared_memory_bytes(dtype, d, "forward") for d in cb.HEAD_DIMS)
        assert got == sizes
        assert " / ".join(f"{n:,}" for n in sizes) in source  # the .cu header says the same
    weights = tuple(cb.shared_memory_bytes("bfloat16", d, "weights") for d in cb.HEAD_DIMS)
    assert weights == (18_432, 34_816, 67_584)
    assert " / ".join(f"{n:,}" for n in weights) in source


# ------------------------------------------------------------------------------------------
# The tile loop, emulated in NumPy
# ------------------------------------------------------------------------------------------

LOG2E = np.float32(np.log2(np.e))
LN2 = np.float32(np.log(2.0))


def _round_to(x: np.ndarray, dtype: str | None) -> np.ndarray:
    """Round float32 values to float16 / bfloat16 (nearest even) and back, as the kernel's
    cvt.rn does to P before the P V mma; None leaves them alone."""
    x = np.asarray(x, dtype=np.float32)
    if dtype is None or dtype == "float32":
        return x
    if dtype == "float16":
        return x.astype(np.float16).astype(np.float32)
    bits = x.view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) >> 16 << 16
    return rounded.astype(np.uint32).view(np.float32)


def _visible(i, j, kv_len, left, right):
    return (j < kv_len) & (j >= i - left) & (j <= i + right)


def emulate_kernel(q, k, v, *, scale, temperature, kv_len, left, right, bm, bn, p_dtype=None):
    """One (batch, head) slice in the kernels' exact order (see the .cu header).

    q (L, E), k (S, E), v (S, E) float32; ``left``/``right`` already folded as the Python side
    passes them (unlimited = L + S, causal -> right <= 0). Returns (O, lse) float32.
    """
    length_l, head_dim = q.shape
    length_s = k.shape[0]
    c = np.float32(scale / temperature * np.log2(np.e))  # scale_log2, rounded as the launch does
    out = np.zeros((length_l, head_dim), np.float32)
    lse = np.zeros(length_l, np.float32)
    for q0 in range(0, length_l, bm):
        q_last = min(q0 + bm, length_l) - 1
        q_tile = np.zeros((bm, head_dim), np.float32)  # rows past L are zero-filled
        q_tile[: q_last - q0 + 1] = q[q0 : q_last + 1]
        i = np.arange(q0, q0 + bm)[:, None]
        m = np.full(bm, -np.inf, np.float32)
        l_sum = np.zeros(bm, np.float32)
        acc = np.zeros((bm, head_dim), np.float32)
        k_begin = max(0, q0 - left)
        k_end = min(kv_len, q_last + right + 1)
        t_first = k_begin // bn
        t_end = -(-k_end // bn) if k_end > k_begin else t_first
        for t in range(t_first, t_end):  # tiles outside [k_begin, k_end) are never loaded
            kt = t * bn
            k_tile = np.zeros((bn, head_dim), np.float32)
            v_tile = np.zeros((bn, head_dim), np.float32)
            n_valid = max(0, min(bn, length_s - kt))
            k_tile[:n_valid] = k[kt : kt + n_valid]
            v_tile[:n_valid] = v[kt : kt + n_valid]
            s = (q_tile @ k_tile.T) * c  # base 2: exp(x) == exp2(x log2 e)
            needs_mask = kt + bn > kv_len or kt < q_last - left or kt + bn - 1 > q0 + right
            if needs_mask:
                j = np.arange(kt, kt + bn)[None, :]
                s = np.where(_visible(i, j, kv_len, left, right), s, -np.inf)
            m_new = np.maximum(m, s.max(axis=1))
            m_use = np.where(m_new == -np.inf, np.float32(0), m_new)  # all-masked: 0, not NaN
            p = np.exp2(s - m_use[:, None])
            alpha = np.exp2(m - m_use)
            l_sum = l_sum * alpha + p.sum(axis=1)
            acc = acc * alpha[:, None] + _round_to(p, p_dtype) @ v_tile
            m = m_new
        rows = slice(0, q_last - q0 + 1)
        with np.errstate(divide="ignore"):
            safe_l = np.where(l_sum > 0, l_sum, np.float32(1))
            out[q0 : q_last + 1] = np.where(l_sum[:, None] > 0, acc / safe_l[:, None], 0)[rows]
            lse[q0 : q_last + 1] = np.where(
                l_sum > 0, (m + np.log2(safe_l)) * LN2, np.float32(-np.inf)
            )[rows]
    return out, lse


def direct_softmax_attention(q, k, v, *, scale, temperature, kv_len, left, right):
    """float64: P = softmax(q k^T scale / T) over visible keys; O = P v; lse; zeros if none."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    i = np.arange(q.shape[0])[:, None]
    j = np.arange(k.shape[0])[None, :]
    visible = _visible(i, j, kv_len, left, right)
    logits = np.where(visible, q @ k.T * scale / temperature, -np.inf)
    row_max = logits.max(axis=1, keepdims=True, initial=-np.inf)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    e = np.exp(logits - row_max)
    denom = e.sum(axis=1, keepdims=True)
    has_key = denom[:, 0] > 0
    p = np.where(has_key[:, None], e / np.where(has_key, denom[:, 0], 1.0)[:, None], 0.0)
    with np.errstate(divide="ignore"):
        lse = np.where(
            has_key, np.log(np.where(has_key, denom[:, 0], 1.0)) + row_max[:, 0], -np.inf
        )
    return p @ v, lse, p


def _fold_window(length_l, length_s, is_causal, window):
    """The Python side's folding, here through the backend's own helper."""
    return cb._window_bounds(window, is_causal, length_l, length_s)


window_sides = st.one_of(st.none(), st.integers(-3, 80))


@settings(max_examples=80, deadline=None)
@given(
    length_l=st.integers(1, 150),
    length_s=st.integers(0, 150),
    head_dim=st.sampled_from([4, 8, 32]),  # the loop does not care; small keeps it quick
    is_causal=st.booleans(),
    window=st.one_of(st.none(), st.tuples(window_sides, window_sides)),
    kv_frac=st.one_of(st.none(), st.floats(0.0, 1.2)),
    temperature=st.sampled_from([0.25, 1.0, 3.0]),
    tiles=st.sampled_from([(64, 64), (64, 32), (16, 8)]),
    p_dtype=st.sampled_from([None, "float16", "bfloat16"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_tile_loop_matches_direct_softmax(
    length_l, length_s, head_dim, is_causal, window, kv_frac, temperature, tiles, p_dtype, seed
):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((length_l, head_dim)).astype(np.float32)
    k = rng.standard_normal((length_s, head_dim)).astype(np.float32)
    v = rng.standard_normal((length_s, head_dim)).astype(np.float32)
    kv_len = length_s if kv_frac is None else min(length_s, int(kv_frac * length_s))
    left, right = _fold_window(length_l, length_s, is_causal, window)
    scale = 1.0 / np.sqrt(head_dim)
    bm, bn = tiles
    kw = dict(scale=scale, temperature=temperature, kv_len=kv_len, left=left, right=right)
    o, lse = emulate_kernel(q, k, v, bm=bm, bn=bn, p_dtype=p_dtype, **kw)
    o_ref, lse_ref, _ = direct_softmax_attention(q, k, v, **kw)

    assert not np.isnan(o).any() and not np.isnan(lse).any()
    empty = np.isneginf(lse_ref)
    np.testing.assert_array_equal(np.isneginf(lse), empty)
    assert (o[empty] == 0).all()
    np.testing.assert_allclose(lse[~empty], lse_ref[~empty], rtol=1e-5, atol=1e-5)
    if p_dtype is None:  # fp32 kernel: 1e-5 relative to the output's scale
        err = np.abs(o - o_ref).max(initial=0.0)
        assert err <= 1e-5 * max(1.0, np.abs(o_ref).max(initial=0.0))
    else:  # P rounded to 16 bits before P V, as the tensor-core kernel does
        np.testing.assert_allclose(o, o_ref, rtol=0, atol=2e-2)


def test_tile_loop_skips_masked_tiles_and_empty_rows():
    """Causal + window: the emulation visits only tiles on the band; padded rows are zeros."""
    rng = np.random.default_rng(7)
    length_l = length_s = 300
    q, k, v = (rng.standard_normal((300, 16)).astype(np.float32) for _ in range(3))
    left, right = _fold_window(length_l, length_s, True, (20, None))
    kw = dict(scale=0.25, temperature=1.0, kv_len=250, left=left, right=right)
    o, lse = emulate_kernel(q, k, v, bm=64, bn=64, **kw)
    o_ref, lse_ref, _ = direct_softmax_attention(q, k, v, **kw)
    assert np.isneginf(lse[271:]).all() and (o[271:] == 0).all()  # i - 20 > 249: no key left
    np.testing.assert_allclose(o, o_ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(lse[:271], lse_ref[:271], rtol=1e-5)


# ------------------------------------------------------------------------------------------
# The tensor-core kernel's fragment arithmetic, lane by lane
# ------------------------------------------------------------------------------------------


def ldmatrix_x4(smem, address, trans=False):
    """ldmatrix.sync.aligned.m8n8.x4[.trans].b16: lane 8 i + r gives the address (row, col) of
    row r of matrix i; lane t receives, per matrix, elements (t // 4, 2 (t % 4) + {0, 1}) of the
    matrix (of its transpose with .trans). Returns regs (32 lanes, 4, 2)."""
    regs = np.empty((32, 4, 2))
    for i in range(4):
        rows = []
        for r in range(8):
            row, col = address(8 * i + r)
            assert col % 8 == 0
            rows.append(smem[row, col : col + 8])
        mat = np.stack(rows)
        if trans:
            mat = mat.T
        for t in range(32):
            regs[t, i] = mat[t // 4, 2 * (t % 4) : 2 * (t % 4) + 2]
    return regs


def mma_m16n8k16(c, a, b0, b1):
    """mma.sync m16n8k16 row.col, fragments per the PTX ISA: lane t = 4 g + tg.
    c (32, 4) += A (16 x 16, from a (32, 4, 2)) @ B (16 x 8, from b0, b1 (32, 2))."""
    big_a, big_b, big_c = np.zeros((16, 16)), np.zeros((16, 8)), np.zeros((16, 8))
    for t in range(32):
        g, tg = divmod(t, 4)
        cols = slice(2 * tg, 2 * tg + 2)
        cols8 = slice(2 * tg + 8, 2 * tg + 10)
        big_a[g, cols], big_a[g + 8, cols] = a[t, 0], a[t, 1]
        big_a[g, cols8], big_a[g + 8, cols8] = a[t, 2], a[t, 3]
        big_b[cols, g], big_b[cols8, g] = b0[t], b1[t]
        big_c[g, cols], big_c[g + 8, cols] = c[t, 0:2], c[t, 2:4]
    big_c += big_a @ big_b
    out = np.empty_like(c)
    for t in range(32):
        g, tg = divmod(t, 4)
        out[t, 0:2], out[t, 2:4] = big_c[g, 2 * tg : 2 * tg + 2], big_c[g + 8, 2 * tg : 2 * tg + 2]
    return out


@pytest.mark.parametrize("head_dim", cb.HEAD_DIMS)
@pytest.mark.parametrize("warp", [0, 3])
def test_tensor_core_fragments_give_qk_and_pv(head_dim, warp):
    """Replays attnviz_flash_fwd (fp16/bf16) for one warp: the same ldmatrix addresses, mma
    calls and S -> P register re-packing as the .cu, on exact small integers."""
    rng = np.random.default_rng(head_dim + warp)
    block_m = block_n = 64
    qs = rng.integers(-3, 4, (block_m, head_dim)).astype(float)
    ks = rng.integers(-3, 4, (block_n, head_dim)).astype(float)
    vs = rng.integers(-3, 4, (block_n, head_dim)).astype(float)
    n_kq, n_s, n_kp, n_o = head_dim // 16, block_n // 8, block_n // 16, head_dim // 8

    qf = [
        ldmatrix_x4(qs, lambda ln, kk=kk: (warp * 16 + (ln & 15), kk * 16 + (ln >> 4) * 8))
        for kk in range(n_kq)
    ]
    sacc = [np.zeros((32, 4)) for _ in range(n_s)]
    for kk in range(n_kq):
        for np_ in range(n_s // 2):
            kf = ldmatrix_x4(
                ks,
                lambda ln, kk=kk, np_=np_: (
                    np_ * 16 + (ln & 7) + ((ln >> 4) << 3),
                    kk * 16 + ((ln >> 3) & 1) * 8,
                ),
            )
            sacc[2 * np_] = mma_m16n8k16(sacc[2 * np_], qf[kk], kf[:, 0], kf[:, 1])
            sacc[2 * np_ + 1] = mma_m16n8k16(sacc[2 * np_ + 1], qf[kk], kf[:, 2], kf[:, 3])

    def gather(frags, width):  # C fragments -> (16, width): row g (+8), cols n*8 + 2 tg (+1)
        full = np.empty((16, width))
        for n, frag in enumerate(frags):
            for t in range(32):
                g, tg = divmod(t, 4)
                full[g, n * 8 + 2 * tg : n * 8 + 2 * tg + 2] = frag[t, 0:2]
                full[g + 8, n * 8 + 2 * tg : n * 8 + 2 * tg + 2] = frag[t, 2:4]
        return full

    s = gather(sacc, block_n)
    np.testing.assert_array_equal(s, qs[warp * 16 : warp * 16 + 16] @ ks.T)

    # pf[n >> 1][(n & 1) * 2 + 0] = pack(c0, c1); pf[n >> 1][(n & 1) * 2 + 1] = pack(c2, c3)
    pf = [np.empty((32, 4, 2)) for _ in range(n_kp)]
    for n in range(n_s):
        pf[n >> 1][:, (n & 1) * 2 + 0] = sacc[n][:, 0:2]
        pf[n >> 1][:, (n & 1) * 2 + 1] = sacc[n][:, 2:4]
    oacc = [np.zeros((32, 4)) for _ in range(n_o)]
    for kk in range(n_kp):
        for dp in range(n_o // 2):
            vf = ldmatrix_x4(
                vs, lambda ln, kk=kk, dp=dp: (kk * 16 + (ln & 15), dp * 16 + (ln >> 4) * 8), True
            )
            oacc[2 * dp] = mma_m16n8k16(oacc[2 * dp], pf[kk], vf[:, 0], vf[:, 1])
            oacc[2 * dp + 1] = mma_m16n8k16(oacc[2 * dp + 1], pf[kk], vf[:, 2], vf[:, 3])
    np.testing.assert_array_equal(gather(oacc, head_dim), s @ vs)
