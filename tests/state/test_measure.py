"""The live measurement (Qt-free) and the flash panel's view: sizes refused before allocating,
cancellation between runs, the seed's 32 MB figure, and the tile trace checked by hand."""

import math
import threading
from importlib import resources

import numpy as np
import pytest

from attnviz.core.memory import attention_cost
from attnviz.state import measure as M
from attnviz.state.pipeline import resolve, run
from attnviz.state.session import Session
from attnviz.state.views import ViewError
from attnviz.state.views.flash_attention import SEED_N, FlashParams, tile_example

KiB, MiB, GiB = 2**10, 2**20, 2**30


def test_human_bytes():
    assert M.human_bytes(512) == "512 B"
    assert M.human_bytes(32 * MiB) == "32.0 MiB"
    assert M.human_bytes(64 * GiB) == "64.0 GiB"
    assert M.human_bytes(1536) == "1.5 KiB"


def test_estimate_is_the_standard_paths_float32_bytes():
    n, d = 3000, 64
    assert M.measurement_bytes(n, d) == n * n * 4 + 4 * n * d * 4
    assert M.check_fits(n, d) == M.measurement_bytes(n, d)


def test_an_oversized_n_is_refused_with_the_bytes_it_would_need():
    with pytest.raises(ValueError) as err:
        M.check_fits(100_000, 64)
    msg = str(err.value)
    assert "40,102,400,000 bytes" in msg and "37.3 GiB" in msg and "smaller N" in msg
    # A limit of our own, just under what N = 1,024 needs.
    need = M.measurement_bytes(1024, 64)
    with pytest.raises(ValueError, match=f"{need:,} bytes"):
        M.measure_attention(1024, limit=need - 1)
    assert M.check_fits(1024, 64, limit=need) == need


def test_the_limit_is_the_cap_or_half_the_ram():
    limit, why = M.memory_limit()
    ram = M.physical_memory_bytes()
    assert limit <= M.MEASURE_CAP_BYTES
    if ram is not None:
        assert limit == min(M.MEASURE_CAP_BYTES, ram // 2)
    assert "cap" in why or "RAM" in why


def test_a_small_measurement_completes_with_equal_outputs_and_honest_peaks():
    seen = []
    m = M.measure_attention(
        512, 32, backend="numpy", repeats=2, progress=lambda f, t: seen.append(f)
    )
    assert m.backend == "numpy" and m.n == 512 and m.repeats == 2
    assert m.max_abs_diff < 1e-5
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) == 5
    assert m.standard.seconds > 0 and m.flash.seconds > 0
    # tracemalloc sees NumPy's buffers: the standard path held the 512 × 512 float32 weights.
    assert m.standard.peak_bytes >= 512 * 512 * 4
    assert m.flash.peak_bytes < m.standard.peak_bytes
    cost = attention_cost(512, 32, dtype_bytes=4)
    assert m.standard.predicted_extra_bytes == cost.standard_extra_bytes
    assert m.flash.predicted_extra_bytes == cost.flash_extra_bytes


def test_cancel_before_start_and_between_runs():
    with pytest.raises(M.Cancelled):
        M.measure_attention(256, cancel=lambda: True)
    stop = threading.Event()
    calls = []

    def progress(fraction, text):
        calls.append(text)
        stop.set()  # cancel as soon as the first step reports

    with pytest.raises(M.Cancelled):
        M.measure_attention(256, backend="numpy", cancel=stop.is_set, progress=progress)
    assert len(calls) == 1 and calls[0].startswith("made Q, K, V")


# -- the flash panel's view -------------------------------------------------------------------
def flash_view(**changes):
    s = Session()
    for k, v in changes.items():
        setattr(s.view_params["flash_attention"], k, v)
    return run(resolve(s)).views["flash_attention"]


def test_the_seeds_32_mb_and_what_flash_keeps():
    d = flash_view()
    s = d.seed_cost
    assert (s.n, s.dtype_bytes, s.heads, s.head_dim) == (SEED_N, 2, 1, 64)
    assert s.standard_extra_bytes == 4096 * 4096 * 2 == 32 * MiB  # the seed's "32 MB"
    assert s.flash_extra_bytes == 4096 * 4 == 16 * KiB
    assert s.qkvo_bytes == 2 * MiB
    assert s.standard_bytes == 34 * MiB
    assert s.ratio == pytest.approx(34 * MiB / (2 * MiB + 16 * KiB))
    # The explanation states exactly these numbers.
    text = resources.files("attnviz.lessons").joinpath("texts", "flash_attention.txt")
    body = text.read_text(encoding="utf-8")
    for figure in ("32 MiB", "16 KiB", "2 MiB", "34 MiB", "4,096² × 2 bytes"):
        assert figure in body
    assert "32 MB" in body and "3 MB" in body  # the seed's figures, named and explained


def test_memory_curves_are_attention_cost():
    d = flash_view(head_dim=128, dtype="fp32")
    for n, std, fl in zip(d.curve_n, d.curve_standard, d.curve_flash, strict=True):
        c = attention_cost(int(n), 128, dtype_bytes=4)
        assert (std, fl) == (c.standard_bytes, c.flash_bytes)
    assert d.curve_n[0] == 128 and d.curve_n[-1] == 128 * 1024
    assert np.all(np.diff(d.curve_standard / d.curve_flash) > 0)  # the gap widens with N
    assert "4·N²·d" in d.assumptions


@pytest.mark.parametrize(("n", "bq", "bk"), [(12, 4, 4), (10, 3, 4), (7, 7, 2)])
def test_tile_trace_matches_running_max_and_sum_by_hand(n, bq, bk):
    q, k, _, runr, w, out = tile_example(n, bq, bk, causal=False, seed=4)
    s = (q @ k.T) / math.sqrt(q.shape[1])  # (n, n) scores, float64
    assert len(runr.tiles) == math.ceil(n / bq) * math.ceil(n / bk)
    for st in runr.tiles:
        (i0, i1), (_, j1) = st.q_block, st.k_block
        seen = s[i0:i1, :j1]  # every key tile visited so far by this Q tile
        m = seen.max(axis=1)
        np.testing.assert_allclose(st.m_after, m, rtol=1e-12)
        np.testing.assert_allclose(st.l_after, np.exp(seen - m[:, None]).sum(axis=1), rtol=1e-12)
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(st.alpha, np.exp(st.m_before - st.m_after), rtol=1e-12)
    np.testing.assert_allclose(runr.output, out, atol=1e-12)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    np.testing.assert_allclose(w, p / p.sum(axis=1, keepdims=True), rtol=1e-12)


def test_causal_example_visits_only_tiles_on_or_below_the_diagonal():
    d = flash_view(causal=True, tile_n=12, block_q=4, block_k=4)
    assert len(d.tiles) == 6  # 3 Q tiles see 1, 2 and 3 K tiles
    assert all(t.k_block[0] <= t.q_block[1] - 1 for t in d.tiles)
    assert d.max_abs_diff < 1e-12


def test_measured_n_is_refused_on_assignment_and_the_state_kept():
    p = FlashParams()
    with pytest.raises(ValueError, match="40,102,400,000 bytes"):
        p.measure_n = 100_000
    assert p.measure_n == 1024
    with pytest.raises(ValueError, match="dtype"):
        p.dtype = "fp12"
    with pytest.raises(ValueError, match="whole number"):
        p.n = 4.5
    assert not isinstance(flash_view(n=1 << 20), ViewError)  # accounting alone may be huge
