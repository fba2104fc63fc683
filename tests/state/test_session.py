"""The evented session: validation on assignment, derived fields, events named after fields."""

import pytest

from attnviz.lessons.toy_model import MAX_TOKENS
from attnviz.state.session import SEED_LOGITS, Session


@pytest.fixture
def session():
    return Session()


def test_defaults_show_the_cat_sentence_on_the_pronoun_head(session):
    assert session.tokens[session.selected_token] == "it"
    assert session.head == 2 and session.n_heads == 4
    assert session.logits == SEED_LOGITS


def test_typing_text_switches_to_free_text_and_retokenises(session):
    seen = []
    session.events.connect(lambda info: seen.append(info.signal.name))
    session.text = "Attention is all you need"
    assert session.scene == "free"
    assert session.tokens == ("Attention", "is", "all", "you", "need")
    assert session.selected_token < 5
    assert {"text", "tokens", "scene"} <= set(seen)
    assert seen.count("text") == 1


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("text", "", "empty"),
        ("text", "   \n ", "empty"),
        ("text", "w " * (MAX_TOKENS + 1), f"at most {MAX_TOKENS:,}"),
        ("temperature", 0, "temperature must be > 0"),
        ("temperature", float("nan"), "finite"),
        ("temperature", 1e9, "must lie in"),
        ("head", 4, r"head must lie in \[0, 3\]"),
        ("head", 1.5, "whole number"),
        ("selected_token", 10, "selected_token must lie in"),
        ("window", -1, "window must be"),
        ("backend", "tpu", "backend must be one of"),
        ("logits", (1.0, float("nan")), "finite"),
        ("logits", (), "between 1 and"),
        ("scene", "nope", "unknown scene"),
        ("tokens", ("a",), "follows the text"),
        ("edits", (("X", 0, 0, 0, float("nan")),), "finite"),
        ("edits", (("Wz", 0, 0, 0, 1.0),), "matrix must be one of"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(session, field, value, match):
    before = {f: getattr(session, f) for f in ("text", "tokens", "temperature", "head", "scene")}
    events = []
    session.events.connect(lambda info: events.append(info.signal.name))
    with pytest.raises(ValueError, match=match):
        setattr(session, field, value)
    assert {f: getattr(session, f) for f in before} == before
    assert events == []


def test_emoji_and_right_to_left_text_tokenise(session):
    session.text = "I ❤️ אהבה 🙂 !"
    assert "אהבה" in session.tokens and "🙂" in session.tokens


def test_scene_change_resets_head_token_and_edits(session):
    session.add_edit("X", 0, 0, 0, 5.0)
    session.scene = "qkv4"
    assert session.tokens == ("I", "love", "this", "game")
    assert session.n_heads == 1 and session.head == 0 and session.edits == ()


def test_add_edit_replaces_the_same_cell(session):
    session.add_edit("Wq", 1, 2, 3, 1.0)
    session.add_edit("Wq", 1, 2, 3, 2.0)
    session.add_edit("Wq", 2, 2, 3, 7.0)
    assert session.edits == (("Wq", 1, 2, 3, 2.0), ("Wq", 2, 2, 3, 7.0))
