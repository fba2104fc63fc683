"""The installer for lecture machines: build the Linux bundle and .deb, run the frozen app."""

import configparser
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from PySide6 import QtGui

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "linux"


def test_pyproject_lists_every_package():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "attnviz").rglob("__init__.py")
    } | {"attnviz.resources"}
    assert listed == found


@pytest.fixture(scope="module")
def built():
    if sys.platform != "linux":
        pytest.skip("the Linux bundle is built on Linux")
    env = {**os.environ, "PYTHON": sys.executable}
    r = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build_linux.sh")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def frozen_env():
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}


@pytest.mark.packaging
def test_build_reports_sizes_and_glibc_floor(built):
    info = (BUILD / "build-info.txt").read_text()
    for key in ("bundle:", "tarball:", "deb:", "pyinstaller seconds:", "glibc floor:"):
        assert key in info
    floor = tuple(int(x) for x in re.search(r"glibc floor: ([\d.]+)", info).group(1).split("."))
    assert floor <= (2, 35), f"the bundle would not start on Ubuntu 22.04: {info}"


@pytest.mark.packaging
def test_frozen_app_info_and_headless_export(built, tmp_path):
    exe = BUILD / "dist" / "attnviz" / "attnviz"
    r = subprocess.run([str(exe), "info"], capture_output=True, text=True, env=frozen_env(),
                       timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "PySide6" in r.stdout and "backend" in r.stdout
    r = subprocess.run([str(exe), "export", "--all", str(tmp_path), "--scale", "1"],
                       capture_output=True, text=True, env=frozen_env(), timeout=300,
                       check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) >= 5
    for png in pngs:
        img = QtGui.QImage(str(png)).scaled(80, 50)
        assert len({img.pixel(x, y) for x in range(80) for y in range(50)}) > 12, png.name


@pytest.mark.packaging
def test_deb_contents_launcher_and_desktop_entry(built, tmp_path):
    deb = next(BUILD.glob("attnviz_*_amd64.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    control = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    assert "Package: attnviz" in control and "libxcb-cursor0" in control
    assert re.search(r"libc6 \(>= 2\.\d+\)", control)
    exe = tmp_path / "opt" / "attnviz" / "attnviz"
    assert exe.is_file() and os.access(exe, os.X_OK)
    launcher = tmp_path / "usr" / "bin" / "attnviz"
    assert launcher.is_symlink() and os.readlink(launcher) == "/opt/attnviz/attnviz"
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(tmp_path / "usr" / "share" / "applications" / "attnviz.desktop")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Exec"].split()[0] == "attnviz"
    assert (tmp_path / "usr/share/icons/hicolor/scalable/apps" / f"{d['Icon']}.svg").is_file()
    r = subprocess.run([str(exe), "export", "--panel", "score_heatmap", "--out",
                        str(tmp_path / "h.svg")], capture_output=True, text=True,
                       env=frozen_env(), timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "<text" in (tmp_path / "h.svg").read_text()
