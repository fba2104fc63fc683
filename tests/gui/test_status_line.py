"""One status message at a time (issue 12, item 4): busy work never replaces or clears what the
status bar is saying; the newest message replaces the last."""

from __future__ import annotations

import pytest

from attnviz.gui.lifetime import settle


@pytest.fixture
def window(make_window):
    return make_window(size=None)


def test_a_refusal_outlives_the_computation_that_follows_it(window):
    window.show_error("there are 4 heads; key 9 has none")
    busy = []
    window.controller.busy_changed.connect(
        lambda b: busy.append(
            (b, window.statusBar().currentMessage(), window.status_backend.text())
        )
    )
    window.session.temperature = 0.5
    settle(100)  # past the controller's throttle: the computation starts and ends
    window.controller.wait()
    settle()
    assert busy and busy[0][0] is True
    assert all(message == "there are 4 heads; key 9 has none" for _, message, _ in busy)
    assert busy[0][2].startswith("Computing… · ")  # said in the backend line instead
    assert window.statusBar().currentMessage() == "there are 4 heads; key 9 has none"
    assert window.status_backend.text().startswith("NumPy")  # done: the backend line alone


def test_the_newest_message_replaces_the_last(window):
    window.say("Saved scene a.json", 8000)
    window.show_error("Could not compute: out of memory")
    assert window.statusBar().currentMessage() == "Could not compute: out of memory"


def test_the_backend_line_names_numpy_after_the_gpu_fails_mid_run(window, monkeypatch):
    """Issue 14: after a GPU fall-back the status bar said "CuPy (GPU)" for NumPy's numbers."""
    from attnviz import backends
    from attnviz.backends import cupy_backend

    def broken(*args, **kwargs):
        raise RuntimeError("cudaErrorLaunchFailure: unspecified launch failure")

    monkeypatch.setattr(backends, "_probe_cupy", lambda: (True, "CuPy 14, NVIDIA H200 (sm_90)"))
    monkeypatch.setattr(backends, "_last_fallback", None)
    monkeypatch.setattr(cupy_backend, "run", broken)
    assert window.session.backend == "auto"
    window.session.temperature = 0.5  # computed again, now on the "GPU"
    settle(100)
    window.controller.wait()
    settle()
    assert window.status_backend.text().startswith("NumPy (CPU)")
    assert "GPU run failed" in window.status_backend.toolTip()
