"""A curious student at the real window: hundreds of random actions, checked after each one.

Issue 19. A seeded random driver (not hypothesis's stateful machine: one window per seed is what
makes a few hundred steps affordable) picks from everything a user can do — type text, pick
scenes, heads, layers and words, type temperatures and cell values (NaN, 1e308, 0 included),
toggle the mask, switch theme, presenter mode and text size, show and hide docks, resize the
window, export figures and data (to good and bad paths), switch to a real model and back, save
and reopen scenes, open damaged ones — and after every step checks that:

- no exception escaped (in a slot, a paint or a model's ``data()``) and no error dialog opened;
- a refused action left the session exactly as it was;
- the session is consistent (indices in range, tokens those of its text) and the toolbar and
  causal toggle show the session's values;
- every few steps, the window computes and paints the result for the current session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtWidgets

from attnviz.export import ExportError, FigureSpec
from attnviz.gui.exporters import export_panel_data, export_panel_figure
from attnviz.lessons.scenes import SCENES, get_scene
from attnviz.state.scene_file import save_scene, scene_from_session
from attnviz.state.session import Session

STEPS = int(os.environ.get("ATTNVIZ_RANDOM_STEPS", "250"))
SEEDS = tuple(int(s) for s in os.environ.get("ATTNVIZ_RANDOM_SEEDS", "1,2,3").split(","))

TEXTS = (
    "the cat sat on the mat",
    "a dog chased the ball because it was fast",
    "",
    "   ",
    "x" * 20_000,  # one very long token
    "short " + "y" * 3_000 + " words",
    "nan inf -inf 1e308 NaN",
    "héllo wörld — ünïcode ✓ 猫",
    "<b>bold</b> & <i>tags</i>",
    "word " * 3_000,  # more tokens than the toy model shows
    "line\nbreak\ttab",
)
NUMBERS = ("0", "-0", "1", "2.5", "-3", "1e6", "1e7", "1e12", "1e308", "-1e308", "nan", "inf",
           "-inf", "abc", "", "1e-320", "0.001", "1000", "1e4")  # fmt: skip
SIZES = ((1280, 720), (1366, 768), (1920, 1080), (800, 600), (1600, 1000))


def snapshot(s: Session) -> tuple:
    return (scene_from_session(s), s.tokens, s.n_heads, s.n_layers, s.backend)


class Driver:
    def __init__(self, window, qtbot, rng: random.Random, tmp: Path, models: dict[str, Path]):
        self.w, self.qtbot, self.rng, self.tmp, self.models = window, qtbot, rng, tmp, models
        self.s: Session = window.session
        self.log: list[str] = []

    # -- direct assignments: the session must refuse cleanly -------------------------------
    def assign(self) -> None:
        s, rng = self.s, self.rng
        name, value = rng.choice([
            ("text", rng.choice(TEXTS)),
            ("scene", rng.choice([*SCENES, "nope"])),
            ("head", rng.randint(-1, s.n_heads + 1)),
            ("layer", rng.randint(-1, s.n_layers)),
            ("selected_token", rng.randint(-1, len(s.tokens) + 1)),
            ("temperature", rng.choice([0.0, -1.0, float("nan"), float("inf"), 1e-4, 0.3, 2.0,
                                        1e3, 1e4])),
            ("window", rng.choice([None, 0, 2, 10**7, -1, True])),
            ("logits", rng.choice([(1.0, 2.0), (), (float("nan"),), (1e308, 1.0), (5e5, -5e5),
                                   tuple(range(40))])),
            ("edits", rng.choice([(), (("Wq", 7, 0, 0, 1.0),), (("X", 0, 0, 0, 1e12),),
                                  (("Wk", 0, 0, 0, 2.0),), (("Wv", 99, 0, 0, 1.0),)])),
            ("hide_special", rng.choice([True, False])),
            ("causal", rng.choice([True, False])),
            ("tokens", ("a",)),
        ])  # fmt: skip
        self.log.append(f"session.{name} = {value!r:.60}")
        before = snapshot(s)
        try:
            setattr(s, name, value)
        except ValueError:
            assert snapshot(s) == before, f"refused {name} changed the session"

    def edit_params(self) -> None:
        pid = self.rng.choice(sorted(self.s.view_params))
        params = self.s.view_params[pid]
        field = self.rng.choice(dataclasses.fields(params)).name
        value = self.rng.choice([-1, 0, 3, 64, 10**9, 2.5, "fp16", None, True, "x" * 50])
        self.log.append(f"view_params[{pid}].{field} = {value!r}")
        before = snapshot(self.s)
        try:
            setattr(params, field, value)
        except (ValueError, TypeError):
            assert snapshot(self.s) == before, f"refused {pid}.{field} changed the session"

    # -- the window's own controls -----------------------------------------------------------
    def type_text(self) -> None:
        text = self.rng.choice(TEXTS)
        self.log.append(f"type text {text[:30]!r} ({len(text)} chars)")
        before = snapshot(self.s)
        self.w.text_edit.setText(text)
        self.w.text_edit.returnPressed.emit()
        if self.s.text != text:
            assert snapshot(self.s) == before, "a refused text changed the session"

    def pick_scene(self) -> None:
        i = self.rng.randrange(self.w.scene_box.count())
        self.log.append(f"scene box -> {self.w.scene_box.itemData(i)}")
        self.w.scene_box.setCurrentIndex(i)

    def pick_head(self) -> None:
        i = self.rng.randrange(max(1, self.w.head_box.count()))
        self.log.append(f"head box -> {i}")
        self.w.head_box.setCurrentIndex(i)

    def pick_layer(self) -> None:
        v = self.rng.randint(0, self.w.layer_box.maximum() + 1)
        self.log.append(f"layer box -> {v}")
        self.w.layer_box.setValue(v)

    def toggle_causal(self) -> None:
        self.log.append("causal box click")
        before = snapshot(self.s)
        was = self.s.causal
        self.w.causal_box.click()
        if self.s.causal == was:
            assert snapshot(self.s) == before

    def type_temperature(self) -> None:
        panel = self.w.panel("softmax_temperature")
        text = self.rng.choice(NUMBERS)
        self.log.append(f"temperature box {text!r}")
        before = snapshot(self.s)
        panel.t_box.setText(text)
        panel.t_box.returnPressed.emit()
        if panel.message.isVisibleTo(panel) and panel.message.text():
            assert snapshot(self.s) == before, "a refused temperature changed the session"

    def type_logits(self) -> None:
        panel = self.w.panel("softmax_temperature")
        text = ", ".join(self.rng.choice(NUMBERS) for _ in range(self.rng.randint(1, 4)))
        self.log.append(f"logits box {text!r}")
        before = snapshot(self.s)
        panel.logits_edit.setText(text)
        panel.logits_edit.returnPressed.emit()
        if panel.message.text():
            assert snapshot(self.s) == before, "refused logits changed the session"

    def edit_cell(self) -> None:
        panel = self.w.panel("qkv_steps")
        panel.ensure_drawn()
        matrix = self.rng.choice(["X", "Wq", "Wk", "Wv"])
        model = panel.tables[matrix].model
        rows, cols = model.rowCount(), model.columnCount()
        if not rows or not cols:
            return
        r, c = self.rng.randrange(rows), self.rng.randrange(cols)
        text = self.rng.choice(NUMBERS)
        self.log.append(f"cell {matrix}[{r},{c}] <- {text!r}")
        before = snapshot(self.s)
        panel.show_message("")
        model.setData(model.index(r, c), text)
        if panel.message.text():
            assert snapshot(self.s) == before, "a refused cell edit changed the session"

    def theme(self) -> None:
        name = self.rng.choice(["light", "dark"])
        self.log.append(f"theme {name}")
        self.w.set_theme(name)

    def presenter(self) -> None:
        on = self.rng.choice([True, False])
        self.log.append(f"presenter {on}")
        self.w.set_presenter(on)

    def font(self) -> None:
        pt = self.rng.choice([9, 10, 14, 18])
        self.log.append(f"font {pt} pt")
        self.w.set_font_size(pt)

    def dock(self) -> None:
        pid = self.rng.choice(sorted(self.w.docks))
        dock = self.w.docks[pid]
        self.log.append(f"dock {pid} toggle")
        dock.toggleViewAction().trigger()
        if dock.isVisible():
            dock.raise_()

    def resize(self) -> None:
        size = self.rng.choice(SIZES)
        self.log.append(f"resize {size}")
        self.w.resize(*size)

    def export(self) -> None:
        pid = self.rng.choice(sorted(self.w.docks))
        fmt = self.rng.choice(["png", "svg", "pdf"])
        bad = self.rng.random() < 0.25
        path = Path("/proc/attnviz/nope") if bad else self.tmp / f"{pid}.{fmt}"
        self.log.append(f"export {pid} {fmt} -> {path}")
        spec = FigureSpec(format=fmt, style=self.rng.choice(["slide", "screen"]))
        try:
            export_panel_figure(self.w._panel_classes[pid], self.w.controller, spec,
                                path.with_suffix(f".{fmt}"))  # fmt: skip
        except ExportError:
            assert bad, "a good export path failed"

    def export_data(self) -> None:
        pid = self.rng.choice(sorted(self.w.docks))
        self.log.append(f"export data {pid}")
        with contextlib.suppress(ExportError):  # a panel with no numbers says so
            export_panel_data(self.w.panel(pid), self.tmp / f"{pid}.npz")

    def model(self) -> None:
        choice = self.rng.choice([*self.models, None, "broken"])
        path = None if choice is None else str(self.models.get(choice, self.tmp / "broken"))
        (self.tmp / "broken").mkdir(exist_ok=True)
        self.log.append(f"model {choice}")
        before = snapshot(self.s)
        if not self.w.set_model(path):
            assert snapshot(self.s) == before, "a refused model changed the session"

    def save_and_open(self) -> None:
        path = self.tmp / "scene.attnviz"
        self.log.append("save and reopen scene")
        expect = scene_from_session(self.s)
        assert self.w.save_scene(path) is not None
        assert self.w.open_scene(path), self.w.statusBar().currentMessage()
        assert scene_from_session(self.s) == expect

    def open_damaged(self) -> None:
        path = self.tmp / "damaged.attnviz"
        src = Session()
        save_scene(src, path)
        text = path.read_text()
        i = self.rng.randrange(len(text))
        path.write_text(text[:i] + self.rng.choice(["}", "1e400", "", '"', "99"]) + text[i + 1 :])
        self.log.append(f"open damaged scene (byte {i})")
        before = snapshot(self.s)
        if not self.w.open_scene(path):
            assert snapshot(self.s) == before, "a refused scene changed the session"

    ACTIONS = (
        (assign, 6), (edit_params, 2), (type_text, 4), (pick_scene, 3), (pick_head, 3),
        (pick_layer, 2), (toggle_causal, 2), (type_temperature, 3), (type_logits, 2),
        (edit_cell, 4), (theme, 1), (presenter, 1), (font, 1), (dock, 2), (resize, 1),
        (export, 1), (export_data, 1), (model, 1), (save_and_open, 1), (open_damaged, 1),
    )  # fmt: skip

    def step(self) -> None:
        actions, weights = zip(*self.ACTIONS, strict=True)
        self.rng.choices(actions, weights)[0](self)

    # -- checks ------------------------------------------------------------------------------
    def check(self, full: bool) -> None:
        w, s = self.w, self.s
        QtWidgets.QApplication.processEvents()
        assert not w.findChildren(QtWidgets.QMessageBox, "error_dialog")
        assert 0 <= s.head < s.n_heads and 0 <= s.layer < s.n_layers
        assert 0 <= s.selected_token < len(s.tokens)
        if s.model is None and s.attention is None:
            assert s.tokens == get_scene(s.scene).build(s.text).tokens
            shapes = s.matrix_shapes()
            for e in s.edits:
                Session._check_edit(e, shapes)
        assert w.head_box.currentIndex() == s.head
        assert w.layer_box.value() == s.layer + 1
        assert w.causal_box.isChecked() == s.causal
        if w.scene_box.isEnabled():
            assert w.scene_box.currentData() == s.scene
        if "causal_mask" in w._built:
            assert w._built["causal_mask"].toggle.isChecked() == s.causal
        if full:
            w.controller.wait()
            result = w.controller.compute_now()
            assert result.request.tokens == s.tokens
            for name in ("weights", "output"):
                assert np.isfinite(getattr(result, name)).all()
            for panel in w._built.values():
                panel.ensure_drawn()
            w.grab()  # paints every visible widget: the token strip, tables, plots
            widest = max(c.width() for c in w.findChildren(QtWidgets.QWidget))
            assert widest < 20_000, f"a widget grew to {widest} px"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    from tests.models import builders as B

    bert = tmp_path_factory.mktemp("rand-bert")
    B.write_wordlevel_tokenizer_json(bert)
    B.bert(bert, prefixed=False)
    gpt2 = tmp_path_factory.mktemp("rand-gpt2")
    B.gpt2(gpt2, B.write_gpt2_bpe(gpt2))
    return {"bert": bert, "gpt2": gpt2}


@pytest.mark.slow
# Issue 13's export work owns this PDF warning (a colour bar's gradient mixes colour specs).
@pytest.mark.qt_log_ignore("QPdfEngine: unable to create a gradient")
@pytest.mark.parametrize("seed", SEEDS)
def test_random_use_never_crashes_or_half_applies(window, qtbot, tmp_path, models, seed):
    window.resize(1366, 768)
    window.controller.compute_now()
    driver = Driver(window, qtbot, random.Random(seed), tmp_path, models)
    for i in range(STEPS):
        with qtbot.capture_exceptions() as caught:
            try:
                driver.step()
                driver.check(full=i % 10 == 9 or i == STEPS - 1)
            except Exception as exc:
                trail = "\n  ".join(driver.log[-8:])
                raise AssertionError(
                    f"seed {seed}, step {i}: {exc!r}\nlast actions:\n  {trail}"
                ) from exc
        if caught:
            trail = "\n  ".join(driver.log[-8:])
            raise AssertionError(f"seed {seed}, step {i}: {caught[0][1]!r}\n  {trail}")
    window.set_presenter(False)
