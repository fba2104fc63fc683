"""The `attnviz` command: info without a window, and the app's offscreen self-check."""

import os
import subprocess
import sys


def run(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "attnviz", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_info_reports_versions_backend_and_gpu():
    r = run("info", env_extra={"ATTNVIZ_BACKEND": "numpy"})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for word in ("attnviz", "Python", "NumPy", "Qt", "PySide6", "backend", "GPU"):
        assert word in out, out
    assert "numpy: ATTNVIZ_BACKEND=numpy" in out


def test_info_needs_no_display():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run(
        [sys.executable, "-m", "attnviz", "info"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr


def test_gui_check_builds_the_window_offscreen():
    r = run("gui", "--check", env_extra={"QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    assert "main window built offscreen" in r.stdout


def test_gui_check_writes_no_settings(tmp_path):
    """Issue 15: the headless check saved an 800×800 window and its layout into the user's
    settings, and the first real launch opened that way. Qt's settings live under
    XDG_CONFIG_HOME (or HOME/.config); both point into an empty folder here."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config")}  # fmt: skip
    r = run("gui", "--check", env_extra=env)
    assert r.returncode == 0, r.stderr
    written = [p for p in home.rglob("*") if p.is_file()]
    assert written == [], written
    # The app proper does write there (so the check above can fail).
    code = (
        "from PySide6 import QtWidgets; from attnviz.gui.window import MainWindow;"
        "app = QtWidgets.QApplication(['attnviz']); app.setOrganizationName('attnviz');"
        "app.setApplicationName('attnviz'); w = MainWindow(); w.show(); app.processEvents();"
        "w.close()"
    )
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    assert [p for p in home.rglob("*") if p.is_file()]


def test_no_display_gives_a_message_not_a_crash():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    r = subprocess.run(
        [sys.executable, "-m", "attnviz"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2
    assert "no display" in r.stderr
