"""Backend choice, its reasons, and the fall-back when the GPU fails mid-run."""

import subprocess
import sys

import numpy as np
import pytest

import attnviz
from attnviz import backends


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(backends, "_probe_cupy", lambda: (False, "cudaErrorNoDevice"))
    monkeypatch.setattr(backends, "_last_fallback", None)


@pytest.fixture
def fake_gpu(monkeypatch):
    from attnviz.state import stages

    monkeypatch.setattr(backends, "_probe_cupy", lambda: (True, "CuPy 14, NVIDIA H200 (sm_90)"))
    monkeypatch.setattr(backends, "_last_fallback", None)
    stages.clear()  # numbers cached by an earlier test would not be computed on this "GPU"
    yield
    stages.clear()


def test_auto_without_gpu_falls_back_with_reason(no_gpu, monkeypatch):
    monkeypatch.delenv("ATTNVIZ_BACKEND", raising=False)
    c = backends.select_backend()
    assert c.name == "numpy" and c.fallback_from == "cupy"
    assert "no usable GPU (cudaErrorNoDevice)" in c.reason


def test_env_var_asks_for_cupy_but_app_still_starts(no_gpu, monkeypatch):
    monkeypatch.setenv("ATTNVIZ_BACKEND", "cupy")
    c = backends.select_backend()
    assert c.name == "numpy" and "ATTNVIZ_BACKEND=cupy" in c.reason


def test_explicit_cupy_without_gpu_raises(no_gpu):
    with pytest.raises(backends.BackendUnavailable, match="cudaErrorNoDevice"):
        backends.select_backend("cupy")


def test_env_var_numpy_and_typos(no_gpu, monkeypatch):
    monkeypatch.setenv("ATTNVIZ_BACKEND", "NumPy")
    assert backends.select_backend().name == "numpy"
    monkeypatch.setenv("ATTNVIZ_BACKEND", "gpu")
    with pytest.raises(ValueError, match="ATTNVIZ_BACKEND='gpu' is not a backend"):
        backends.select_backend()


def test_auto_takes_the_gpu_when_it_answers(fake_gpu):
    c = backends.select_backend("auto")
    assert c.name == "cupy" and "H200" in c.reason


def test_gpu_failure_mid_run_falls_back_and_keeps_the_reason(fake_gpu, monkeypatch):
    from attnviz.backends import cupy_backend

    def broken(*args, **kwargs):
        raise RuntimeError("cudaErrorIllegalAddress: an illegal memory access was encountered")

    monkeypatch.setattr(cupy_backend, "run", broken)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 5, 8)).astype(np.float32)
    out = attnviz.scaled_dot_product_attention(q, q, q, backend="auto")
    expect = attnviz.scaled_dot_product_attention(q, q, q, backend="numpy")
    np.testing.assert_array_equal(out, expect)
    status = backends.backend_status()
    assert status.name == "numpy" and "cudaErrorIllegalAddress" in status.reason


def test_user_errors_are_not_mistaken_for_gpu_failures(fake_gpu, monkeypatch):
    from attnviz.backends import cupy_backend

    def refuse(*args, **kwargs):
        raise ValueError("scale must be finite, got inf")

    monkeypatch.setattr(cupy_backend, "run", refuse)
    x = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="scale must be finite"):
        attnviz.scaled_dot_product_attention(x, x, x, backend="auto", scale=float("inf"))
    assert backends._last_fallback is None


def test_importing_attnviz_loads_neither_qt_nor_cupy():
    code = (
        "import sys, attnviz, attnviz.core, attnviz.backends, attnviz.cli;"
        "bad = [m for m in ('cupy', 'PySide6', 'pyqtgraph', 'superqt') if m in sys.modules];"
        "print(bad); sys.exit(bool(bad))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_gpu_value_error_at_run_time_falls_back_and_the_gpu_recovers(fake_gpu, monkeypatch):
    """Issue 14: a CuPy ValueError/TypeError after the call was checked is the GPU's failure
    (it was re-raised as the caller's mistake); after the GPU runs again, the status says so."""
    from attnviz.backends import cupy_backend

    def broken(*args, **kwargs):
        raise ValueError("cudaErrorInvalidValue: invalid argument")

    rng = np.random.default_rng(1)
    q = rng.standard_normal((2, 5, 8)).astype(np.float32)
    expect = attnviz.scaled_dot_product_attention(q, q, q, backend="numpy")
    monkeypatch.setattr(cupy_backend, "run", broken)
    with backends.recording_fallbacks() as fallbacks:
        out = attnviz.scaled_dot_product_attention(q, q, q, backend="auto")
    np.testing.assert_array_equal(out, expect)
    assert len(fallbacks) == 1 and "cudaErrorInvalidValue" in fallbacks[0]
    assert backends.backend_status().name == "numpy"

    def works(*args, return_weights=False, **kwargs):  # a GPU that answers again
        return expect, None

    monkeypatch.setattr(cupy_backend, "run", lambda *a, **k: works(*a, **k))
    with backends.recording_fallbacks() as fallbacks:
        attnviz.scaled_dot_product_attention(q, q, q, backend="auto")
    assert fallbacks == []
    assert backends.backend_status().name == "cupy"


def test_the_result_names_the_backend_that_computed_after_a_fall_back(fake_gpu, monkeypatch):
    """Issue 14: the status bar said "cupy" for numbers NumPy computed after a GPU failure."""
    from attnviz.backends import cupy_backend
    from attnviz.state.pipeline import resolve, run
    from attnviz.state.session import Session

    def broken(*args, **kwargs):
        raise RuntimeError("cudaErrorLaunchFailure: unspecified launch failure")

    monkeypatch.setattr(cupy_backend, "run", broken)
    s = Session()
    s.backend = "auto"
    result = run(resolve(s))
    assert result.backend_label == "NumPy (CPU)"
    assert "GPU run failed" in result.backend and "cudaErrorLaunchFailure" in result.backend
    reference = run(resolve(Session()))  # NumPy from the start: the same numbers
    np.testing.assert_array_equal(result.weights, reference.weights)


def test_a_kernel_fall_back_is_said_and_the_gpu_keeps_the_label(fake_gpu, monkeypatch):
    """Issue 14: when the GPU ran its standard path instead of our flash kernel, nobody was
    told. The result now says why, and still names the GPU that computed."""
    from attnviz.backends import cupy_backend, numpy_backend
    from attnviz.backends.fallbacks import record_kernel_fallback
    from attnviz.state.pipeline import resolve, run
    from attnviz.state.session import Session

    def standard_path(p, method, return_weights, **kwargs):  # a GPU without our kernel
        record_kernel_fallback("head dim 8 is not one the kernel was built for")
        return numpy_backend.run(p, method, return_weights)

    monkeypatch.setattr(cupy_backend, "run", standard_path)
    s = Session()
    s.backend = "auto"
    result = run(resolve(s))
    assert result.backend_label == "CuPy (GPU)"
    assert "standard path, not the flash kernel: head dim 8" in result.backend


def test_numbers_computed_after_a_gpu_failure_are_not_kept_as_the_gpus(fake_gpu, monkeypatch):
    """After a fall-back, the same settings asked again (the GPU answering now) are computed
    again on the GPU and labelled so, not taken from a cache filled by NumPy under the GPU's
    name."""
    from attnviz.backends import cupy_backend, numpy_backend
    from attnviz.state.pipeline import resolve, run
    from attnviz.state.session import Session

    def broken(*args, **kwargs):
        raise RuntimeError("cudaErrorLaunchFailure: unspecified launch failure")

    monkeypatch.setattr(cupy_backend, "run", broken)
    s = Session()
    s.backend = "auto"
    assert run(resolve(s), ("head_weights",)).backend_label == "NumPy (CPU)"
    gpu_runs = []

    def works(p, method, return_weights, **kwargs):
        gpu_runs.append(method)
        return numpy_backend.run(p, method, return_weights)

    monkeypatch.setattr(cupy_backend, "run", works)
    assert run(resolve(s), ("head_weights",)).backend_label == "CuPy (GPU)"
    assert gpu_runs  # computed on the GPU, not taken from what NumPy filled in
