"""Per-panel views: parameters validated, recomputed through the pipeline, errors contained."""

from dataclasses import dataclass

import pytest
from psygnal import evented

from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session
from attnviz.state.views import VIEWS, Params, ViewError, register_view


@evented
@dataclass
class DummyParams(Params):
    n: int = 3

    def validate(self, name, value):
        if name == "n" and (not isinstance(value, int) or not 1 <= value <= 10):
            raise ValueError(f"n must be a whole number from 1 to 10, got {value!r}")
        return value


@pytest.fixture
def dummy_view():
    @register_view("dummy_view", params=DummyParams)
    def compute(result, params):  # a view takes the shared result
        if params.n == 7:
            raise ValueError("seven is refused")
        return len(result.request.tokens) * params.n

    yield
    del VIEWS["dummy_view"]


def test_view_params_live_in_the_session_and_reach_the_result(dummy_view):
    s = Session()
    assert isinstance(s.view_params["dummy_view"], DummyParams)
    assert run(resolve(s)).views["dummy_view"] == len(s.tokens) * 3
    s.view_params["dummy_view"].n = 5
    assert run(resolve(s)).views["dummy_view"] == len(s.tokens) * 5


def test_requests_hold_frozen_copies(dummy_view):
    s = Session()
    req = resolve(s)
    s.view_params["dummy_view"].n = 9
    assert req.view_params["dummy_view"].n == 3


def test_bad_params_are_refused_and_view_errors_are_contained(dummy_view):
    s = Session()
    with pytest.raises(ValueError, match="from 1 to 10"):
        s.view_params["dummy_view"].n = 0
    assert s.view_params["dummy_view"].n == 3
    s.view_params["dummy_view"].n = 7
    r = run(resolve(s))
    assert r.views["dummy_view"] == ViewError("seven is refused")
    assert r.weights.shape[0] == s.n_heads  # everything else still computed


def test_view_params_cannot_be_replaced(dummy_view):
    with pytest.raises(ValueError, match="view_params"):
        Session().view_params = {}


def test_controller_recomputes_when_view_params_change(qtbot, dummy_view):
    from attnviz.gui.controller import Controller

    c = Controller(Session(), throttle_ms=1)
    with qtbot.waitSignal(c.result_ready, timeout=5000):
        c.session.view_params["dummy_view"].n = 4
    assert c.latest.views["dummy_view"] == len(c.session.tokens) * 4
