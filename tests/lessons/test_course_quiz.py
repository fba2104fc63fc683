"""The course outline and quizzes: valid against the real panels and session, scored right."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import attnviz.gui.panels as panels_pkg
from attnviz.cli import main
from attnviz.lessons.course import COURSE, STEP_DEFAULTS, get_lesson, outline
from attnviz.lessons.quiz import QUIZZES, check, score
from attnviz.state.session import Session

PANEL_IDS = {  # a module per panel, as all_panels() finds them (private modules are parts)
    p.stem for p in Path(panels_pkg.__file__).parent.glob("*.py")
    if p.stem != "base" and not p.stem.startswith("_")
}  # fmt: skip
SESSION_FIELDS = {f.name for f in dataclasses.fields(Session)}
CURRICULUM = ("what", "qkv", "scores", "softmax", "temperature", "heads", "causal", "cross",
              "positions", "cost", "flash", "kv", "patterns")  # fmt: skip


def test_the_course_follows_the_curriculum_in_order():
    assert tuple(lesson.lesson_id for lesson in COURSE) == CURRICULUM
    assert len(PANEL_IDS) == 13


def test_every_step_names_real_panels_and_session_fields():
    shown = set()
    for lesson in COURSE:
        assert lesson.steps and lesson.title
        for step in lesson.steps:
            assert step.title and 80 <= len(step.text) <= 600, step.title
            assert step.panels and set(step.panels) <= PANEL_IDS, step.panels
            assert set(step.full_settings()) <= SESSION_FIELDS, step.settings
            shown.update(step.panels)
            # Each step's settings are accepted by a fresh session, in the lesson bar's order.
            s = Session()
            settings = step.full_settings()
            s.scene = settings.pop("scene")
            for name in ("causal", "temperature", "window", "head", "selected_token"):
                if name in settings:
                    setattr(s, name, settings.pop(name))
            assert not settings
    assert shown == PANEL_IDS  # the course visits every panel
    assert set(STEP_DEFAULTS) <= SESSION_FIELDS


def test_get_lesson():
    assert get_lesson("causal").title == "Causal masking"
    with pytest.raises(ValueError, match="unknown lesson"):
        get_lesson("nope")


def test_lessons_command_prints_the_outline(capsys):
    assert main(["lessons"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1:] == outline()
    assert re.search(r"^ 1\. What attention is", out, re.M)
    assert "13. Sparse patterns and induction heads" in out and "flash_attention" in out


def test_every_lesson_has_a_quiz_with_valid_answers():
    assert set(QUIZZES) == set(CURRICULUM)
    for lid, questions in QUIZZES.items():
        assert questions, lid
        for q in questions:
            assert len(q.choices) >= 3 and 0 <= q.answer < len(q.choices), q.prompt
            assert q.explanation and len(set(q.choices)) == len(q.choices)


def test_quiz_scoring():
    qs = QUIZZES["causal"]
    right = [q.answer for q in qs]
    wrong = [(q.answer + 1) % len(q.choices) for q in qs]
    assert score("causal", right).correct == len(qs) == score("causal", right).total
    assert score("causal", wrong).correct == 0
    assert score("causal", [right[0], None]).correct == 1
    assert score("causal", []).fraction == 0
    assert str(score("causal", right)) == f"{len(qs)} of {len(qs)} right"
    assert check("causal", 0, right[0]) and not check("causal", 0, wrong[0])
    with pytest.raises(ValueError, match="no quiz"):
        score("nope", [])
    with pytest.raises(ValueError, match="answers"):
        score("causal", [0] * (len(qs) + 1))
