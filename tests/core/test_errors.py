"""Bad input: every refusal says what is wrong."""

import numpy as np
import pytest

import attnviz

x = np.ones((2, 4, 8), dtype=np.float32)


def sdpa(q=x, k=x, v=x, **kw):
    return attnviz.scaled_dot_product_attention(q, k, v, **kw)


@pytest.mark.parametrize(
    ("kw", "err", "match"),
    [
        (dict(q=np.ones(8)), ValueError, r"query must have shape \(\.\.\., length, features\)"),
        (dict(k=np.ones((2, 4, 7))), ValueError, "same feature size E; got 8 and 7"),
        (dict(v=np.ones((2, 5, 8))), ValueError, "same length S; got 4 and 5"),
        (dict(k=np.ones((4, 8))), ValueError, "same number of dimensions"),
        (dict(q=np.ones((6, 4, 8)), k=np.ones((4, 4, 8)), v=np.ones((4, 4, 8)), enable_gqa=True),
         ValueError, r"Hq=6.*Hkv=4"),
        (dict(q=np.ones((4, 4, 8)), k=np.ones((2, 4, 8)), v=np.ones((2, 4, 8))),
         ValueError, "pass enable_gqa=True"),
        (dict(scale=float("inf")), ValueError, "scale must be finite"),
        (dict(scale=float("nan")), ValueError, "scale must be finite"),
        (dict(temperature=0), ValueError, r"temperature must be > 0.*one-hot"),
        (dict(temperature=-2.0), ValueError, "temperature must be > 0"),
        (dict(window=(1,)), ValueError, r"window must be \(left, right\)"),
        (dict(window=(-1, 0)), ValueError, "non-negative integer or None"),
        (dict(attn_mask=np.ones((3, 3), bool)), ValueError, "does not broadcast to the scores"),
        (dict(attn_mask=np.ones((4, 4), np.int32)), TypeError, "must be bool"),
        (dict(q=x.astype(np.int32)), TypeError, "must be floating point"),
        (dict(method="fast"), ValueError, "method must be one of"),
        (dict(backend="tpu"), ValueError, "backend='tpu' is not a backend"),
    ],
)  # fmt: skip
def test_refusals(kw, err, match):
    with pytest.raises(err, match=match):
        sdpa(**kw)


def test_cupy_backend_without_gpu_names_the_reason():
    from attnviz.backends import BackendUnavailable, cupy_backend

    ok, _ = cupy_backend.probe()
    if ok:
        pytest.skip("a GPU is present here; the refusal is for machines without one")
    with pytest.raises(BackendUnavailable, match=r"the CuPy backend cannot run here: .+"):
        sdpa(backend="cupy")


def test_nan_propagates_like_torch():
    q = x.copy()
    q[0, 0, 0] = np.nan
    out = sdpa(q=q)
    assert np.isnan(out[0, 0]).all() and np.isfinite(out[1]).all()
