"""Check-your-understanding questions, a short multiple-choice quiz per lesson of the course.

Qt-free data and scoring; the GUI's quiz dialog asks them and shows the explanation after each
answer. Written in our own words from the seed explainers' material.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["QUIZZES", "Question", "Score", "check", "score"]


@dataclass(frozen=True)
class Question:
    prompt: str
    choices: tuple[str, ...]
    answer: int  # index into choices
    explanation: str


@dataclass(frozen=True)
class Score:
    correct: int
    total: int

    @property
    def fraction(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.correct} of {self.total} right"


def _q(prompt: str, choices: Sequence[str], answer: int, explanation: str) -> Question:
    return Question(prompt, tuple(choices), answer, explanation)


QUIZZES: dict[str, tuple[Question, ...]] = {
    "what": (
        _q("What does one row of attention weights add up to?",
           ("The number of tokens", "One", "Zero", "It depends on the temperature"), 1,
           "Softmax makes every weight positive and normalises the row, so a token's new "
           "vector is a weighted average of the values."),
        _q("In “The cat sat on the mat because it was tired”, which token should “it” attend "
           "to most to resolve the pronoun?", ("mat", "tired", "cat", "because"), 2,
           "The tired one is the cat; a head that resolves pronouns puts its weight there."),
    ),
    "qkv": (
        _q("Which vector describes what a token is looking for?",
           ("Its key", "Its value", "Its query", "Its position"), 2,
           "The query is compared with every key; the key advertises, the value is delivered."),
        _q("Where do Q, K and V come from?",
           ("Three learned matrices applied to the same token vectors",
            "Three different input sentences", "A lookup table of words", "The softmax"), 0,
           "Q = X·Wq, K = X·Wk and V = X·Wv: one input, three learned projections."),
    ),
    "scores": (
        _q("How is the score of query i against key j computed?",
           ("Their sum", "Their dot product", "Their distance in the sentence",
            "A random number"), 1,
           "The dot product is large when the two vectors point in a similar direction."),
        _q("The score matrix of a sentence with n tokens has how many entries?",
           ("n", "2n", "n²", "n log n"), 2,
           "Every query is compared with every key: n rows times n columns."),
    ),
    "softmax": (
        _q("Why are the scores divided by √d before the softmax?",
           ("To make them integers",
            "Because dot products grow with the vector length d, which would make the softmax "
            "too peaked", "To save memory", "To apply the causal mask"), 1,
           "Without the scaling, large scores push the softmax towards one-hot rows with tiny "
           "gradients; dividing by √d keeps their spread near one."),
        _q("If one score grows while the others stay the same, its softmax weight…",
           ("falls", "stays the same", "rises, and the others fall", "becomes negative"), 2,
           "The weights share a total of one: raising one score takes weight from the rest."),
    ),
    "temperature": (
        _q("Lowering the temperature below 1 makes the weights…",
           ("more uniform", "sharper, closer to a single winner", "negative",
            "unchanged"), 1,
           "Dividing by a small T widens the gaps between scores; the top one takes over."),
        _q("What is the entropy of a row when all n weights are equal?",
           ("0", "1", "log n", "n"), 2,
           "A uniform distribution over n keys has the largest possible entropy, log n."),
    ),
    "heads": (
        _q("Why use several attention heads?",
           ("To run faster on one core",
            "So that each head can learn a different relation between tokens",
            "Because one head cannot use softmax", "To avoid positional encodings"), 1,
           "Heads have their own projections; one may track the previous token, another "
           "pronouns, another syntax."),
        _q("What happens to the heads' outputs?",
           ("Only the best one is kept", "They are concatenated and mixed by a matrix",
            "They are multiplied together", "They are discarded after training"), 1,
           "The per-head outputs are joined and projected back to the model width."),
    ),
    "causal": (
        _q("What does the causal mask do to scores above the diagonal?",
           ("Doubles them", "Sets them to −∞ so their weights become zero",
            "Sets them to one", "Nothing"), 1,
           "exp(−∞) = 0, so later tokens get no weight and the rows still sum to one."),
        _q("With the causal mask on, what can the first token attend to?",
           ("Every token", "Only itself", "Only the last token", "Nothing at all"), 1,
           "There is nothing before it, so all of its weight lands on itself."),
    ),
    "cross": (
        _q("In cross-attention, where do the keys and values come from?",
           ("The same sequence as the queries", "The other sequence (e.g. the encoder's)",
            "The positional encoding", "The softmax"), 1,
           "The decoder asks (queries), the encoder answers (keys and values)."),
        _q("Must a cross-attention weight matrix be square?",
           ("Yes, always", "No: it is (decoder tokens) × (encoder tokens)",
            "Only for one head", "Only with a causal mask"), 1,
           "The two sequences can have different lengths."),
    ),
    "positions": (
        _q("If you shuffle the input tokens, plain attention without positions…",
           ("gives the same weights, shuffled the same way", "refuses to run",
            "always attends to the first token", "becomes causal"), 0,
           "Attention compares contents only; order must be added by a positional signal."),
        _q("What does RoPE do to queries and keys?",
           ("Adds noise", "Rotates pairs of features by angles that grow with position",
            "Sorts them", "Masks half of them"), 1,
           "After rotation, a query·key product depends on the distance between positions."),
    ),
    "cost": (
        _q("Doubling the input length multiplies the score computation by about…",
           ("2", "4", "8", "1"), 1,
           "The score matrix is n × n, so twice the tokens gives four times the entries."),
    ),
    "flash": (
        _q("What does flash attention avoid?",
           ("Computing the softmax",
            "Writing the full n × n weight matrix to slow GPU memory",
            "Using queries", "Getting the exact answer"), 1,
           "It streams tiles through fast on-chip memory and keeps a running max and sum."),
        _q("Compared with standard attention, flash attention's output is…",
           ("an approximation", "the same up to rounding", "always larger", "random"), 1,
           "The online softmax is exact; only the order of operations changes."),
    ),
    "kv": (
        _q("What does the KV cache store during generation?",
           ("The output text", "The keys and values of earlier tokens",
            "The attention weights", "The gradients"), 1,
           "Earlier keys and values do not change, so they are kept rather than recomputed."),
        _q("Grouped-query attention shrinks the cache by…",
           ("sharing each key/value head among several query heads",
            "dropping the values", "using fewer layers", "shortening the input"), 0,
           "With G query heads per key/value head, the cache is G times smaller than MHA's."),
    ),
    "patterns": (
        _q("With a sliding window of w tokens, the cost grows with length n as…",
           ("n²", "n · w", "w²", "constant"), 1,
           "Each of the n queries sees at most about w keys."),
        _q("What does an induction head do in a repeated sequence?",
           ("Attends to the first token only",
            "Finds where the current token appeared before and predicts what followed it",
            "Averages every token", "Masks the repetition"), 1,
           "It is a simple copy mechanism: A B … A → B."),
    ),
}  # fmt: skip


def check(lesson_id: str, index: int, choice: int) -> bool:
    """Whether ``choice`` answers question ``index`` of a lesson's quiz."""
    return QUIZZES[lesson_id][index].answer == choice


def score(lesson_id: str, answers: Sequence[int | None]) -> Score:
    """How many of a lesson's questions ``answers`` gets right (None: unanswered)."""
    questions = QUIZZES.get(lesson_id)
    if questions is None:
        raise ValueError(f"no quiz for lesson {lesson_id!r}")
    if len(answers) > len(questions):
        raise ValueError(f"{lesson_id} has {len(questions)} questions, got {len(answers)} answers")
    right = sum(a is not None and q.answer == a for q, a in zip(questions, answers, strict=False))
    return Score(right, len(questions))
