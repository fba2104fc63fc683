"""Generating text with a decoder, one token at a time, with its KV cache.

At step ``s`` the model has read the prompt and the ``s - 1`` tokens it generated so far; its
last layer's output at the last position, through the final norm and the output layer, gives
one logit per vocabulary entry, and :func:`choose` turns those into the next token: the most
likely one (greedy), or one drawn after the *sampling* temperature and the top-k / top-p cut.

With the cache (the default), only the newest token runs through the layers: each layer's keys
and values of the earlier positions are kept (:data:`~attnviz.models.base.Past`) and the new
query attends over them. Without it, every step runs the whole sequence again. Both give the
same numbers (to float32 rounding); the cache makes a step's work grow with the sequence
instead of with its square.

References
----------
- Holtzman et al., "The Curious Case of Neural Text Degeneration", 2020 (nucleus / top-p).
- transformers ``generation/logits_process.py``: temperature, then top-k, then top-p, the
  order :func:`choose` applies them in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from attnviz.models.base import Past
from attnviz.models.encoding import Encoding, read_json
from attnviz.models.errors import ModelError
from attnviz.models.model import Model, ModelTrace

__all__ = [
    "MAX_NEW_TOKENS",
    "SHOWN_CANDIDATES",
    "CacheState",
    "Candidates",
    "Generation",
    "GenerationStep",
    "Sampling",
    "choose",
]

MAX_NEW_TOKENS = 256  # one generation's cap: a lecture's worth, and a bounded memory
SHOWN_CANDIDATES = 10  # the candidates a step keeps (the next-token panel's bars)


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen from the logits.

    ``greedy``: the most likely token (temperature, top-k and top-p then change nothing).
    Otherwise a draw, reproducible from ``seed``, from softmax(logits / temperature) restricted
    to the ``top_k`` most likely tokens (0: all) and then to the smallest set whose probability
    reaches ``top_p`` (1: all), renormalised.
    """

    greedy: bool = True
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0:
            raise ValueError(
                f"sampling temperature must be a number > 0, got {t!r} (for the most likely "
                "token every time, choose greedy)"
            )
        k = self.top_k
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"top-k must be a whole number ≥ 0 (0: no cut), got {k!r}")
        p = self.top_p
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
            raise ValueError(f"top-p must lie in (0, 1] (1: no cut), got {p!r}")
        s = self.seed
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**63:
            raise ValueError(f"the seed must be a whole number ≥ 0, got {s!r}")

    def describe(self) -> str:
        if self.greedy:
            return "greedy (the most likely token)"
        cuts = [f"temperature {self.temperature:g}"]
        if self.top_k:
            cuts.append(f"top-k {self.top_k}")
        if self.top_p < 1:
            cuts.append(f"top-p {self.top_p:g}")
        return f"sampled ({', '.join(cuts)}, seed {self.seed})"


@dataclass(frozen=True)
class Candidates:
    """The most likely next tokens at one step and their probabilities (each (k,), by raw
    probability, highest first).

    ``raw``: softmax of the logits; ``tempered``: softmax(logits / sampling temperature);
    ``kept``: what the draw used, after the top-k and top-p cut, renormalised (0: cut). Under
    greedy decoding ``tempered`` and ``kept`` equal ``raw``.
    """

    ids: np.ndarray
    labels: tuple[str, ...]
    raw: np.ndarray
    tempered: np.ndarray
    kept: np.ndarray
    chosen: int  # the token id chosen (it may lie outside the shown candidates)
    chosen_label: str
    chosen_raw: float  # its raw probability

    def __len__(self) -> int:
        return len(self.ids)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def choose(
    logits: np.ndarray, sampling: Sampling, rng: np.random.Generator | None = None
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The next token from (V,) logits: (token id, raw, tempered, kept probabilities (V,)).

    Computed in float64. Greedy: the argmax (the lowest id among ties, as torch). Sampled: one
    draw of ``rng`` from ``kept``.
    """
    z = np.asarray(logits, dtype=np.float64)
    if not np.isfinite(z).any():
        raise ModelError("the model's next-token scores are all NaN or infinite")
    z = np.where(np.isnan(z), -np.inf, z)
    raw = _softmax(z)
    if sampling.greedy:
        return int(np.argmax(z)), raw, raw, raw
    tempered = _softmax(z / sampling.temperature)
    order = np.argsort(-tempered, kind="stable")
    keep = np.zeros(z.size, bool)
    n = z.size if not sampling.top_k else min(sampling.top_k, z.size)
    top = order[:n]
    mass_before = np.cumsum(tempered[top]) - tempered[top]
    top = top[mass_before < sampling.top_p]  # the smallest set reaching top-p (≥ 1 token)
    keep[top] = True
    kept = np.where(keep, tempered, 0.0)
    kept /= kept.sum()
    if rng is None:
        rng = np.random.default_rng(sampling.seed)
    token = int(rng.choice(z.size, p=kept))
    return token, raw, tempered, kept


@dataclass(frozen=True)
class GenerationStep:
    """Step ``index`` (1-based): what the model read, what it chose, how long it took."""

    index: int
    read: int  # tokens read (prompt + index - 1); the query is the last of them
    token: int  # the chosen token id
    label: str  # readable form of the chosen token
    text: str  # the generated text up to and including this token (decoded)
    candidates: Candidates
    logits: np.ndarray = field(repr=False)  # (V,) float32, what the candidates came from
    seconds: float = 0.0  # compute time of this step
    cached: bool = True  # whether the KV cache was used (False: the whole sequence again)


@dataclass(frozen=True)
class CacheState:
    """A decoder's KV cache after reading ``tokens`` tokens: per layer K and V, each
    (Hkv, tokens, head_dim), and what they cost."""

    keys: tuple[np.ndarray, ...]  # per layer (Hkv, S, E), float32 as computed
    values: tuple[np.ndarray, ...]
    heads: int  # query heads per layer
    kv_heads: int
    head_dim: int
    itemsize: int  # bytes per number in the model's own dtype (2 for bf16/fp16 weights)

    @property
    def layers(self) -> int:
        return len(self.keys)

    @property
    def tokens(self) -> int:
        return self.keys[0].shape[1] if self.keys else 0

    def bytes(self, kv_heads: int | None = None) -> int:
        """K and V of every layer in the model's dtype, with ``kv_heads`` key/value heads
        (default the model's own: pass ``heads`` for what MHA would hold, 1 for MQA)."""
        kv = self.kv_heads if kv_heads is None else kv_heads
        return 2 * self.layers * kv * self.tokens * self.head_dim * self.itemsize

    def layouts(self) -> dict[str, int]:
        """Bytes of this cache as MHA (one K/V head per query head), as the model's own
        layout, and as MQA (one K/V head)."""
        own = ("GQA" if 1 < self.kv_heads < self.heads
               else "MQA" if self.kv_heads == 1 < self.heads else "MHA")  # fmt: skip
        out = {"MHA": self.bytes(self.heads)}
        if own == "GQA":
            out[f"GQA ({self.kv_heads} KV heads, this model)"] = self.bytes()
        out["MQA"] = self.bytes(1)
        return out


def eos_ids(model: Model) -> frozenset[int]:
    """The end-of-sequence ids generation stops at: generation_config.json's, else
    config.json's (an id or a list)."""
    folder = model.spec.folder
    gen = read_json(folder / "generation_config.json") if folder.is_dir() else {}
    value = gen.get("eos_token_id", model.spec.config.doc.get("eos_token_id"))
    values = value if isinstance(value, list) else [value]
    return frozenset(v for v in values if isinstance(v, int) and not isinstance(v, bool))


class Generation:
    """Generating from one prompt, step by step; keeps every step and the live KV cache.

    Not thread-safe: one thread steps it (the app's worker), others read finished steps.
    """

    def __init__(
        self, model: Model, text: str, sampling: Sampling | None = None, *, cached: bool = True,
        stop_at_eos: bool = True,
    ) -> None:  # fmt: skip
        problem = model.spec.generation_problem
        if problem is not None:
            raise ModelError(f"{model.info.name} cannot generate: {problem}", model.spec.folder)
        self.model = model
        self.sampling = sampling or Sampling()
        self.cached = cached
        self.prompt_text = text
        self.prompt: Encoding = model.encode(text)
        self.eos = eos_ids(model) if stop_at_eos else frozenset()
        self.ids: list[int] = [int(i) for i in self.prompt.ids]
        self.steps: list[GenerationStep] = []
        self._past: list[Past] | None = None  # covers ids[:-1] after a cached step
        self._rng = np.random.default_rng(self.sampling.seed)
        self._itemsize = 2 if set(model.spec.dtype.split(" + ")) <= {"bfloat16", "float16"} else 4
        self.pass_seconds: dict[int, float] = {}  # step -> seconds of its whole forward pass
        self.trace_at = lru_cache(maxsize=8)(self._trace_at)

    @property
    def generated(self) -> list[int]:
        return self.ids[len(self.prompt) :]

    @property
    def room(self) -> int:
        """How many more tokens this generation may add (the cap, and the model's positions)."""
        left = min(MAX_NEW_TOKENS - len(self.steps), self.model.info.max_positions - len(self.ids))
        return max(left, 0)

    @property
    def finished(self) -> bool:
        """True once the model produced an end-of-sequence token or there is no room."""
        return self.room == 0 or bool(self.steps and self.steps[-1].token in self.eos)

    def ms_per_token(self) -> float | None:
        """Median milliseconds per generated token over the steps after the first (which
        reads the whole prompt, cache or not); None before a second step."""
        times = [s.seconds for s in self.steps[1:]]
        return float(np.median(times)) * 1e3 if times else None

    def continuation(self, upto: int | None = None) -> str:
        """The generated text (of the first ``upto`` steps), decoded."""
        return self.model.tokenizer.decode(self.generated[:upto])

    def step(self) -> GenerationStep:
        """Generate one token; ModelError when :attr:`finished`."""
        if self.finished:
            raise ModelError("this generation has ended: no room for another token or the "
                             "model ended the text")  # fmt: skip
        head = self.model.loaded_weights().head()  # converted once, before the clock starts
        t0 = time.perf_counter()
        x = self._last_output()  # (1, D)
        logits = self.model.family.logits(head, x)[0]
        token, raw, tempered, kept = choose(logits, self.sampling, self._rng)
        seconds = time.perf_counter() - t0
        self.ids.append(token)
        order = np.argsort(-raw, kind="stable")[:SHOWN_CANDIDATES]
        labels = self.model.tokenizer.from_ids(order).labels
        chosen = self.model.tokenizer.from_ids([token]).labels[0]
        cands = Candidates(order, tuple(labels), raw[order], tempered[order], kept[order],
                           token, chosen, float(raw[token]))  # fmt: skip
        step = GenerationStep(
            index=len(self.steps) + 1, read=len(self.ids) - 1, token=token, label=chosen,
            text=self.continuation(), candidates=cands, logits=np.asarray(logits, np.float32),
            seconds=seconds, cached=self.cached,
        )  # fmt: skip
        self.steps.append(step)
        return step

    def run(
        self, n: int, stop: Callable[[], bool] | None = None,
        on_step: Callable[[GenerationStep], None] | None = None,
    ) -> list[GenerationStep]:  # fmt: skip
        """Up to ``n`` more steps (fewer at the end of the text, the cap, or when ``stop()``
        says so before a step); calls ``on_step`` after each."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_NEW_TOKENS:
            raise ValueError(f"generate 1 to {MAX_NEW_TOKENS} tokens at a time, got {n!r}")
        done: list[GenerationStep] = []
        while len(done) < n and not self.finished and not (stop is not None and stop()):
            done.append(self.step())
            if on_step is not None:
                on_step(done[-1])
        return done

    def _last_output(self) -> np.ndarray:
        """The last layer's output at the last position read, (1, D)."""
        model, fam = self.model, self.model.family
        store = model.loaded_weights()
        ids = np.asarray(self.ids, dtype=np.int64)
        if self.cached and self._past is not None:
            new, start = ids[-1:], len(ids) - 1  # only the newest token runs
        else:
            new, start = ids, 0
        x = fam.embed(store.shared(), new, start=start)
        past: list[Past] = []
        for i in range(model.info.layers):
            t, _ = store.layer(i)
            prev = self._past[i] if self.cached and self._past is not None else None
            x, res = fam.layer(i, t, x, past=prev)
            past.append((res.k, res.v))
        self._past = past
        return x[-1:]

    def encoding(self, tokens: int) -> Encoding:
        """The first ``tokens`` tokens of prompt + generation, labelled as the app shows them
        (the prompt as it was tokenised, the generated tokens from their ids)."""
        p = len(self.prompt)
        if tokens <= p:
            e = self.prompt
            return Encoding(e.ids[:tokens], e.tokens[:tokens], e.labels[:tokens],
                            e.special[:tokens])  # fmt: skip
        more = self.model.tokenizer.from_ids(self.ids[p:tokens])
        e = self.prompt
        return Encoding(
            np.asarray(self.ids[:tokens], dtype=np.int64), e.tokens + more.tokens,
            e.labels + more.labels, e.special + more.special,
        )  # fmt: skip

    def _trace_at(self, index: int) -> ModelTrace:
        """The whole forward pass over what step ``index`` read (its query is the last row):
        what the attention panels show at that step. Its time is kept in
        :attr:`pass_seconds`: what recomputing without a cache costs at that length."""
        step = self.steps[index - 1]
        t0 = time.perf_counter()
        trace = self.model.run(self.encoding(step.read))
        self.pass_seconds[index] = time.perf_counter() - t0
        return trace

    def cache_at(self, index: int) -> CacheState:
        """The KV cache as step ``index`` left it: every layer's K and V over the tokens it
        read (a prefix of the live cache, which only grows)."""
        step = self.steps[index - 1]
        a = self.model.info
        if self._past is None:
            raise ModelError("no step has run yet")
        keys = tuple(k[:, : step.read] for k, _ in self._past)
        values = tuple(v[:, : step.read] for _, v in self._past)
        return CacheState(keys, values, a.heads, a.kv_heads, a.head_dim, self._itemsize)
