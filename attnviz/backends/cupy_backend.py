"""CuPy backend: our tiled FlashAttention kernels (``kernels/flash_attention.cu``) run through
``cupy.RawModule``, beside a plain CuPy matmul + softmax twin for what the kernels do not cover.

CuPy is imported only inside functions, never at module load (an import-linter contract checks
this): importing this module costs nothing on a machine without a GPU, and :func:`probe` says
why the accelerator is unusable instead of raising.

Shapes follow torch's ``scaled_dot_product_attention``: ``q`` (B, Hq, L, E), ``k`` (B, Hkv, S, E),
``v`` (B, Hkv, S, Ev); query head ``h`` reads key/value head ``h // (Hq // Hkv)`` (GQA / MQA).
A key ``j`` is visible to query ``i`` when ``j < kv_lengths[b]``, ``j <= i`` if causal (top-left
aligned, as torch) and ``i - left <= j <= i + right`` for ``window=(left, right)`` (``None`` =
unlimited). ``logit = q . k * scale / temperature``. Rows that see no key give zeros, never NaN.

References: Dao et al., "FlashAttention" (2022), "FlashAttention-2" (2023).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import math
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from attnviz.core.masks import effective_window

if TYPE_CHECKING:
    from attnviz.core._problem import Problem

__all__ = [
    "DTYPES",
    "HEAD_DIMS",
    "VARIANTS",
    "KernelUnsupported",
    "compile_options",
    "compile_times",
    "flash_attention",
    "kernel_source",
    "last_kernel_fallback",
    "on_device",
    "probe",
    "run",
    "shared_memory_bytes",
]

HEAD_DIMS: tuple[int, ...] = (32, 64, 128)
DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16")
VARIANTS: tuple[str, ...] = ("forward", "weights")

_DTYPE_CODE = {"float32": 0, "float16": 1, "bfloat16": 2}
_VARIANT_CODE = {"forward": 0, "weights": 1}
_KERNEL_NAME = {"forward": "attnviz_flash_fwd", "weights": "attnviz_attn_weights"}
_MIN_COMPUTE_CAPABILITY = 80  # cp.async, ldmatrix and bf16 mma.sync
_PORTABLE_SHARED_BYTES = 48 * 1024  # above this a kernel needs the opt-in attribute
_Q_TILE = 64  # query rows per block, every kernel
_KEY_TILE_WEIGHTS = 64  # keys per block of the weights kernel
_MAX_LEN = 1 << 29  # keeps i +- (L + S) inside a 32-bit int in the kernel

#: Synchronise the stream after every launch so that a kernel fault is raised here, at the call
#: that caused it. The benchmark turns this off to time back-to-back launches.
CHECK_LAUNCHES = True

_compile_lock = threading.Lock()
_kernels: dict[tuple[str, int, str], tuple[Any, Any]] = {}  # key -> (RawModule, RawKernel)
_compile_seconds: dict[tuple[str, int, str], float] = {}
_last_kernel_fallback: str | None = None


class KernelUnsupported(RuntimeError):
    """The flash kernel cannot run this case; the caller should use the core's standard path
    (or NumPy). The message says why, for the status bar."""


# ------------------------------------------------------------------------------------------
# Probe
# ------------------------------------------------------------------------------------------


@functools.cache
def probe() -> tuple[bool, str]:
    """Whether CuPy can run on a CUDA device here, and a one-line description or reason.

    Imports CuPy, checks ``cupy.cuda.is_available()`` and that a tiny allocation and copy work.
    Never raises; the answer is cached (``probe.cache_clear()`` forgets it).

    Returns
    -------
    ok : bool
    text : str
        ``"CuPy 14.2.0, NVIDIA H200 (sm_90), driver 13.0"`` when ``ok``, else the reason.
    """
    try:
        # CuPy may warn at import (e.g. no CUDA path found); that is diagnosis, not an error.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import cupy
    except ImportError as exc:
        return False, f"CuPy is not installed (pip install 'attnviz[gpu]'): {exc}"
    except Exception as exc:  # a broken CUDA install can fail at import in many ways
        return False, f"CuPy failed to import: {type(exc).__name__}: {exc}"
    notes = "; ".join(str(w.message) for w in caught)
    version = f"CuPy {cupy.__version__}"
    try:
        if not cupy.cuda.is_available():
            reason = f"{version} sees no usable CUDA device (no GPU or driver too old)"
            return False, f"{reason}; {notes}" if notes else reason
        device = cupy.cuda.Device()
        tiny = cupy.zeros(8, dtype=cupy.float32)
        tiny.get()  # allocation + device-to-host copy
        props = cupy.cuda.runtime.getDeviceProperties(device.id)
        name = props["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        driver = cupy.cuda.runtime.driverGetVersion()
    except Exception as exc:  # CUDARuntimeError and friends: report, never raise
        return False, f"{version}: the CUDA device is not usable ({type(exc).__name__}: {exc})"
    driver_text = f"{driver // 1000}.{driver % 1000 // 10}"
    return True, f"{version}, {name} (sm_{device.compute_capability}), driver {driver_text}"


# ------------------------------------------------------------------------------------------
# Kernel source and compilation
# ------------------------------------------------------------------------------------------


def kernel_source() -> str:
    """The CUDA C source of the kernels (read with ``importlib.resources``)."""
    files = importlib.resources.files("attnviz.backends.kernels")
    return files.joinpath("flash_attention.cu").read_text(encoding="utf-8")


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, str):
        return dtype
    name = getattr(dtype, "name", None)  # numpy / cupy dtype objects, ml_dtypes' bfloat16
    if isinstance(name, str):
        return name
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype)


def _check_config(dtype: Any, head_dim: int, variant: str) -> str:
    name = _dtype_name(dtype)
    if name not in _DTYPE_CODE:
        raise ValueError(f"kernel dtype must be one of {DTYPES}, got {name!r}")
    if head_dim not in HEAD_DIMS:
        raise ValueError(f"kernel head dim must be one of {HEAD_DIMS}, got {head_dim!r}")
    if variant not in _VARIANT_CODE:
        raise ValueError(f"kernel variant must be one of {VARIANTS}, got {variant!r}")
    return name


def compile_options(dtype: Any, head_dim: int, variant: str) -> tuple[str, ...]:
    """NVRTC / nvcc options that select one kernel configuration from :func:`kernel_source`.

    CuPy adds ``-arch=sm_XX``, ``--std=c++17`` and ``-ftz=true`` itself; a test compiling the
    source without a GPU adds them by hand.

    Parameters
    ----------
    dtype : "float32", "float16", "bfloat16" or a dtype with one of those names
    head_dim : 32, 64 or 128
    variant : "forward" (O and log-sum-exp) or "weights" (P from the log-sum-exp)
    """
    name = _check_config(dtype, head_dim, variant)
    return (
        f"-DATTNVIZ_DTYPE={_DTYPE_CODE[name]}",
        f"-DATTNVIZ_HEAD_DIM={head_dim}",
        f"-DATTNVIZ_VARIANT={_VARIANT_CODE[variant]}",
    )


def shared_memory_bytes(dtype: Any, head_dim: int, variant: str) -> int:
    """Dynamic shared memory per block; must match the layouts in the .cu header comment."""
    name = _check_config(dtype, head_dim, variant)
    if variant == "weights":  # Q[64][d+4] and K[64][d+4] as float
        return 4 * (_Q_TILE + _KEY_TILE_WEIGHTS) * (head_dim + 4)
    if name == "float32":  # Q[64][d+4], K, V [BN][d+4], P[64][BN+4], floats
        bn = 32 if head_dim == 128 else 64
        return 4 * (_Q_TILE * (head_dim + 4) + 2 * bn * (head_dim + 4) + _Q_TILE * (bn + 4))
    return 2 * (head_dim + 8) * (_Q_TILE + 2 * 64)  # Q[64][d+8], K[64][d+8], V[64][d+8], 16-bit


def _threads(name: str, variant: str) -> int:
    return 128 if variant == "forward" and name != "float32" else 256


def _kernel(name: str, head_dim: int, variant: str) -> Any:
    """The compiled kernel for one configuration, compiled once per process."""
    key = (name, head_dim, variant)
    hit = _kernels.get(key)
    if hit is not None:
        return hit[1]
    import cupy

    with _compile_lock:
        hit = _kernels.get(key)
        if hit is not None:
            return hit[1]
        start = time.perf_counter()
        try:
            module = cupy.RawModule(
                code=kernel_source(), options=compile_options(name, head_dim, variant)
            )
            function = module.get_function(_KERNEL_NAME[variant])  # compiles and loads
        except cupy.cuda.compiler.CompileException as exc:
            raise KernelUnsupported(f"the flash kernel did not compile: {exc}") from exc
        smem = shared_memory_bytes(name, head_dim, variant)
        if smem > _PORTABLE_SHARED_BYTES:
            function.max_dynamic_shared_size_bytes = smem
        _compile_seconds[key] = time.perf_counter() - start
        _kernels[key] = (module, function)
        return function


def compile_times() -> dict[tuple[str, int, str], float]:
    """Seconds each kernel configuration took to compile and load, first use in this process.

    Keys are ``(dtype name, head dim, variant)``. CuPy's on-disk kernel cache can make a
    "cold" compile fast after the first run on a machine.
    """
    return dict(_compile_seconds)


def _launch(function: Any, grid: tuple[int, int, int], block: int, args: tuple, smem: int) -> None:
    import cupy

    function(grid, (block, 1, 1), args, shared_mem=smem)  # CuPy raises on a launch error
    if CHECK_LAUNCHES:
        # Faults inside the kernel (illegal address, ...) surface at the next sync: make that here.
        cupy.cuda.get_current_stream().synchronize()


def _empty_output(shape: tuple[int, ...], dtype: Any) -> Any:
    """Output allocation; the tests replace it with a NaN-filled one to catch unwritten elements."""
    import cupy

    return cupy.empty(shape, dtype=dtype)


# ------------------------------------------------------------------------------------------
# Flash attention through our kernels
# ------------------------------------------------------------------------------------------


def _check_shapes(q: Any, k: Any, v: Any) -> None:
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"q, k, v must be 4-D (B, H, N, E), got {q.shape}, {k.shape}, {v.shape}")
    (b, hq, _, e), (bk, hkv, s, ek), (bv, hv, sv, _) = q.shape, k.shape, v.shape
    if not b == bk == bv:
        raise ValueError(f"batch sizes differ: q {b}, k {bk}, v {bv}")
    if hkv != hv or s != sv:
        raise ValueError(f"k {k.shape} and v {v.shape} must agree on heads and length")
    if e != ek:
        raise ValueError(f"q and k head dims differ: {e} != {ek}")
    if hkv == 0 or hq % hkv:
        raise ValueError(f"query heads ({hq}) must be a multiple of key/value heads ({hkv})")


def _window_bounds(
    window: tuple[int | None, int | None] | None, is_causal: bool, length_l: int, length_s: int
) -> tuple[int, int]:
    """(left, right) as kernel ints: None -> L + S (unlimited), causal folded into right <= 0."""
    unlimited = length_l + length_s
    left, right = effective_window(window, is_causal)

    def clamp(x: int | None) -> int:
        if x is None:
            return unlimited
        if isinstance(x, bool) or not isinstance(x, int | np.integer):
            raise TypeError(f"window sides must be int or None, got {x!r}")
        return max(-unlimited, min(unlimited, int(x)))

    return clamp(left), clamp(right)


def _kv_lengths_array(kv_lengths: Any, batch: int, length_s: int) -> Any:
    import cupy

    if kv_lengths is None:
        return cupy.full((batch,), length_s, dtype=cupy.int32)
    lengths = cupy.asarray(kv_lengths)
    if lengths.shape != (batch,):
        raise ValueError(f"kv_lengths must have shape ({batch},), got {lengths.shape}")
    if lengths.dtype.kind not in "iu":
        raise TypeError(f"kv_lengths must be integers, got {lengths.dtype}")
    # A length beyond S means "all keys"; below 0 means "none".
    return cupy.ascontiguousarray(cupy.clip(lengths, 0, length_s).astype(cupy.int32))


def _aligned_contiguous(x: Any) -> Any:
    import cupy

    x = cupy.ascontiguousarray(x)
    if x.data.ptr % 16:  # cp.async and vector loads move 16-byte chunks
        x = x.copy()
    return x


def flash_attention(
    q: Any,
    k: Any,
    v: Any,
    *,
    scale: float,
    temperature: float = 1.0,
    is_causal: bool = False,
    window: tuple[int | None, int | None] | None = None,
    kv_lengths: Any = None,
    return_weights: bool = False,
) -> tuple[Any, ...]:
    """Attention forward through the tiled flash kernel; the L x S matrix is never stored.

    Parameters
    ----------
    q, k, v : cupy.ndarray
        (B, Hq, L, E), (B, Hkv, S, E), (B, Hkv, S, E); float32, float16 or bfloat16, all alike.
        Made contiguous (copied) when they are not.
    scale : float
        Multiplies q . k (usually 1 / sqrt(E)).
    temperature : float
        Divides the scaled logits; must be > 0 (the T -> 0 limit is the core's).
    is_causal : bool
        Key j visible to query i only if j <= i (top-left aligned).
    window : (left, right) or None
        Key j visible only if i - left <= j <= i + right; None on a side = unlimited.
    kv_lengths : int array (B,) or None
        Keys j >= kv_lengths[b] are padding.
    return_weights : bool
        Also return P (B, Hq, L, S) float32 from a second kernel.

    Returns
    -------
    (O, lse) or (O, lse, P)
        O (B, Hq, L, E) in q's dtype; lse (B, Hq, L) float32, natural log of the softmax
        denominator of the scaled, tempered logits, -inf (and O = 0) where no key is visible.

    Raises
    ------
    KernelUnsupported
        No usable GPU, compute capability below 8.0, dtype, head dim, Ev != E, temperature
        <= 0 or sizes the kernel does not handle: use the core's standard path.
    ValueError
        Inconsistent shapes.
    """
    ok, reason = probe()
    if not ok:
        raise KernelUnsupported(reason)
    import cupy

    cc = int(cupy.cuda.Device().compute_capability)
    if cc < _MIN_COMPUTE_CAPABILITY:
        raise KernelUnsupported(f"the flash kernel needs sm_80 or newer, this GPU is sm_{cc}")
    _check_shapes(q, k, v)
    names = {_dtype_name(x.dtype) for x in (q, k, v)}
    if len(names) != 1:
        raise KernelUnsupported(f"q, k, v dtypes differ ({sorted(names)})")
    (name,) = names
    if name not in _DTYPE_CODE:
        raise KernelUnsupported(f"the flash kernel handles {DTYPES}, not {name}")
    batch, heads_q, length_l, head_dim = q.shape
    _, heads_kv, length_s, head_dim_v = v.shape
    if head_dim not in HEAD_DIMS:
        raise KernelUnsupported(f"the flash kernel handles head dims {HEAD_DIMS}, not {head_dim}")
    if head_dim_v != head_dim:
        raise KernelUnsupported(f"the flash kernel needs Ev == E, got {head_dim_v} != {head_dim}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise KernelUnsupported(f"the flash kernel needs a temperature > 0, got {temperature}")
    if not math.isfinite(scale):
        raise ValueError(f"scale must be finite, got {scale}")
    if length_l >= _MAX_LEN or length_s >= _MAX_LEN or heads_q > 65535 or batch > 65535:
        raise KernelUnsupported(f"sizes beyond the kernel's grid: {q.shape}, {k.shape}")

    q, k, v = (_aligned_contiguous(x) for x in (q, k, v))
    lengths = _kv_lengths_array(kv_lengths, batch, length_s)
    win_left, win_right = _window_bounds(window, is_causal, length_l, length_s)
    scale_log2 = np.float32(scale / temperature * math.log2(math.e))  # kernel works in base 2

    out = _empty_output(q.shape, q.dtype)
    lse = _empty_output((batch, heads_q, length_l), cupy.float32)
    common = (np.int32(heads_q), np.int32(heads_kv), np.int32(length_l), np.int32(length_s))
    common += (scale_log2, np.int32(win_left), np.int32(win_right))
    if length_l and batch and heads_q:
        function = _kernel(name, head_dim, "forward")
        grid = ((length_l + _Q_TILE - 1) // _Q_TILE, heads_q, batch)
        _launch(
            function,
            grid,
            _threads(name, "forward"),
            (q, k, v, out, lse, lengths, *common),
            shared_memory_bytes(name, head_dim, "forward"),
        )
    if not return_weights:
        return out, lse

    weights = _empty_output((batch, heads_q, length_l, length_s), cupy.float32)
    if length_l and length_s and batch and heads_q:
        function = _kernel(name, head_dim, "weights")
        key_tiles = (length_s + _KEY_TILE_WEIGHTS - 1) // _KEY_TILE_WEIGHTS
        query_tiles = (length_l + _Q_TILE - 1) // _Q_TILE
        _launch(
            function,
            (key_tiles * query_tiles, heads_q, batch),
            _threads(name, "weights"),
            (q, k, lse, lengths, weights, *common, np.int32(key_tiles)),
            shared_memory_bytes(name, head_dim, "weights"),
        )
    return out, lse, weights


# ------------------------------------------------------------------------------------------
# The plain twin: matmul + softmax in CuPy
# ------------------------------------------------------------------------------------------


def _to_compute(x: Any) -> Any:
    """float64 stays float64, everything else becomes float32 (bfloat16 by its bit pattern, so
    no CuPy bfloat16 arithmetic is needed)."""
    import cupy

    if _dtype_name(x.dtype) == "bfloat16":
        bits = x.view(cupy.uint16).astype(cupy.uint32) << 16
        return bits.view(cupy.float32)
    if x.dtype == cupy.float64:
        return x
    return x.astype(cupy.float32)


def _from_float32(x: Any, dtype: Any) -> Any:
    """Round to ``dtype``; bfloat16 by round-to-nearest-even on the bit pattern."""
    import cupy

    if _dtype_name(dtype) != "bfloat16":
        return x.astype(dtype)
    bits = cupy.ascontiguousarray(x, dtype=cupy.float32).view(cupy.uint32)
    rounded = (bits + cupy.uint32(0x7FFF) + ((bits >> 16) & cupy.uint32(1))) >> 16
    rounded = cupy.where(cupy.isnan(x), cupy.uint32(0x7FC0), rounded)  # NaN must stay NaN
    return rounded.astype(cupy.uint16).view(dtype)


# ------------------------------------------------------------------------------------------
# The backend entry point used by attnviz.backends
# ------------------------------------------------------------------------------------------


def last_kernel_fallback() -> str | None:
    """Why the last :func:`run` that wanted the flash kernel used the standard path, or None."""
    return _last_kernel_fallback


def on_device(p: Problem) -> Problem:
    """The same checked problem with its arrays on the GPU (no copy for device arrays)."""
    import cupy

    moved = {f: None if getattr(p, f) is None else cupy.asarray(getattr(p, f))
             for f in ("q", "k", "v", "visible", "bias")}  # fmt: skip
    return dataclasses.replace(p, xp=cupy, **moved)


def run(
    p: Problem, method: str = "auto", return_weights: bool = False, *, to_host: bool = False
) -> tuple[Any, Any | None]:
    """Attention on the GPU for a problem checked by the core's ``prepare``; returns (output,
    weights or None).

    "flash" and "auto" run our kernel when it covers the case (no ``attn_mask``; a dtype and
    head dim it supports, Ev == E); otherwise, or for "standard", the core's own standard path
    runs on the CuPy arrays (the same code as on the CPU), and the reason the kernel did not
    run is recorded (``attnviz.backends.recording_fallbacks().kernel``). Host problems are
    copied to the device; ``to_host=True`` copies the results back.
    """
    global _last_kernel_fallback
    import cupy

    from attnviz.backends.fallbacks import record_kernel_fallback
    from attnviz.core.attention import run_problem

    d = on_device(p)
    out = weights = None
    if method != "standard":
        try:
            if d.visible is not None or d.bias is not None:
                raise KernelUnsupported("the flash kernel takes no attn_mask")
            if d.softcap is not None:
                raise KernelUnsupported("the flash kernel has no logit soft-capping")
            # Flatten the (broadcast) batch dimensions: (*batch, H, N, E) -> (B, H, N, E)
            q = d.q.reshape(-1, d.hq, d.length_q, d.e)
            k = d.k.reshape(-1, d.hkv, d.length_k, d.e)
            v = d.v.reshape(-1, d.hkv, d.length_k, d.ev)
            if _dtype_name(d.out_dtype) in ("float16", "bfloat16"):
                # exact: the values came from that dtype
                q, k, v = (_from_float32(x, d.out_dtype) for x in (q, k, v))
            result = flash_attention(
                q, k, v, scale=d.scale, temperature=d.temperature, is_causal=d.causal,
                window=d.window, return_weights=return_weights,
            )  # fmt: skip
            out = d.finish(result[0].reshape(d.out_shape))
            if return_weights:
                weights = d.finish(result[2].reshape(d.scores_shape))
            _last_kernel_fallback = None
        except KernelUnsupported as exc:
            _last_kernel_fallback = str(exc)
            record_kernel_fallback(str(exc))
    if out is None:
        out, weights = run_problem(d, "standard", return_weights)
    if to_host:
        out = cupy.asnumpy(out)
        weights = None if weights is None else cupy.asnumpy(weights)
    return out, weights
