"""The next-token and KV-cache views at a generation's steps."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.core.kv_cache import kv_cache_bytes
from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session
from attnviz.state.source import generate
from attnviz.state.views import ViewError
from attnviz.state.views.next_token import NO_DECODER


def at_step(folder, step=None, **kw):
    s = Session()
    s.text = "the quick brown fox"
    s.model_path = str(folder)
    params = s.view_params["next_token"]
    for k, v in kw.items():
        setattr(params, k, v)
    gen = generate(s.model_path, s.text, params.sampling(), n=params.n_new,
                   cached=params.cached)  # fmt: skip
    s.show_generation(gen)
    if step is not None:
        s.gen_step = step
    return s, gen


def test_candidates_are_the_steps_and_sum_below_one(tiny_llama):
    s, gen = at_step(tiny_llama, step=2, n_new=4)
    data = run(resolve(s)).views["next_token"]
    assert (data.step, data.steps, data.can_generate) == (2, 4, True)
    c = data.candidates
    assert c is gen.steps[1].candidates and data.chosen == gen.steps[1].label
    assert data.query == s.tokens[-1]
    assert np.all(np.diff(c.raw) <= 0) and c.raw.sum() <= 1 + 1e-9
    np.testing.assert_allclose(c.tempered, c.raw)  # greedy: nothing tempered or cut
    assert data.text_before == gen.continuation(1) and data.sampling.startswith("greedy")


def test_sampled_steps_show_the_cut(tiny_llama):
    s, _ = at_step(tiny_llama, n_new=3, sample=True, temperature=2.0, top_k=3, seed=5)
    data = run(resolve(s)).views["next_token"]
    c = data.candidates
    assert data.sampled and "top-k 3" in data.sampling
    assert (c.kept > 0).sum() <= 3 and c.kept.sum() == pytest.approx(1.0)
    assert c.tempered[0] < c.raw[0]  # temperature 2 flattens


def test_the_real_cache_grows_with_the_steps(tiny_llama):
    s, gen = at_step(tiny_llama, n_new=5)
    sizes = []
    for step in range(1, 6):
        s.gen_step = step
        s.layer = 1
        real = run(resolve(s)).views["kv_cache"].real
        assert real.keys.shape == (2, gen.steps[step - 1].read, 8) == real.values.shape
        # float32 weights: 4 bytes a number, by the direct formula
        assert real.bytes == kv_cache_bytes(2, 2, 8, real.tokens, 4)
        layouts = {lay.name: lay for lay in real.layouts}
        assert layouts["MHA"].bytes == 2 * real.bytes and layouts["MQA"].bytes * 2 == real.bytes
        assert layouts["GQA"].chosen and real.pass_ms is not None and real.pass_ms > 0
        sizes.append(real.bytes)
    assert np.all(np.diff(sizes) == sizes[0] // gen.steps[0].read)  # one token's worth a step
    assert real.ms_per_token is not None and real.cached


def test_without_a_generation_the_view_says_what_can_generate(tiny_llama, tiny_bert):
    s = Session()
    assert NO_DECODER.split(":")[0] in run(resolve(s)).views["next_token"].why
    s.model_path = str(tiny_bert)
    data = run(resolve(s)).views["next_token"]
    assert not data.can_generate and "does not predict the next token" in data.why
    s.model_path = str(tiny_llama)
    data = run(resolve(s)).views["next_token"]
    assert data.can_generate and data.step == 0 and data.candidates is None
    assert run(resolve(s)).views["kv_cache"].real is None


@pytest.mark.parametrize(
    "field, bad", [("n_new", 0), ("n_new", 257), ("temperature", 0.0), ("top_k", -1),
                   ("top_p", 1.5), ("seed", -1)]
)  # fmt: skip
def test_parameters_are_checked(field, bad):
    params = Session().view_params["next_token"]
    before = getattr(params, field)
    with pytest.raises(ValueError):
        setattr(params, field, bad)
    assert getattr(params, field) == before
    assert not isinstance(params, ViewError)
