"""A generation in the session: the timeline's steps become the source every panel shows."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.models.generation import Sampling
from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session
from attnviz.state.source import GenerationSource, generate

TEXT = "the quick brown fox"


def generated(folder, n=5, **kw):
    s = Session()
    s.text = TEXT
    s.model_path = str(folder)
    gen = generate(s.model_path, s.text, Sampling(), n=n, **kw)
    return s, gen


def test_each_step_shows_what_the_model_read_with_the_last_token_as_query(tiny_llama):
    s, gen = generated(tiny_llama)
    prompt = len(s.tokens)
    s.show_generation(gen)
    assert s.gen_step == 5 and isinstance(s.source, GenerationSource)
    assert len(s.tokens) == prompt + 4 and s.selected_token == len(s.tokens) - 1
    assert s.source.generated_from == prompt
    # Step 1 reads the prompt alone: its last row gives the first token's distribution.
    s.gen_step = 1
    assert len(s.tokens) == prompt and s.selected_token == prompt - 1
    res = run(resolve(s))
    trace = gen.trace_at(1)
    np.testing.assert_allclose(res.layer_weights, trace.attentions, atol=1e-6)
    # The same numbers as running the model on the same ids as its own text would give.
    s.gen_step = 3
    res = run(resolve(s))
    assert res.weights.shape == (4, prompt + 2, prompt + 2)
    np.testing.assert_allclose(res.weights, gen.trace_at(3).attentions[s.layer], atol=1e-6)
    with pytest.raises(ValueError, match="must lie in"):
        s.gen_step = 6
    assert s.gen_step == 3


def test_another_input_ends_the_generation_and_hiding_keeps_it(tiny_llama):
    s, gen = generated(tiny_llama)
    s.show_generation(gen)
    s.hide_special = True  # <s> hidden: the generation stays, one token fewer
    assert s.gen_step == 5 and s.tokens[0] != "<s>"
    s.text = "a red dog"
    assert s.gen_step == 0 and s.generation is None
    assert not isinstance(s.source, GenerationSource)
    with pytest.raises(ValueError, match="generate first"):
        s.gen_step = 1
    with pytest.raises(ValueError, match="text changed"):
        s.show_generation(gen)


def test_stop_is_asked_before_each_step(tiny_llama):
    calls = []
    _, gen = generated(tiny_llama, n=10, stop=lambda: len(calls) >= 3, on_step=calls.append)
    assert len(gen.steps) == 3 == len(calls)


def test_encoders_cannot_generate(tiny_bert):
    s = Session()
    s.model_path = str(tiny_bert)
    with pytest.raises(ValueError, match="does not predict the next token"):
        generate(s.model_path, s.text, Sampling(), n=3)
