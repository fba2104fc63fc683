"""Saved scenes (.attnviz): round trip, and every bad file refused with the session intact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from attnviz.state.scene_file import (
    SCHEMA_VERSION,
    SceneFileError,
    apply_scene,
    load_scene,
    save_scene,
    scene_from_session,
)
from attnviz.state.session import Session

TOKENS = ["the", "cat", "sat", "on", "the", "mat"]


def changed_session() -> Session:
    s = Session()
    s.scene = "game"
    s.head = 1
    s.selected_token = 3
    s.temperature = 2.5
    s.causal = True
    s.window = 2
    s.logits = (1.0, -2.0, 0.5)
    s.add_edit("Wq", 1, 0, 1, 0.25)
    s.view_params["kv_cache"].seq_len = 2048
    s.view_params["flash_attention"].dtype = "fp32"
    return s


def test_round_trip_gives_identical_fields(tmp_path):
    s = changed_session()
    path = save_scene(s, tmp_path / "talk.attnviz", layout=b"\x00layout\xff")
    sf = load_scene(path)
    assert sf.version == SCHEMA_VERSION and sf.layout == b"\x00layout\xff"
    fresh = Session()
    apply_scene(fresh, sf)
    assert scene_from_session(fresh) == scene_from_session(s)
    assert fresh.tokens == s.tokens and fresh.edits == s.edits


def test_free_text_round_trip(tmp_path):
    s = Session()
    s.text = "a dog chased the ball"
    s.selected_token = 4
    fresh = Session()
    apply_scene(fresh, load_scene(save_scene(s, tmp_path / "t.attnviz")))
    assert (fresh.scene, fresh.text, fresh.selected_token) == ("free", s.text, 4)


def test_attention_file_round_trip(tmp_path):
    a = np.full((2, 3, 6, 6), 1 / 6, np.float32)
    npz = tmp_path / "a.npz"
    np.savez(npz, attention=a, tokens=np.array(TOKENS))
    s = Session()
    s.attention_path = str(npz)
    s.layer, s.head, s.selected_token = 1, 2, 5
    fresh = Session()
    apply_scene(fresh, load_scene(save_scene(s, tmp_path / "f.attnviz")))
    assert scene_from_session(fresh) == scene_from_session(s)


def write(tmp_path: Path, doc_or_text, name: str = "bad.attnviz") -> Path:
    p = tmp_path / name
    text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text)
    p.write_text(text, encoding="utf-8")
    return p


def good_doc(tmp_path: Path) -> dict:
    return json.loads(save_scene(Session(), tmp_path / "good.attnviz").read_text())


def hostile_docs(tmp_path: Path) -> dict[str, tuple[object, str]]:
    d = good_doc(tmp_path)
    home_outside = "/etc/attnviz-model"
    return {
        "future version": ({**d, "version": SCHEMA_VERSION + 1}, "newer attnviz"),
        "version as text": ({**d, "version": "1"}, "schema version"),
        "not a scene": ({"hello": 1}, "not an attnviz scene"),
        "a list": ([1, 2, 3], "not an attnviz scene"),
        "head as text": ({**d, "head": "2"}, "“head” must be a whole number"),
        "head as bool": ({**d, "head": True}, "“head” must be a whole number"),
        "huge head": ({**d, "head": 10**30}, "head must lie in"),
        "head out of range": ({**d, "head": 99}, "head must lie in"),
        "huge temperature": ({**d, "temperature": 1e300}, "temperature must lie in"),
        "infinite temperature": (
            json.dumps(d).replace('"temperature": 1.0', '"temperature": 1e400'),
            "out of range",
        ),
        "edit of a missing head": ({**d, "edits": [["Wq", 99, 0, 0, 1.0]]}, "does not exist"),
        "edit outside X": ({**d, "edits": [["X", 0, 500, 0, 1.0]]}, "outside the matrix"),
        "edit too large": ({**d, "edits": [["Wk", 0, 0, 0, 1e12]]}, "must lie within"),
        "logit too large": ({**d, "logits": [1.0, 1e308]}, "must lie within"),
        "window too large": ({**d, "window": 10**12}, "window must be at most"),
        "bad temperature": ({**d, "temperature": 1e6}, "temperature must lie in"),
        "causal as number": ({**d, "causal": 1}, "true or false"),
        "unknown scene": ({**d, "scene": "nope"}, "unknown scene"),
        "missing text": ({k: v for k, v in d.items() if k != "text"}, "“text” must be text"),
        "relative model": ({**d, "model_path": "models/bert"}, "absolute path"),
        "dotdot model": ({**d, "model_path": "/tmp/../etc/x"}, "“..”"),
        "outside model": ({**d, "model_path": home_outside}, "outside your folders"),
        "outside attention": ({**d, "attention_path": "/etc/passwd"}, "outside your folders"),
        "missing model": ({**d, "model_path": str(tmp_path / "gone")}, "is missing"),
        "model not a folder": ({**d, "model_path": 5}, "must be text"),
        "bad layout": ({**d, "layout": "%%%"}, "base64"),
        "unknown panel": ({**d, "view_params": {"nope": {"x": 1}}}, "nope"),
        "unknown setting": ({**d, "view_params": {"kv_cache": {"x": 1}}}, "no setting"),
        "bad setting": ({**d, "view_params": {"kv_cache": {"seq_len": -5}}}, "seq_len"),
        "nested setting": ({**d, "view_params": {"kv_cache": {"seq_len": [1]}}}, "must be"),
        "bad edit": ({**d, "edits": [["Wz", 0, 0, 0, 1.0]]}, "matrix must be"),
        "nan": (json.dumps(d).replace('"temperature": 1.0', '"temperature": NaN'), "NaN"),
        "truncated": (json.dumps(d)[:40], "cut short"),
        "empty": ("", "cut short"),
        "deep nesting": ("[" * 100_000 + "]" * 100_000, "cannot be read"),
    }


def test_hostile_files_are_refused_and_the_session_is_untouched(tmp_path):
    s = changed_session()
    before = scene_from_session(s)
    for label, (doc, words) in hostile_docs(tmp_path).items():
        path = write(tmp_path, doc, f"{label.replace(' ', '_')}.attnviz")
        with pytest.raises(SceneFileError) as info:
            apply_scene(s, load_scene(path))
        assert words in str(info.value), (label, str(info.value))
        assert scene_from_session(s) == before, label


def test_unreadable_binary_and_oversized_files(tmp_path):
    (tmp_path / "b.attnviz").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SceneFileError, match="not UTF-8"):
        load_scene(tmp_path / "b.attnviz")
    with pytest.raises(SceneFileError, match="cannot read"):
        load_scene(tmp_path / "absent.attnviz")
    (tmp_path / "big.attnviz").write_bytes(b" " * (5 * 2**20))
    with pytest.raises(SceneFileError, match="too large"):
        load_scene(tmp_path / "big.attnviz")


def test_a_failed_save_leaves_the_old_file_whole(tmp_path):
    path = save_scene(Session(), tmp_path / "keep.attnviz")
    text = path.read_text()
    with pytest.raises(SceneFileError):
        save_scene(Session(), tmp_path / "no" / "such" / "folder" / "x.attnviz")
    with pytest.raises(SceneFileError):
        save_scene(Session(), tmp_path)  # a folder
    assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
