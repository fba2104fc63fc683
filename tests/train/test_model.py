"""The tiny transformer's forward, hand-written backward and AdamW against independent
references: central finite differences in float64, torch autograd and torch's AdamW (test-only).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz.train.model import AdamW, TinyConfig, TinyTransformer
from attnviz.train.tasks import get_task

VARIANTS = [(pos, mlp) for pos in ("learned", "rope") for mlp in (False, True)]


def model_and_batch(positions: str, mlp: bool, dtype=np.float64, seed: int = 3):
    cfg = TinyConfig(vocab=18, layers=2, heads=2, d_model=8, mlp=mlp, positions=positions,
                     max_len=20, seed=seed, init_std=0.5)  # fmt: skip
    model = TinyTransformer(cfg, dtype=dtype)
    rng = np.random.default_rng(seed)
    for name, v in model.params.items():  # norms away from 1 and 0: their gradients matter
        if name.endswith((".g", ".b")):
            v += rng.normal(0, 0.3, v.shape).astype(dtype)
    b = get_task("induction").batch(rng, 3)
    return model, b.ids[:, :10], b.targets[:, :10], b.weights[:, :10]


def grads(model, ids, targets, weights):
    fwd = model.forward(ids)
    loss, dlogits = model.loss(fwd.logits, targets, weights)
    return loss, model.backward(fwd, dlogits)


@pytest.mark.parametrize("positions, mlp", VARIANTS)
def test_backward_equals_finite_differences_for_every_parameter_kind(positions, mlp):
    model, ids, t, w = model_and_batch(positions, mlp)
    _, g = grads(model, ids, t, w)
    rng = np.random.default_rng(0)
    h = 1e-6
    for name, v in model.params.items():
        for _ in range(5):
            ix = tuple(int(rng.integers(0, s)) for s in v.shape)
            old = v[ix]
            v[ix] = old + h
            up = model.loss(model.forward(ids).logits, t, w)[0]
            v[ix] = old - h
            down = model.loss(model.forward(ids).logits, t, w)[0]
            v[ix] = old
            numeric = (up - down) / (2 * h)
            assert g[name][ix] == pytest.approx(numeric, rel=1e-4, abs=1e-8), (name, ix)


@pytest.mark.parametrize("positions, mlp", VARIANTS)
def test_loss_and_gradients_equal_torch_autograd(positions, mlp):
    pytest.importorskip("torch")
    from tests.train import torch_twin

    model, ids, t, w = model_and_batch(positions, mlp)
    loss, g = grads(model, ids, t, w)
    p = torch_twin.params_of(model)
    ref = torch_twin.loss(torch_twin.forward(model, p, ids), t, w)
    ref.backward()
    assert loss == pytest.approx(ref.item(), abs=1e-10)
    for name, tensor in p.items():
        np.testing.assert_allclose(g[name], tensor.grad.numpy(), rtol=0, atol=1e-5, err_msg=name)


def test_adamw_equals_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    params = {"w": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    ours = AdamW(params, lr=0.01, betas=(0.9, 0.98), weight_decay=0.1)
    tw = torch.tensor(params["w"].copy(), requires_grad=True)
    tb = torch.tensor(params["b"].copy(), requires_grad=True)
    # decay on matrices only, as ours
    opt = torch.optim.AdamW([{"params": [tw], "weight_decay": 0.1},
                             {"params": [tb], "weight_decay": 0.0}],
                            lr=0.01, betas=(0.9, 0.98), eps=1e-8)  # fmt: skip
    for _ in range(5):
        gw, gb = rng.normal(size=(4, 3)), rng.normal(size=3)
        ours.step(params, {"w": gw, "b": gb})
        tw.grad, tb.grad = torch.tensor(gw), torch.tensor(gb)
        opt.step()
    np.testing.assert_allclose(params["w"], tw.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(params["b"], tb.detach().numpy(), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(layers=st.integers(1, 2), heads=st.sampled_from([1, 2, 4]), mult=st.integers(1, 4),
       mlp=st.booleans(), positions=st.sampled_from(["learned", "rope"]),
       b=st.integers(1, 3), n=st.integers(1, 12))  # fmt: skip
def test_shapes_and_causal_rows(layers, heads, mult, mlp, positions, b, n):
    cfg = TinyConfig(vocab=7, layers=layers, heads=heads, d_model=4 * heads * mult, mlp=mlp,
                     positions=positions, max_len=12)  # fmt: skip
    model = TinyTransformer(cfg)
    ids = np.random.default_rng(n).integers(0, 7, size=(b, n))
    fwd = model.forward(ids)
    assert fwd.logits.shape == (b, n, 7) and fwd.logits.dtype == np.float32
    for w in fwd.attentions:
        assert w.shape == (b, heads, n, n)
        np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
        assert not np.triu(w[0, 0], 1).any()  # causal: nothing on later tokens


@pytest.mark.parametrize(
    "kw, match",
    [(dict(d_model=30, heads=4), "does not split"), (dict(layers=0), "layers"),
     (dict(positions="alibi"), "positions"), (dict(d_model=6, heads=2, positions="rope"), "even"),
     (dict(vocab=1), "vocab")],
)  # fmt: skip
def test_bad_shapes_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        TinyConfig(**kw)


def test_bad_input_and_a_loss_without_positions():
    model = TinyTransformer(TinyConfig(vocab=5, max_len=4))
    with pytest.raises(ValueError, match="4 positions"):
        model.forward(np.zeros((1, 5), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        model.forward(np.array([[0, 5]]))
    fwd = model.forward(np.array([[0, 1]]))
    with pytest.raises(ValueError, match="no position"):
        model.loss(fwd.logits, np.array([[1, 1]]), np.zeros((1, 2)))
