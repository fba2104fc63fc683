"""One rule for values (issue 19): the session refuses what float32 cannot compute, the scene
reader accepts exactly what the session accepts, and opening a scene is all or nothing."""

from __future__ import annotations

import json
import os
import random
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnviz.state.pipeline import resolve, run
from attnviz.state.scene_file import (
    SceneFileError,
    apply_scene,
    load_scene,
    parse_scene,
    save_scene,
    scene_from_session,
)
from attnviz.state.session import MAX_VALUE, Session

HUGE = (1e308, -1e308, 1e12, -1e7, MAX_VALUE * 1.0001, float("inf"), float("nan"))


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("matrix", ["X", "Wq", "Wk", "Wv"])
def test_an_edit_float32_cannot_compute_is_refused_with_the_limit(matrix, value):
    s = Session()
    before = scene_from_session(s)
    with pytest.raises(ValueError, match=r"finite|within ±1,000,000"):
        s.add_edit(matrix, 0, 0, 0, value)
    assert scene_from_session(s) == before


@pytest.mark.parametrize("value", HUGE)
def test_a_logit_float32_cannot_compute_is_refused(value):
    s = Session()
    with pytest.raises(ValueError, match=r"finite|within ±"):
        s.logits = (1.0, value)


def test_every_cell_at_the_limit_still_computes_finite_numbers():
    """The limit is the largest that keeps every score finite: all cells at ±MAX_VALUE, the
    smallest temperature, and every number of the result is still finite."""
    s = Session()
    shapes = s.matrix_shapes()
    rng = np.random.default_rng(0)
    n, d_model = shapes["X"]
    edits = [("X", 0, r, c, MAX_VALUE) for r in range(n) for c in range(d_model)]
    for m in ("Wq", "Wk", "Wv"):
        h, d, e = shapes[m]
        edits += [(m, i, r, c, float(rng.choice([-1, 1])) * MAX_VALUE)
                  for i in range(h) for r in range(d) for c in range(e)]  # fmt: skip
    s.edits = tuple(edits)
    s.temperature = 1e-3
    s.logits = (MAX_VALUE, -MAX_VALUE, 0.0)
    r = run(resolve(s))
    for name in ("weights", "output", "weights_unmasked", "weights_causal", "logit_probs"):
        assert np.isfinite(getattr(r, name)).all(), name
    assert np.isfinite(r.q).all() and np.isfinite(r.k).all()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (("Wq", 7, 0, 0, 1.0), "head 7 does not exist"),
        (("Wk", -1, 0, 0, 1.0), "does not exist"),
        (("Wv", 0, 99, 0, 1.0), "outside the matrix"),
        (("X", 0, 0, 99, 1.0), "outside the matrix"),
        (("X", 0, 10, 0, 1.0), "outside the matrix"),  # the cat sentence has 10 tokens
        (("Wq", 0.5, 0, 0, 1.0), "whole number"),
    ],
)
def test_edits_name_heads_rows_and_columns_that_exist(edit, words):
    s = Session()
    with pytest.raises(ValueError, match=words):
        s.add_edit(*edit)
    with pytest.raises(ValueError, match=words):
        s.edits = (edit,)
    assert s.edits == ()
    run(resolve(s))  # later computations are unaffected


def test_an_edit_of_x_is_shared_by_every_head():
    s = Session()
    s.add_edit("X", 3, 1, 2, 0.5)
    s.add_edit("X", 1, 1, 2, 0.75)  # the same cell: replaces, whatever head it names
    assert s.edits == (("X", 0, 1, 2, 0.75),)


def test_text_longer_than_a_scene_can_hold_is_refused():
    s = Session()
    with pytest.raises(ValueError, match="too long"):
        s.text = "a " * 60_000
    assert s.scene == "cat"


# -- a scene that can be saved can be reopened ---------------------------------------------
values = st.floats(-MAX_VALUE, MAX_VALUE, allow_nan=False)


@st.composite
def sessions(draw):
    s = Session()
    s.scene = draw(st.sampled_from(["cat", "game", "qkv4", "free"]))
    if s.scene == "free" or draw(st.booleans()):
        words = draw(st.lists(st.sampled_from(["the", "cat", "sat", "x" * 40, "é"]), min_size=1,
                              max_size=12))  # fmt: skip
        s.text = " ".join(words)
    s.head = draw(st.integers(0, s.n_heads - 1))
    s.selected_token = draw(st.integers(0, len(s.tokens) - 1))
    s.temperature = draw(st.floats(1e-3, 1e3))
    s.causal = draw(st.booleans())
    s.window = draw(st.one_of(st.none(), st.integers(0, 1_000_000)))
    s.logits = tuple(draw(st.lists(values, min_size=1, max_size=32)))
    shapes = s.matrix_shapes()
    for _ in range(draw(st.integers(0, 5))):
        m = draw(st.sampled_from(["X", "Wq", "Wk", "Wv"]))
        shape = shapes[m] if m == "X" else shapes[m][1:]
        head = 0 if m == "X" else draw(st.integers(0, shapes[m][0] - 1))
        s.add_edit(m, head, draw(st.integers(0, shape[0] - 1)),
                   draw(st.integers(0, shape[1] - 1)), draw(values))  # fmt: skip
    return s


@given(sessions())
def test_every_session_that_can_be_saved_reopens_as_saved(s):
    doc = json.dumps(json.loads(_save_text(s)))
    fresh = Session()
    apply_scene(fresh, parse_scene(doc))
    assert scene_from_session(fresh) == scene_from_session(s)
    assert fresh.tokens == s.tokens


def _save_text(s: Session) -> str:
    from attnviz.state.scene_file import _to_json

    return _to_json(scene_from_session(s))


def test_qkv_by_hand_survives_save_and_reopen_after_typed_text(tmp_path):
    s = Session()
    s.text = "a dog chased the ball"  # typed first: the scene becomes free text
    s.scene = "qkv4"
    s.selected_token = 3
    fresh = Session()
    apply_scene(fresh, load_scene(save_scene(s, tmp_path / "q.attnviz")))
    assert (fresh.scene, fresh.tokens, fresh.selected_token) == ("qkv4", s.tokens, 3)


def test_qkv_scene_saved_by_an_older_version_with_a_stray_text_opens(tmp_path):
    """Files saved before the fix hold the last typed text beside scene qkv4."""
    doc = json.loads(save_scene(Session(), tmp_path / "g.attnviz").read_text())
    doc.update(scene="qkv4", text="a dog chased the ball", selected_token=1, head=0, edits=[])
    path = tmp_path / "old.attnviz"
    path.write_text(json.dumps(doc))
    s = Session()
    apply_scene(s, load_scene(path))
    assert (s.scene, s.tokens, s.selected_token) == ("qkv4", ("I", "love", "this", "game"), 1)


# -- all or nothing --------------------------------------------------------------------------
def test_a_failing_listener_cannot_leave_the_session_half_changed(tmp_path):
    """Opening writes every field before any event is emitted."""
    src = Session()
    src.scene = "game"
    src.head, src.selected_token, src.temperature = 1, 3, 2.0
    path = save_scene(src, tmp_path / "g.attnviz")
    s = Session()

    def boom(*_):
        raise RuntimeError("a listener failed")

    s.events.scene.connect(boom)
    with pytest.raises(Exception, match="a listener failed"):
        apply_scene(s, load_scene(path))
    s.events.scene.disconnect(boom)
    assert scene_from_session(s) == scene_from_session(src)


def test_opening_keeps_the_sessions_backend(tmp_path):
    path = save_scene(Session(), tmp_path / "b.attnviz")
    s = Session(backend="numpy")
    apply_scene(s, load_scene(path))
    assert s.backend == "numpy"


def mutate(text: str, rng: random.Random) -> str:
    """One random damage: a changed character, a cut, a number replaced, a value swapped."""
    kind = rng.randrange(5)
    if kind == 0 and text:
        i = rng.randrange(len(text))
        return text[:i] + rng.choice('0123456789{}[]",:-.eE nulltrue\x00é') + text[i + 1 :]
    if kind == 1:
        return text[: rng.randrange(len(text) + 1)]
    doc = json.loads(text)
    key = rng.choice(sorted(k for k in doc if k not in ("format", "layout")))
    doc[key] = rng.choice([
        None, True, -1, 0, 3, 99, 10**30, 1e-320, 1e308, -1e12, 2.5, "", "cat", "x" * 200,
        [], [1.0] * 40, [["Wq", 9, 0, 0, 1.0]], [["X", 0, 0, 0, 1e300]], {}, {"kv_cache": {}},
        {"kv_cache": {"seq_len": 1e300}}, {"attention_patterns": {"n": 8, "w": 9}},
    ])  # fmt: skip
    return json.dumps(doc)


@pytest.mark.parametrize("seed", range(4))
def test_fuzzed_scene_files_load_or_are_refused_and_nothing_is_half_applied(tmp_path, seed):
    rng = random.Random(seed)
    src = Session()
    src.scene = "game"
    src.add_edit("Wk", 2, 1, 0, 0.5)
    base = save_scene(src, tmp_path / "base.attnviz").read_text()
    s = Session()
    s.text = "the quick brown fox"
    opened = refused = 0
    for i in range(60):
        text = base
        for _ in range(rng.randrange(3)):
            try:
                text = mutate(text, rng)
            except json.JSONDecodeError:
                break  # already damaged beyond JSON: keep it as it is
        before = scene_from_session(s)
        try:
            sf = parse_scene(text, f"fuzz {i}")
            apply_scene(s, sf)
        except SceneFileError:
            refused += 1
            assert scene_from_session(s) == before, text
            continue
        opened += 1
        assert scene_from_session(s).scene == sf.scene
        run(resolve(s))  # whatever opened also computes
    assert opened > 5 and refused > 5, (opened, refused)  # both outcomes exercised


def test_a_fifo_or_device_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.attnviz"
    os.mkfifo(fifo)
    outcome: list[object] = []

    def open_it(path):
        try:
            load_scene(path)
        except SceneFileError as exc:
            outcome.append(str(exc))

    for path in (fifo, "/dev/zero", tmp_path):
        t = threading.Thread(target=open_it, args=(path,), daemon=True)
        t.start()
        t.join(10)
        assert not t.is_alive(), f"opening {path} blocked"
    assert len(outcome) == 3 and all("not a regular file" in m for m in outcome), outcome
