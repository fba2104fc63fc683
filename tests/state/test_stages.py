"""Compute only what is shown, once (issue 14, item 2): stages cached by their inputs, results
that compute what is asked. Counted, never timed."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attnviz.models.model as model_module
from attnviz.state import stages
from attnviz.state.pipeline import resolve, run
from attnviz.state.request import STAGES
from attnviz.state.session import Session
from attnviz.state.views import discover
from tests.state.test_model_pipeline import model_session

TEXT = " ".join(f"w{i % 13}" for i in range(40))


def computed(fn) -> collections.Counter:
    """The stages ``fn`` computed (cache misses), by name."""
    before = collections.Counter(stages.COUNTS)
    fn()
    return stages.COUNTS - before


@pytest.fixture(autouse=True)
def cold_caches():
    stages.clear()
    yield
    stages.clear()


def toy(text: str = TEXT) -> Session:
    s = Session()
    s.text = text
    return s


def test_a_temperature_change_runs_no_projection_and_one_head():
    s = toy()
    run(resolve(s), needs=("head_weights",))
    s.temperature = 0.5
    done = computed(lambda: run(resolve(s), needs=("head_weights",)).head_weights)
    assert done == {"head attention": 1}


def test_a_head_change_takes_its_head_from_the_layers_weights():
    s = toy()
    first = run(resolve(s), needs=("weights", "head_weights"))
    s.head = 2
    r = None

    def again():
        nonlocal r
        r = run(resolve(s), needs=("weights", "head_weights"))

    assert computed(again) == {}
    np.testing.assert_array_equal(r.head_weights, first.weights[2])


def test_a_result_computes_only_what_is_asked_and_the_rest_when_asked():
    s = toy()
    r = run(resolve(s), needs=("head_weights",))
    assert r.ready(("head_weights",))
    assert not r.ready(("weights",)) and not r.ready(("trace",))
    assert not any(r.views.computed(pid) for pid in discover())
    full = run(resolve(s))  # everything, as the CLI and exports ask
    assert r.ready(("head_weights",)) and full.ready(STAGES)
    np.testing.assert_array_equal(r.weights, full.weights)  # computed now, the same numbers
    assert r.ready(("weights",))
    np.testing.assert_array_equal(r.views["head_grid"].table(), full.views["head_grid"].table())


def test_the_head_grid_view_reads_the_shared_weights_instead_of_computing_them_again():
    s = toy()
    r = run(resolve(s), needs=("weights",))
    assert computed(lambda: r.views["head_grid"]) == {}


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    head=st.integers(0, 3),
    temperature=st.floats(0.05, 20),
    causal=st.booleans(),
    window=st.one_of(st.none(), st.integers(0, 14)),
)
def test_one_head_is_that_head_of_the_layer(n, head, temperature, causal, window):
    """The selected head computed alone equals the same head computed with the others."""
    stages.clear()
    s = toy(" ".join(f"w{i}" for i in range(n)))
    s.head, s.temperature = min(head, s.n_heads - 1), temperature
    s.causal, s.window = causal, window
    alone = run(resolve(s), needs=("head_weights",)).head_weights
    stages.clear()
    together = run(resolve(s), needs=("weights",))
    np.testing.assert_allclose(alone, together.weights[s.head], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(alone, together.trace.weights, rtol=1e-5, atol=1e-6)


def test_a_temperature_change_runs_no_forward_pass_and_no_other_layer(tiny_gpt2, monkeypatch):
    forwards = []
    original = model_module.Model.forward

    def counted(self, *args, **kwargs):
        forwards.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(model_module.Model, "forward", counted)
    s = model_session(tiny_gpt2, text="a fresh text for this test only")
    s.layer = 1
    run(resolve(s), needs=("weights", "head_weights"))
    assert len(forwards) == 1
    s.temperature = 0.5
    done = computed(lambda: run(resolve(s), needs=("weights", "head_weights")))
    assert len(forwards) == 1  # the forward pass ran once for the text
    assert done == {"layer attention": 1}  # layer 2 alone: layer 1 is not attended


@pytest.mark.parametrize("hide", [False, True])
def test_a_models_head_alone_equals_its_layer(tiny_bert, hide):
    s = model_session(tiny_bert)
    s.hide_special = hide
    s.head, s.temperature = 2, 0.7
    alone = run(resolve(s), needs=("head_weights",)).head_weights
    stages.clear()
    full = run(resolve(s))
    np.testing.assert_allclose(alone, full.weights[2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(full.layer_weights[s.layer], full.weights, rtol=0, atol=0)
    assert alone.shape == (len(s.tokens), len(s.tokens))


def test_needs_name_what_a_result_provides():
    from attnviz.state.request import needs_of

    with pytest.raises(ValueError, match="no stage 'wieghts'"):
        needs_of(("wieghts",))
    assert needs_of(("weights", "view:head_grid")) == ("weights", "view:head_grid")
