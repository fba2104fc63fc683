"""The course: attnviz's lessons in teaching order, each a short list of steps.

Data only, and Qt-free. A step names the panels to bring forward (panel ids, as in
``attnviz.gui.panels``) and the session settings to apply (``Session`` field names: ``scene``,
``head``, ``selected_token``, ``temperature``, ``causal``, ``window`` …). The GUI's lesson bar
applies them; ``attnviz lessons`` prints the outline. A test checks every id and field against
the real panels and the session, and walks the whole course in the app.

The order follows the seed explainers' curriculum (what attention is, Q/K/V, scores, scaling and
softmax, temperature, heads, masks, cross-attention, positions, cost, flash attention, KV cache,
sparse patterns); the words are our own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["COURSE", "STEP_DEFAULTS", "Lesson", "Step", "get_lesson", "outline"]

# What every step starts from before its own settings: the toy model, plain attention.
STEP_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {"scene": "cat", "temperature": 1.0, "causal": False, "window": None}
)


# A sentence that asks for a control: left out of slides (Step.slide_text).
_INSTRUCTION = re.compile(r"(Use|Press|Click|Drag|Type|Pick|Select|Toggle|Hover)\b")


@dataclass(frozen=True)
class Step:
    """One screen of a lesson: what to read, which panels to look at, what to set."""

    title: str
    text: str
    panels: tuple[str, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    # The sub-tab of the first panel the step talks about (None: the panel's first tab), and
    # view parameters to set, per panel id: {"kv_cache": {"kv_heads": 8}}.
    tab: str | None = None
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def slide_text(self) -> str:
        """The text without its sentences that tell the reader to work a control ("Use Back and
        Next…", "Press 1–4…"): a slide has none to work."""
        sentences = re.split(r"(?<=[.!?])\s+", self.text.strip())
        return " ".join(s for s in sentences if not _INSTRUCTION.match(s))

    def full_settings(self) -> dict[str, Any]:
        """The defaults overlaid with this step's own settings; ``scene`` comes first."""
        return {**STEP_DEFAULTS, **self.settings}


@dataclass(frozen=True)
class Lesson:
    lesson_id: str
    title: str
    steps: tuple[Step, ...]


def _s(
    title: str, text: str, panels: tuple[str, ...] | str, *, tab: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None, **settings: Any,
) -> Step:  # fmt: skip
    panels = (panels,) if isinstance(panels, str) else panels
    frozen = MappingProxyType({k: MappingProxyType(dict(v)) for k, v in (params or {}).items()})
    return Step(title, " ".join(text.split()), panels, MappingProxyType(settings), tab, frozen)


# Token indices below refer to the scenes' fixed sentences:
# cat:  The(0) cat(1) sat(2) on(3) the(4) mat(5) because(6) it(7) was(8) tired(9)
# heads of the toy model: 0 previous token, 1 same position, 2 pronoun → noun, 3 verb → nouns
COURSE: tuple[Lesson, ...] = (
    Lesson("what", "What attention is", (
        _s("Every token looks around",
           """A word on its own is ambiguous. Attention lets each token gather information from
           the other tokens of the sentence, weighting each one by how useful it is. Here the
           token “it” is selected: the lines show where its weight goes.""",
           "token_attention", scene="cat", head=2, selected_token=7),
        _s("The weights are a recipe",
           """For every token the weights are positive and add up to one, so the new vector of
           “it” is a blend of the others. Most of the blend comes from “cat”: the model has
           worked out what the pronoun stands for.""",
           ("token_attention", "score_heatmap"), scene="cat", head=2, selected_token=7),
    )),
    Lesson("qkv", "Queries, keys and values", (
        _s("Three roles for each token",
           """Each token vector X is multiplied by three learned matrices. The query (X·Wq) says
           what the token is looking for, the key (X·Wk) says what it offers to others, and the
           value (X·Wv) is what it hands over once chosen.""",
           "qkv_steps", scene="qkv4", selected_token=1),
        _s("Step through the arithmetic",
           """Use Back and Next in the panel (or Space to play) to follow the numbers from X to
           Q, K and V, to the scores, the weights and finally the output. Every cell is computed
           live from the matrices shown.""",
           "qkv_steps", scene="qkv4", selected_token=2),
    )),
    Lesson("scores", "Scores: how well a query matches a key", (
        _s("Dot products",
           """The score of query i against key j is their dot product: large when the two
           vectors point the same way. One row of the heatmap is one query compared with every
           key.""",
           "score_heatmap", scene="cat", head=2, selected_token=7),
        _s("A different head, a different question",
           """The same sentence with another head gives a different heatmap: this head's
           queries and keys were built to link each verb to the nouns around it.""",
           "score_heatmap", scene="cat", head=3, selected_token=2),
    )),
    Lesson("softmax", "Scaling and softmax", (
        _s("Why divide by √d",
           """Dot products of long vectors grow with their length d. Dividing by √d keeps the
           scores in a range where the softmax still spreads its weight instead of putting
           almost everything on one key.""",
           ("score_heatmap", "softmax_temperature"), scene="cat", head=2, selected_token=7),
        _s("Softmax turns scores into weights",
           """Softmax exponentiates each score and divides by the row's total, so every weight
           is positive and a row sums to one. Bigger gaps between scores mean a sharper
           winner.""",
           "softmax_temperature", scene="cat", head=2, selected_token=7),
    )),
    Lesson("temperature", "Temperature", (
        _s("Cold: one winner",
           """Dividing the scores by a temperature below one stretches the gaps between them.
           The largest score takes nearly all the weight and the entropy drops.""",
           "softmax_temperature", scene="cat", head=2, selected_token=7, temperature=0.3),
        _s("Hot: spread evenly",
           """A temperature above one squeezes the scores together, so the weights flatten
           towards uniform and the entropy rises towards its maximum, log n.""",
           "softmax_temperature", scene="cat", head=2, selected_token=7, temperature=3.0),
    )),
    Lesson("heads", "Many heads", (
        _s("Heads specialise",
           """A layer runs several attention heads side by side, each with its own Wq, Wk and
           Wv. This head only looks at the token just before.""",
           ("token_attention", "head_grid"), scene="cat", head=0, selected_token=7),
        _s("Another head, another relation",
           """This head links the verb “sat” to the nouns around it. The outputs of all heads
           are joined and mixed by one more matrix, so the layer combines every relation at
           once. Press 1–4 to switch heads.""",
           ("token_attention", "head_grid"), scene="cat", head=3, selected_token=2),
    )),
    Lesson("causal", "Causal masking", (
        _s("No peeking ahead",
           """A model that writes text one token at a time must not see the future. The causal
           mask sets every score above the diagonal to −∞ before the softmax, so those weights
           become exactly zero.""",
           ("causal_mask", "score_heatmap"), scene="cat", head=2, selected_token=7, causal=True),
        _s("The first token has no choice",
           """With the mask on, the first token can only look at itself, and each later token
           shares its weight among the tokens up to its own position.""",
           ("causal_mask", "token_attention"), scene="cat", head=0, selected_token=0,
           causal=True),
    )),
    Lesson("cross", "Cross-attention", (
        _s("Queries from one text, keys from another",
           """In translation the decoder's tokens ask the questions and the encoder's tokens
           answer them: queries come from one sequence, keys and values from the other, and the
           weight matrix need not be square.""",
           "cross_attention", scene="cat"),
    )),
    Lesson("positions", "Positions and RoPE", (
        _s("Attention ignores order",
           """Shuffle the tokens and plain attention gives the same weights, shuffled: it has
           no idea of order. Position information has to be added to the vectors.""",
           "positional_encoding", tab="Shuffle test", scene="cat"),
        _s("Rotations that encode distance",
           """Sinusoidal encodings add waves of different frequencies; RoPE instead rotates
           pairs of query and key features by an angle that grows with position, so their dot
           product depends only on how far apart the two tokens are.""",
           "positional_encoding", tab="RoPE", scene="cat"),
    )),
    Lesson("cost", "The quadratic cost", (
        _s("n tokens, n² scores",
           """Every query meets every key, so the score matrix has n × n entries. Doubling the
           input quadruples the work and, done naively, the memory for the weights.""",
           ("score_heatmap", "flash_attention"), scene="cat"),
    )),
    Lesson("flash", "Flash attention", (
        _s("Tiles and a running softmax",
           """Flash attention never builds the full n × n matrix in slow GPU memory. It works on
           tiles small enough for fast on-chip memory and keeps a running maximum and sum per
           row, so the softmax comes out exactly as before.""",
           "flash_attention", tab="Tiling, step by step", scene="cat"),
        _s("Same numbers, less memory",
           """The result matches standard attention to rounding error; what changes is the
           memory traffic, which grows linearly with n instead of quadratically.""",
           "flash_attention", tab="Memory against N", scene="cat", causal=True),
    )),
    Lesson("kv", "KV cache, MQA and GQA", (
        _s("One token at a time",
           """A decoder writes text one token at a time: its output at the last position scores
           every word of its vocabulary, and one is chosen, the most likely or a draw. With a
           real decoder (GPT-2, Llama and others) Generate continues the text; step back through
           the timeline and every panel shows the attention that chose each token.""",
           ("next_token", "kv_cache"), scene="cat", causal=True),
        _s("Remember the keys and values",
           """When generating, each new token needs the keys and values of all earlier tokens.
           Caching them saves recomputing, but the cache grows with layers × heads × length and
           soon dominates memory.""",
           "kv_cache", params={"kv_cache": {"q_heads": 32, "kv_heads": 32}}, scene="cat",
           causal=True),
        _s("Share heads to shrink the cache",
           """Multi-query attention gives all query heads one shared key/value head;
           grouped-query attention shares each key/value head among a group. The cache shrinks
           by the group size with little loss in quality.""",
           "kv_cache", params={"kv_cache": {"q_heads": 32, "kv_heads": 8}}, scene="cat",
           causal=True),
    )),
    Lesson("patterns", "Sparse patterns and induction heads", (
        _s("A local window",
           """Letting each token see only a few neighbours makes the cost grow linearly with
           length. Here each query sees at most two tokens back.""",
           ("attention_patterns", "causal_mask"), tab="Sparse patterns", scene="cat", head=2,
           selected_token=7, causal=True, window=2),
        _s("Global, dilated, random",
           """Sparse models mix patterns: a few global tokens that see everything, dilated
           strides that reach further, random links. The gallery counts how many of the n²
           pairs each pattern keeps.""",
           "attention_patterns", tab="Sparse patterns", scene="cat"),
        _s("Induction heads",
           """In a repeated sequence an induction head looks back for the token that followed
           the current one last time and predicts it again: a simple copying circuit that
           trained models form on their own.""",
           "attention_patterns", tab="Induction head", scene="cat"),
        _s("Watch one form",
           """A two-layer model trained on repeated random letters learns the trick by itself:
           the loss on the repeat drops when a head in the second layer starts attending to the
           letter after the current one's last occurrence. Train, then scrub back through the
           checkpoints to see the moment it appears.""",
           "training", scene="cat"),
    )),
)  # fmt: skip


def get_lesson(lesson_id: str) -> Lesson:
    """The lesson called ``lesson_id``; ValueError naming the ones there are."""
    for lesson in COURSE:
        if lesson.lesson_id == lesson_id:
            return lesson
    raise ValueError(f"unknown lesson {lesson_id!r}; choose one of {[x.lesson_id for x in COURSE]}")


def outline() -> list[str]:
    """The course as printable lines: numbered lessons and their steps."""
    lines = []
    for i, lesson in enumerate(COURSE, 1):
        lines.append(f"{i:>2}. {lesson.title}  [{lesson.lesson_id}]")
        for j, step in enumerate(lesson.steps, 1):
            lines.append(f"      {i}.{j} {step.title}  — {', '.join(step.panels)}")
    return lines
