"""The CPU backend: the compute core on NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from attnviz.core._problem import Problem
from attnviz.core.attention import Method, run_problem

NAME = "numpy"  # a Backend (attnviz.backends.Backend): NAME, describe(), run(problem, …)


def describe() -> str:
    """One line for `attnviz info` and the status bar."""
    return f"NumPy {np.__version__} on the CPU"


def run(p: Problem, method: Method, return_weights: bool) -> tuple[Any, Any | None]:
    """Compute a checked problem on NumPy arrays; returns (output, weights or None)."""
    return run_problem(p, method, return_weights)
