"""The next-token panel's numbers: how to generate (its parameters) and, at the timeline's
step, the candidates the model weighed, before and after the sampling temperature and the
top-k / top-p cut.

Generating itself runs on the panel's worker (:func:`attnviz.state.source.generate`); the
session then shows the generation step by step (``Session.show_generation``, ``gen_step``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented

from attnviz.models import ModelError
from attnviz.models.generation import MAX_NEW_TOKENS, Candidates, Sampling
from attnviz.state.request import Result
from attnviz.state.source import GenerationSource, ModelSource, tokenizing_model
from attnviz.state.views import Params, register_view, whole_number

__all__ = ["NO_DECODER", "NextTokenData", "NextTokenParams", "compute"]

NO_DECODER = (
    "Generating needs a trained decoder that predicts the next token (GPT-2, Llama, Qwen, "
    "Gemma, Pythia and more): choose one in the Model box. {what} has no vocabulary to "
    "predict from."
)
TWO_TEMPERATURES = (
    "Sampling temperature divides the model's output logits before it picks the next token; "
    "attention temperature (the other knob in the app) rescales the scores inside every "
    "attention softmax. They are different dials."
)


@evented
@dataclass
class NextTokenParams(Params):
    """How the next tokens are generated: how many, greedy or sampled, and with the cache."""

    n_new: int = 20
    sample: bool = False  # False: greedy, the most likely token every time
    temperature: float = 1.0  # the sampling temperature (not attention's)
    top_k: int = 50  # 0: no cut
    top_p: float = 1.0  # 1: no cut
    seed: int = 0
    cached: bool = True  # decode with the KV cache (False: recompute the whole sequence)

    def validate(self, name: str, value: Any) -> Any:
        if name == "n_new":
            return whole_number("new tokens", value, 1, MAX_NEW_TOKENS)
        if name in ("sample", "cached"):
            return bool(value)
        if name in ("temperature", "top_p", "top_k", "seed"):
            if name in ("temperature", "top_p") and isinstance(value, int | np.integer):
                value = float(value)
            Sampling(greedy=False, **{name: value})  # ValueError says what is wrong
            return value
        return value

    def sampling(self) -> Sampling:
        return Sampling(not self.sample, self.temperature, self.top_k, self.top_p, self.seed)


@dataclass(frozen=True)
class NextTokenData:
    params: NextTokenParams
    can_generate: bool
    why: str  # why not, when it cannot
    model: str  # the model's name ("" for the toy)
    prompt: str  # the text generated from
    steps: int  # steps in the generation shown (0: none)
    step: int  # the step shown (0: none)
    query: str  # the token read last at this step (the query), labelled
    chosen: str  # the token chosen at this step
    text_before: str  # the generated text before this step's token (decoded)
    candidates: Candidates | None
    sampling: str  # how it was chosen, in words
    sampled: bool
    cached: bool
    ms_per_token: float | None  # median of this generation's steps after the first
    ended: bool  # the model ended the text (end-of-sequence) or the cap was reached


@register_view("next_token", params=NextTokenParams)
def compute(result: Result, params: NextTokenParams) -> NextTokenData:
    source = result.request.source
    empty = dict(prompt="", steps=0, step=0, query="", chosen="", text_before="",
                 candidates=None, sampling="", sampled=False, cached=params.cached,
                 ms_per_token=None, ended=False)  # fmt: skip
    if isinstance(source, GenerationSource):
        gen, index = source.generation, source.step
        step = gen.steps[index - 1]
        return NextTokenData(
            params=params, can_generate=True, why="", model=gen.model.info.name,
            prompt=gen.prompt_text, steps=len(gen.steps), step=index,
            query=gen.encoding(step.read).labels[-1], chosen=step.label,
            text_before=gen.continuation(index - 1), candidates=step.candidates,
            sampling=gen.sampling.describe(), sampled=not gen.sampling.greedy,
            cached=gen.cached, ms_per_token=gen.ms_per_token(),
            ended=gen.finished and index == len(gen.steps),
        )  # fmt: skip
    if isinstance(source, ModelSource):
        try:
            model = tokenizing_model(source.folder)
        except ModelError as exc:  # pragma: no cover - the session checked the folder
            return NextTokenData(params, False, str(exc), "", **empty)
        problem = model.spec.generation_problem
        name = model.info.name
        if problem is not None:
            return NextTokenData(params, False, f"{name} cannot generate: {problem}.", name,
                                 **empty)  # fmt: skip
        return NextTokenData(params, True, "", name, **{**empty, "prompt": source.text})
    what = "A saved-attention file" if not source.caps.has_qkv else "The toy model"
    return NextTokenData(params, False, NO_DECODER.format(what=what), "", **empty)
