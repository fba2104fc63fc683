"""The layers beside attention against their definitions and torch's implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnviz.models import nn


def test_erf_against_math_erf():
    x = np.linspace(-6, 6, 200_001, dtype=np.float32)
    ref = np.array([math.erf(float(v)) for v in x])
    assert np.abs(nn.erf(x) - ref).max() < 5e-7
    assert nn.erf(x).dtype == np.float32


@pytest.mark.parametrize(
    ("name", "torch_fn"),
    [
        ("gelu", lambda t: torch.nn.functional.gelu(t)),
        ("gelu_new", lambda t: torch.nn.functional.gelu(t, approximate="tanh")),
        ("silu", torch.nn.functional.silu),
        ("relu", torch.relu),
        ("quick_gelu", lambda t: t * torch.sigmoid(1.702 * t)),
    ],
)
def test_activations_match_torch(name, torch_fn):
    x = np.linspace(-30, 30, 100_001, dtype=np.float32)
    ours = nn.ACTIVATIONS[name](x)
    ref = torch_fn(torch.from_numpy(x)).numpy()
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=2e-6, atol=2e-6)


def test_norms_match_torch():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(7, 33)) * 3 + 1).astype(np.float32)
    w, b = rng.normal(size=33).astype(np.float32), rng.normal(size=33).astype(np.float32)
    ref = torch.nn.functional.layer_norm(torch.from_numpy(x), (33,), torch.from_numpy(w),
                                         torch.from_numpy(b), eps=0.5)  # fmt: skip
    np.testing.assert_allclose(nn.layer_norm(x, w, b, 0.5), ref.numpy(), atol=2e-6)
    ref = torch.nn.functional.rms_norm(torch.from_numpy(x), (33,), torch.from_numpy(w), eps=0.5)
    np.testing.assert_allclose(nn.rms_norm(x, w, 0.5), ref.numpy(), atol=2e-6)


def test_bf16_widening_is_exact():
    from attnviz.models.weights import bf16_to_float32

    t = torch.randn(1000).to(torch.bfloat16)
    words = t.view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(bf16_to_float32(words), t.float().numpy())
