"""Each panel runs alone: built from its own controller, it draws real pixels."""

import os
import subprocess
import sys

import pytest

from attnviz.gui.controller import Controller
from attnviz.gui.panels import all_panels

PANELS = all_panels()


@pytest.mark.parametrize("panel_id", sorted(PANELS))
def test_panel_runs_alone_and_is_not_blank(qtbot, panel_id):
    controller = Controller()
    panel = PANELS[panel_id](controller)
    qtbot.addWidget(panel)
    panel.resize(900, 650)
    controller.compute_now()
    panel.show()
    qtbot.waitExposed(panel)
    img = panel.grab().toImage().scaled(60, 40)
    colours = {img.pixel(x, y) for x in range(60) for y in range(40)}
    assert len(colours) > 20, f"{panel_id} looks blank"
    assert panel.result is controller.latest


@pytest.mark.parametrize("panel_id", ["score_heatmap"])
def test_python_dash_m_opens_the_panel(panel_id):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [sys.executable, "-m", f"attnviz.gui.panels.{panel_id}"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        proc.wait(timeout=4)
        pytest.fail(f"the panel exited early: {proc.stderr.read()}")
    except subprocess.TimeoutExpired:
        pass  # still running its event loop: it opened
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
