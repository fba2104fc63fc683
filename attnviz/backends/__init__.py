"""Backend choice: NumPy on the CPU, or CuPy (with our CUDA flash kernel) on a GPU.

``select_backend`` decides once and remembers why; ``scaled_dot_product_attention`` is the public
entry point, which checks the call, runs it where it was asked to run, and falls back to NumPy,
keeping the reason, when the GPU fails mid-run.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from attnviz.backends import numpy_backend
from attnviz.backends.fallbacks import (
    Fallbacks,
    note_fallback,
    record_kernel_fallback,
    recording_fallbacks,
)
from attnviz.core._problem import Problem, prepare
from attnviz.core._xp import array_namespace
from attnviz.core.attention import METHODS, Method

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendChoice",
    "BackendUnavailable",
    "Fallbacks",
    "backend_status",
    "record_kernel_fallback",
    "recording_fallbacks",
    "scaled_dot_product_attention",
    "select_backend",
]

BackendName = Literal["numpy", "cupy", "auto"]
BACKENDS = ("numpy", "cupy", "auto")
ENV_VAR = "ATTNVIZ_BACKEND"


class BackendUnavailable(RuntimeError):
    """A backend was asked for by name and cannot run here; the message says why."""


@dataclass(frozen=True)
class BackendChoice:
    """Which backend computes, why, and (after a fall-back) what was tried first."""

    name: str
    reason: str
    fallback_from: str | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"

    @property
    def label(self) -> str:
        """A few words for a status bar ("NumPy (CPU)"); why, and any fall-back, belong in
        a tooltip (``str(choice)``)."""
        return {"numpy": "NumPy (CPU)", "cupy": "CuPy (GPU)"}.get(self.name, self.name)


_lock = threading.Lock()  # _last_fallback is written from the GUI's worker threads
_last_fallback: BackendChoice | None = None


def _probe_cupy() -> tuple[bool, str]:
    from attnviz.backends import cupy_backend

    return cupy_backend.probe()


def select_backend(requested: str | None = None) -> BackendChoice:
    """Decide which backend to use.

    ``requested`` is "numpy", "cupy", "auto" or None (None reads ``ATTNVIZ_BACKEND``, default
    "auto"). "auto" takes CuPy only when it imports and a GPU answers. Asking for "cupy" by
    argument where it cannot run raises :class:`BackendUnavailable`; asking through the
    environment falls back to NumPy and says why, so the app still starts.
    """
    from_env = requested is None
    name = (os.environ.get(ENV_VAR) or "auto") if from_env else requested
    name = name.strip().lower()
    if name not in BACKENDS:
        where = f"{ENV_VAR}={name!r}" if from_env else f"backend={name!r}"
        raise ValueError(f"{where} is not a backend; choose one of {BACKENDS}")
    if name == "numpy":
        how = f"{ENV_VAR}=numpy" if from_env else "asked for"
        return BackendChoice("numpy", f"{how}; {numpy_backend.describe()}")
    ok, why = _probe_cupy()
    if ok:
        return BackendChoice("cupy", why)
    if name == "cupy" and not from_env:
        raise BackendUnavailable(f"the CuPy backend cannot run here: {why}")
    label = f"{ENV_VAR}=cupy" if name == "cupy" else "auto"
    return BackendChoice("numpy", f"{label}: no usable GPU ({why})", fallback_from="cupy")


def backend_status() -> BackendChoice:
    """The last fall-back during a run if the GPU has not run since, else the current
    choice."""
    with _lock:
        if _last_fallback is not None:
            return _last_fallback
    return select_backend()


def _record_fallback(reason: str) -> None:
    global _last_fallback
    with _lock:
        _last_fallback = BackendChoice("numpy", reason, fallback_from="cupy")
    note_fallback(reason)


def _record_gpu_run() -> None:
    """The GPU computed again: an earlier fall-back no longer describes the backend."""
    global _last_fallback
    with _lock:
        _last_fallback = None


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    *,
    temperature: float = 1.0,
    window: tuple[int | None, int | None] | None = None,
    softcap: float | None = None,
    return_weights: bool = False,
    method: Method = "auto",
    backend: BackendName | None = None,
) -> Any:
    """Scaled dot-product attention with the semantics of torch's function of the same name.

    Parameters
    ----------
    query : array (..., Hq, L, E)
    key : array (..., Hkv, S, E)
    value : array (..., Hkv, S, Ev)
        NumPy or CuPy arrays; leading batch dimensions broadcast. 2-D inputs are one head.
    attn_mask : array, optional
        Broadcastable to (..., Hq, L, S). Bool: True where the pair takes part. Float: added to
        the scaled scores (-inf hides). Unlike torch it may be combined with ``is_causal``.
    is_causal : bool
        Key j visible to query i only when j <= i (top-left aligned, as torch).
    scale : float, optional
        Multiplies q·k; default 1/sqrt(E).
    enable_gqa : bool
        Share each of Hkv key/value heads among Hq/Hkv consecutive query heads.
    temperature : float, keyword-only
        Divides the scaled scores; must be > 0 (T -> 0 is the argmax, see ``hardmax``).
    window : (left, right), keyword-only
        Key j visible to query i when i - left <= j <= i + right; None on a side is unlimited.
    softcap : float, keyword-only
        Soft-cap the scaled logits: softcap · tanh(logits / softcap), before the mask and the
        temperature (Gemma 2's attention-logit soft-capping). None: no cap.
    return_weights : bool, keyword-only
        Also return the probabilities (..., Hq, L, S).
    method : {"auto", "standard", "flash"}, keyword-only
        The plain path or the tiled online-softmax path; both give the same numbers.
        "auto" tiles large problems unless weights are asked for.
    backend : {None, "numpy", "cupy", "auto"}, keyword-only
        None computes where the inputs live. "auto" takes the GPU when one answers.

    Returns
    -------
    output : array (..., Hq, L, Ev), of the inputs' dtype, on the inputs' device
    weights : array (..., Hq, L, S), only with ``return_weights=True``

    Rows with no visible key give zeros, never NaN.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    on_gpu_in = array_namespace(query, key, value, attn_mask).__name__ == "cupy"
    where_inputs_live = "cupy" if on_gpu_in else "numpy"
    use = where_inputs_live if backend is None else select_backend(backend).name
    if use == "numpy" and on_gpu_in:
        raise ValueError(
            "backend='numpy' was asked for CuPy arrays; move them to the host first "
            "(cupy.asnumpy) or leave backend=None"
        )
    # Checked once, where the inputs live: a mistake in the call raises the same message on
    # every backend, and anything a backend raises after this is the backend's failure.
    p = prepare(
        query, key, value, attn_mask, is_causal, scale, enable_gqa, temperature, window, softcap
    )
    if use == "numpy":
        out, w = numpy_backend.run(p, method, return_weights)
    else:
        out, w = _run_cupy(p, method, return_weights, on_gpu_in)
    return (out, w) if return_weights else out


class Backend(Protocol):
    """What a backend module provides: a name, one line about itself, and ``run`` on a problem
    checked by the core's ``prepare`` (numpy_backend, cupy_backend)."""

    NAME: str

    def describe(self) -> str: ...

    def run(self, p: Problem, method: Method, return_weights: bool) -> tuple[Any, Any | None]: ...


def _run_cupy(
    p: Problem, method: Method, return_weights: bool, on_gpu_in: bool
) -> tuple[Any, Any | None]:
    """Run on the GPU; on any GPU failure, recompute on NumPy and keep the reason."""
    from attnviz.backends import cupy_backend

    try:
        result = cupy_backend.run(p, method, return_weights, to_host=not on_gpu_in)
    except Exception as exc:
        if on_gpu_in:
            raise  # the caller's arrays live on the GPU: nothing to fall back to
        _record_fallback(f"GPU run failed, computed on NumPy instead: {type(exc).__name__}: {exc}")
        return numpy_backend.run(p, method, return_weights)
    _record_gpu_run()
    return result
