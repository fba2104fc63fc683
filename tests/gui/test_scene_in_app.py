"""Saved scenes in the app: File menu, recent files, layout, refusals, and the command line."""

from __future__ import annotations

import json

from attnviz.cli import main
from attnviz.state.scene_file import save_scene, scene_from_session
from attnviz.state.session import Session


def test_save_then_open_restores_session_and_layout(qtbot, window, tmp_path):
    s = window.session
    s.scene = "game"
    s.head = 1
    s.temperature = 0.5
    s.view_params["kv_cache"].seq_len = 1024
    window.docks["kv_cache"].hide()
    saved = scene_from_session(s)
    path = window.save_scene(tmp_path / "talk.attnviz")
    assert path is not None and path.exists()
    s.scene = "cat"
    s.temperature = 2.0
    s.view_params["kv_cache"].seq_len = 4096
    window.docks["kv_cache"].show()
    assert window.open_scene(path)
    assert scene_from_session(s) == saved
    assert window.docks["kv_cache"].isHidden()
    assert window.head_box.currentIndex() == 1
    assert window.recent_scenes()[0] == str(path.resolve())


def game() -> Session:
    s = Session()
    s.scene = "game"
    return s


def test_recent_menu_lists_and_opens(qtbot, window, tmp_path):
    a = save_scene(game(), tmp_path / "a.attnviz")
    b = save_scene(Session(), tmp_path / "b.attnviz")
    assert window.open_scene(a) and window.open_scene(b)
    window._fill_recent()
    names = [act.text() for act in window.recent_menu.actions()]
    assert names[:2] == ["b.attnviz", "a.attnviz"]
    window.recent_menu.actions()[1].trigger()
    assert window.session.scene == "game"


def test_a_bad_scene_is_refused_in_the_status_bar(qtbot, window, tmp_path):
    bad = tmp_path / "bad.attnviz"
    doc = json.loads(save_scene(Session(), tmp_path / "ok.attnviz").read_text())
    bad.write_text(json.dumps({**doc, "version": 99}))
    window.session.temperature = 3.0
    before = scene_from_session(window.session)
    assert not window.open_scene(bad)
    assert "newer attnviz" in window.statusBar().currentMessage()
    assert scene_from_session(window.session) == before
    assert str(bad.resolve()) not in window.recent_scenes()


def test_export_a_scene_file_headless(tmp_path, capsys):
    s = game()
    s.head = 2
    scene = save_scene(s, tmp_path / "s.attnviz")
    out = tmp_path / "out"
    assert main(["export", "--scene-file", str(scene), "--all", str(out), "--data", "json"]) == 0
    data = json.loads((out / "token_attention.json").read_text())
    assert data and len(list(out.iterdir())) >= 10
    capsys.readouterr()
    bad = tmp_path / "bad.attnviz"
    bad.write_text("{")
    assert main(["export", "--scene-file", str(bad), "--all", str(out)]) == 2
    assert "cut short" in capsys.readouterr().err


def test_top_level_scene_argument_opens_the_app(tmp_path, monkeypatch):
    seen = {}

    def fake_run_app(qt_args, check=False, scene=None):
        seen.update(qt_args=qt_args, check=check, scene=scene)
        return 0

    monkeypatch.setattr("attnviz.gui.app.run_app", fake_run_app)
    assert main(["talk.attnviz"]) == 0
    assert seen == {"qt_args": [], "check": False, "scene": "talk.attnviz"}
    assert main(["gui", "--check", "x.attnviz"]) == 0
    assert seen["scene"] == "x.attnviz" and seen["check"]
