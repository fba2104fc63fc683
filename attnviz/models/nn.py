"""The few layers a transformer block needs besides attention, in float32 NumPy.

Each matches its PyTorch / transformers counterpart to float32 rounding: the exact (erf) GELU
of BERT, the tanh GELU of GPT-2 ("gelu_new"), SiLU, LayerNorm with a biased variance, and
Llama's RMSNorm. NumPy has no erf, so :func:`erf` is a rational approximation accurate to
6.5e-8 (4.5e-7 once evaluated in float32), far below the parity tests' 1e-5.

References
----------
- Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)", 2016.
- Ba et al., "Layer Normalization", 2016; Zhang & Sennrich, "Root Mean Square Layer
  Normalization", 2019.
- The erf coefficients are those of Eigen's / XLA's float32 ``erf`` (clamped to [-4, 4], where
  erf is ±1 in float32).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["ACTIVATIONS", "erf", "gelu", "gelu_tanh", "layer_norm", "linear", "rms_norm", "silu"]

_ERF_NUM = np.array(  # odd numerator, coefficients of x^1, x^3, ..., x^13
    [-1.60960333262415e-02, -2.95459980854025e-03, -7.34990630326855e-04, -5.69250639462346e-05,
     -2.10102402082508e-06, 2.77068142495902e-08, -2.72614225801306e-10],
    dtype=np.float32,
)  # fmt: skip
_ERF_DEN = np.array(  # even denominator, coefficients of x^0, x^2, ..., x^8
    [-1.42647390514189e-02, -7.37332916720468e-03, -1.68282697438203e-03, -2.13374055278905e-04,
     -1.45660718464996e-05],
    dtype=np.float32,
)  # fmt: skip


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, float32, max abs error 4.5e-7 against the exact value."""
    x = np.clip(x, -4.0, 4.0, dtype=np.float32)
    x2 = x * x
    num = np.full_like(x2, _ERF_NUM[-1])
    for c in _ERF_NUM[-2::-1]:  # Horner in x²
        num *= x2
        num += c
    num *= x
    den = np.full_like(x2, _ERF_DEN[-1])
    for c in _ERF_DEN[-2::-1]:
        den *= x2
        den += c
    num /= den
    return num


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x · Φ(x) = x/2 · (1 + erf(x/√2)) (BERT's "gelu")."""
    return x * (0.5 + 0.5 * erf(x * np.float32(1.0 / math.sqrt(2.0))))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GELU's tanh approximation (GPT-2's "gelu_new", torch's approximate="tanh")."""
    c = np.float32(math.sqrt(2.0 / math.pi))
    return 0.5 * x * (1.0 + np.tanh(c * (x + np.float32(0.044715) * (x * x * x))))


def silu(x: np.ndarray) -> np.ndarray:
    """x · sigmoid(x); sigmoid written with tanh, which never overflows."""
    return x * (0.5 + 0.5 * np.tanh(0.5 * x))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.float32(0.0))


def quick_gelu(x: np.ndarray) -> np.ndarray:
    """x · sigmoid(1.702 x)."""
    return x * (0.5 + 0.5 * np.tanh(np.float32(0.851) * x))


# transformers' ACT2FN names for the activations above.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "gelu": gelu,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": gelu_tanh,  # the same curve written differently; equal to float32 rounding
    "silu": silu,
    "swish": silu,
    "relu": relu,
    "quick_gelu": quick_gelu,
}


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """x (..., in) @ weight + bias, weight (in, out).

    torch's Linear stores (out, in): pass its ``.T``, a view. BLAS reads a transposed operand
    in place, so no weight is ever copied to transpose it.
    """
    y = x @ weight
    if bias is not None:
        y += bias
    return y


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """(x - mean) / sqrt(var + eps) · weight + bias over the last axis (biased variance)."""
    xc = x - x.mean(axis=-1, keepdims=True)
    var = np.mean(xc * xc, axis=-1, keepdims=True)
    xc *= 1.0 / np.sqrt(var + np.float32(eps))
    xc *= weight
    xc += bias
    return xc


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """x / sqrt(mean(x²) + eps) · weight over the last axis (Llama's RMSNorm)."""
    ms = np.mean(x * x, axis=-1, keepdims=True)
    y = x * (1.0 / np.sqrt(ms + np.float32(eps)))
    y *= weight
    return y
