"""Writes the parity table (every comparison with transformers and its largest difference)
when ATTNVIZ_PARITY_TABLE names a file: ``ATTNVIZ_PARITY_TABLE=parity.md pytest tests/models``."""

from __future__ import annotations

import os
from pathlib import Path


def pytest_sessionfinish(session, exitstatus) -> None:
    path = os.environ.get("ATTNVIZ_PARITY_TABLE")
    if not path:
        return
    from tests.models.builders import PARITY

    lines = ["| test | attention | max abs difference |", "|---|---|---|"]
    lines += [f"| {test} | {what} | {diff:.1e} |" for test, what, diff in PARITY]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
