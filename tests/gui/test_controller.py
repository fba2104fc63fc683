"""The controller against plain fakes: throttling, worker thread, stale results dropped."""

import threading
import time

from attnviz.gui.controller import Controller
from attnviz.state.pipeline import run
from attnviz.state.session import Session


def counting_controller(throttle_ms: int) -> tuple[Controller, list[float]]:
    """A controller of a fresh session whose computations note their temperature."""
    calls: list[float] = []

    def compute(req):
        calls.append(req.temperature)
        return run(req)

    return Controller(Session(), compute=compute, throttle_ms=throttle_ms), calls


def test_slider_burst_is_throttled_into_few_computations(qtbot):
    c, calls = counting_controller(throttle_ms=50)
    with qtbot.waitSignal(c.result_ready, timeout=5000):
        for i in range(1, 40):
            c.session.temperature = 1 + i / 100
    qtbot.wait(200)
    c.wait()
    assert 1 <= len(calls) <= 3
    assert c.latest.request.temperature == c.session.temperature


def test_compute_runs_off_the_gui_thread(qtbot):
    threads = []

    def compute(req):
        threads.append(threading.current_thread())
        return run(req)

    c = Controller(Session(), compute=compute, throttle_ms=1)
    with qtbot.waitSignal(c.result_ready, timeout=5000):
        c.session.temperature = 2.0
    assert threads and threads[0] is not threading.main_thread()


def test_stale_results_are_dropped(qtbot):
    def slow_for_low_t(req):
        # The first request (T = 0.5) is slow; the second (T = 3) overtakes it.
        if req.temperature < 1:
            time.sleep(0.6)
        return run(req)

    c = Controller(Session(), compute=slow_for_low_t, throttle_ms=1)
    delivered = []
    c.result_ready.connect(lambda r: delivered.append(r.request.temperature))
    c.session.temperature = 0.5
    qtbot.wait(50)
    c.session.temperature = 3.0
    qtbot.waitUntil(lambda: c.dropped == 1, timeout=5000)
    c.wait()
    assert delivered == [3.0]
    assert c.latest.request.temperature == 3.0


def test_a_failing_computation_reports_and_keeps_the_last_result(qtbot):
    def compute(req):
        if req.temperature > 2:
            raise MemoryError("out of memory in a fake backend")
        return run(req)

    c = Controller(Session(), compute=compute, throttle_ms=1)
    good = c.compute_now()
    with qtbot.waitSignal(c.failed, timeout=5000) as blocker:
        c.session.temperature = 3.0
    assert "out of memory" in blocker.args[0]
    assert c.latest is good


def test_the_first_change_of_a_burst_computes_at_once_and_the_rest_coalesce(qtbot):
    """Issue 14, item 4: a trailing throttle made every change wait its whole interval."""
    c, calls = counting_controller(throttle_ms=400)
    c.compute_now()
    calls.clear()
    with qtbot.waitSignal(c.result_ready, timeout=300):  # well before the 400 ms interval
        c.session.temperature = 0.5
    assert calls == [0.5]
    for t in (0.6, 0.7, 0.8):  # during the cool-down: one computation at its end
        c.session.temperature = t
        qtbot.wait(10)
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=3000)
    qtbot.wait(450)
    c.wait()
    assert calls == [0.5, 0.8]
    assert c.latest.request.temperature == 0.8
