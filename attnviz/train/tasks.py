"""What the tiny transformer learns: induction, copy, reverse and sort, over a vocabulary of
letters, and the head scores the interpretability literature uses to find induction heads.

Every sequence starts with ``<s>``. A batch is (ids, targets, weights): targets are the next
token at each position, weights say which positions the loss counts.

References
----------
- Olsson et al., "In-context Learning and Induction Heads", Transformer Circuits Thread, 2022:
  repeated random tokens, the previous-token and induction scores.
- Elhage et al., "A Mathematical Framework for Transformer Circuits", 2021.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

__all__ = ["TASKS", "Batch", "Task", "get_task", "head_scores", "repeated_probe"]

BOS, SEP = "<s>", "|"


@dataclass(frozen=True)
class Batch:
    ids: np.ndarray  # (B, L) int64
    targets: np.ndarray  # (B, L): the next token (the last position's is a placeholder)
    weights: np.ndarray  # (B, L): 1 where the loss counts
    # induction: True where the next token lies in the repeat and can be found by looking back
    repeat: np.ndarray | None = None


@dataclass(frozen=True)
class Task:
    """A task: its vocabulary (``<s>``, ``|``, then ``letters`` letters), the length of its
    sequences, and what it says of itself."""

    name: str
    title: str
    about: str  # one paragraph, for the Training panel
    letters: int = 16
    length: int = 8  # random letters per sequence (each half of an induction sequence)

    @property
    def vocab(self) -> tuple[str, ...]:
        return (BOS, SEP, *string.ascii_lowercase[: self.letters])

    @property
    def seq_len(self) -> int:
        """Tokens per sequence: <s> and two halves (a separator between them, except
        induction's repeat)."""
        return 1 + 2 * self.length + (self.name != "induction")

    def batch(self, rng: np.random.Generator, size: int) -> Batch:
        n, first = self.length, 2  # letter ids start after <s> and |
        letters = rng.integers(first, first + self.letters, size=(size, n))
        bos = np.zeros((size, 1), dtype=np.int64)
        if self.name == "induction":
            # A repeat of random length m (n/2 … n) after 2(n - m) filler letters: the offset
            # to look back varies, so only matching the letter finds it (not its position).
            ids = np.concatenate([bos, letters, letters], axis=1)
            m = rng.integers((n + 1) // 2, n + 1, size=size)
            repeat = np.zeros(ids.shape, dtype=bool)
            for row, k in enumerate(m):
                fill = rng.integers(first, first + self.letters, size=2 * (n - k))
                seg = letters[row, :k]
                ids[row, 1:] = np.concatenate([fill, seg, seg])
                repeat[row, 2 * n - k + 1 : 2 * n] = (
                    True  # its 1st … (k-1)th letter: predict the next
                )
            weights = np.ones_like(ids, dtype=np.float64)
        else:
            second = {"copy": letters, "reverse": letters[:, ::-1],
                      "sort": np.sort(letters, axis=1)}[self.name]  # fmt: skip
            sep = np.ones((size, 1), dtype=np.int64)
            ids = np.concatenate([bos, letters, sep, second], axis=1)
            weights = np.zeros_like(ids, dtype=np.float64)
            weights[:, n + 1 : -1] = 1.0  # from the separator on: predict the answer
        weights[:, -1] = 0.0  # the last token has no next one
        targets = np.concatenate([ids[:, 1:], ids[:, -1:]], axis=1)
        if self.name != "induction":
            return Batch(ids.astype(np.int64), targets.astype(np.int64), weights)
        return Batch(ids.astype(np.int64), targets.astype(np.int64), weights, repeat)

    def text(self, ids: np.ndarray) -> str:
        return " ".join(self.vocab[int(i)] for i in ids)


TASKS: dict[str, Task] = {
    "induction": Task(
        "induction", "Induction (repeated random letters)",
        "Each sequence holds four to eight random letters, then the same letters again (after "
        "filler letters, so the distance varies). The first copy cannot be predicted, the "
        "repeat can, but only by looking back: find where the "
        "current letter appeared before and copy the letter that followed it. A two-layer "
        "attention-only model learns this with an induction head in its second layer, "
        "reading what the first layer moved (in the classic circuit, a previous-token head); "
        "the loss inside the repeat drops as the induction head forms.",
    ),
    "copy": Task(
        "copy", "Copy",
        "Eight random letters, a separator, then the same letters again: after the "
        "separator the model must copy the sequence. The distance back is always the same, "
        "so one layer suffices: a head that attends to the letter at the same offset in the "
        "first half, found by position alone, with no induction head needed.",
    ),
    "reverse": Task(
        "reverse", "Reverse",
        "Eight random letters, a separator, then the letters backwards: each answer letter "
        "attends to its mirror position in the first half, which moves one step back for "
        "every letter written. Watch the heatmap's anti-diagonal appear as the model learns "
        "to count back from the separator.",
    ),
    "sort": Task(
        "sort", "Sort",
        "Eight random letters, a separator, then the same letters in alphabetical order: "
        "each answer letter must find the smallest letter not yet written, which needs "
        "attention that compares letters, not positions. It is the hardest of the four and "
        "learns slowest; an MLP and more heads help.",
    ),
}  # fmt: skip


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]


def repeated_probe(task: Task, seed: int = 12345) -> np.ndarray:
    """<s>, n random letters, the same n again: the probe the head scores read. The letters
    of a copy are all different (where there are enough), so each has one earlier occurrence
    and the score is not split between two right answers."""
    rng = np.random.default_rng(seed)
    distinct = task.letters >= task.length
    letters = 2 + rng.choice(task.letters, size=task.length, replace=not distinct)
    return np.concatenate([[0], letters, letters]).astype(np.int64)


def head_scores(attentions: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(previous-token, induction) scores, each (layers, heads), of attention on a repeated
    probe (<s>, n tokens, the same n): the mean weight from each token to the one before it
    (positions 2 … 2n), and from each token of the repeat to the one after its first
    occurrence (position n + j to j + 1, j = 1 … n - 1)."""
    prev, ind = [], []
    j = np.arange(1, n)
    for w in attentions:  # (H, L, L) or (1, H, L, L)
        w = w.reshape(w.shape[-3:])
        rows = np.arange(2, 2 * n + 1)
        prev.append(w[:, rows, rows - 1].mean(-1))
        ind.append(w[:, n + j, j + 1].mean(-1))
    return np.stack(prev), np.stack(ind)
