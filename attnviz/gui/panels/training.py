"""Training: train a tiny transformer in the app and watch its heads change — an induction head
forming — while every other panel follows the current checkpoint on a probe sequence."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from attnviz.gui.panels.base import Area, Panel, register_panel, run_panel_alone
from attnviz.gui.theme import theme_manager
from attnviz.gui.widgets.flow import pair_grid
from attnviz.gui.widgets.heatmap import Heatmap
from attnviz.gui.widgets.reflow import ReflowGrid
from attnviz.gui.worker import Outcome, start_worker
from attnviz.state.request import Result
from attnviz.state.views import ViewError
from attnviz.state.views.training import INDUCTION, SPEED_CLAIM, TrainingData, TrainingParams
from attnviz.train import TASKS, Trainer
from attnviz.train.export import save_folder

CHUNK = 25  # steps per worker round: the panels follow about five times a second
MAX_STEPS = 20_000  # a run pauses itself here


def _train(trainer: Trainer, steps: int) -> Trainer:
    trainer.run(steps)
    return trainer


@register_panel
class TrainingPanel(Panel):
    panel_id = "training"
    order = 110
    title = "Training (watch heads learn)"
    default_area = Area.BottomDockWidgetArea

    def __init__(self, controller, parent=None) -> None:
        super().__init__(controller, parent)
        self.params: TrainingParams = self.session.view_params[self.panel_id]
        self.trainer: Trainer | None = None
        self._running = False
        self._wanted = False  # keep training after this round

        # -- what to train --------------------------------------------------------------------
        self.task_box = QtWidgets.QComboBox()
        self.task_box.setObjectName("task_selector")
        for name, task in TASKS.items():
            self.task_box.addItem(task.title, name)
        self.bind_choice(self.params, "task", self.task_box)
        self.layers_box = self._choice("layers", [1, 2], "Layers of attention")
        self.heads_box = self._choice("heads", [1, 2, 4], "Heads per layer")
        self.width_box = self._choice("d_model", [16, 32, 48, 64], "d_model: the residual width")
        self.pos_box = QtWidgets.QComboBox()
        self.pos_box.setObjectName("positions_selector")
        self.pos_box.addItem("RoPE", "rope")
        self.pos_box.addItem("learned", "learned")
        self.bind_choice(self.params, "positions", self.pos_box)
        self.mlp_box = QtWidgets.QCheckBox("MLP")
        self.mlp_box.setObjectName("mlp")
        self.mlp_box.setToolTip("Off: attention only, the classic setting for induction heads")
        self.bind(self.params, "mlp", self.mlp_box.toggled, self.mlp_box.setChecked, self.mlp_box)
        self.lr_spin = QtWidgets.QDoubleSpinBox()
        self.lr_spin.setObjectName("lr_input")
        self.lr_spin.setDecimals(4)
        self.lr_spin.setRange(0.0001, 0.1)
        self.lr_spin.setSingleStep(0.001)
        self.lr_spin.setKeyboardTracking(False)
        self.bind(self.params, "lr", self.lr_spin.valueChanged, self.lr_spin.setValue,
                  self.lr_spin)  # fmt: skip
        self.batch_spin = self.bound_spin(self.params, "batch", 1, 1024, "Sequences per step")
        tip = "The same seed trains the same run"
        self.seed_spin = self.bound_spin(self.params, "seed", 0, 2**31 - 1, tip, separators=False)
        pairs = [("Task", self.task_box), ("Positions", self.pos_box),
                 ("Layers", self.layers_box), ("Heads", self.heads_box),
                 ("d_model", self.width_box), ("Learning rate", self.lr_spin),
                 ("Batch", self.batch_spin), ("Seed", self.seed_spin)]  # fmt: skip
        grid = pair_grid(pairs)
        buttons = QtWidgets.QHBoxLayout()
        self.train_button = QtWidgets.QPushButton("Train ▶")
        self.train_button.setObjectName("train")
        self.train_button.clicked.connect(self.toggle)
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reset_button.setObjectName("reset_training")
        self.reset_button.clicked.connect(self.reset)
        self.save_button = QtWidgets.QPushButton("Save model…")
        self.save_button.setObjectName("save_trained")
        self.save_button.clicked.connect(self.save_dialog)
        buttons.addWidget(self.mlp_box)
        buttons.addStretch(1)
        for b in (self.save_button, self.reset_button, self.train_button):
            buttons.addWidget(b)
        self.status = QtWidgets.QLabel()
        self.status.setObjectName("training_status")
        self.status.setWordWrap(True)
        self.status.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.about = QtWidgets.QLabel()
        self.about.setObjectName("task_about")
        self.about.setWordWrap(True)
        left = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.status)
        lay.addLayout(grid)
        lay.addLayout(buttons)
        lay.addWidget(self.about)
        lay.addStretch(1)

        # -- the scrub slider -----------------------------------------------------------------
        line = QtWidgets.QHBoxLayout()
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setObjectName("checkpoint_slider")
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.setToolTip("Replay the checkpoints: every panel shows the model as it was")
        self.step_label = QtWidgets.QLabel()
        self.step_label.setObjectName("checkpoint_label")
        self.bind(self.session, "train_view", self.slider.valueChanged, self._show_checkpoint,
                  self.slider)  # fmt: skip
        line.addWidget(QtWidgets.QLabel("Checkpoint"))
        line.addWidget(self.slider, 1)
        line.addWidget(self.step_label)
        self.body.addLayout(line)

        # -- curves and scores ----------------------------------------------------------------
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("training_curves")
        self.graphics.min_plot_size = (320, 360)
        self.loss_plot = self.graphics.addPlot(row=0, col=0, title="loss")
        self.score_plot = self.graphics.addPlot(row=1, col=0, title="best head scores")
        for plot in (self.loss_plot, self.score_plot):
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.setLabel("bottom", "step")
        self.score_plot.setYRange(0, 1, padding=0.02)
        self.loss_legend = self.loss_plot.addLegend(offset=(10, -10))  # bottom left: free
        self.score_legend = self.score_plot.addLegend(offset=(10, 10))
        losses = (("loss", "all"), ("rest", "unseen letters"), ("repeat", "in the repeat"))
        self.curves = {n: self.loss_plot.plot([], [], name=label) for n, label in losses}
        scores = (("induction", "induction"), ("previous", "previous token"))
        self.score_curves = {n: self.score_plot.plot([], [], name=label) for n, label in scores}
        self.threshold = pg.InfiniteLine(pos=INDUCTION, angle=0, movable=False)
        self.score_plot.addItem(self.threshold)
        self.ind_map = Heatmap(title="induction score per head", x_label="head",
                               y_label="layer", levels=(0.0, 1.0))  # fmt: skip
        self.prev_map = Heatmap(title="previous-token score per head", x_label="head",
                                y_label="layer", levels=(0.0, 1.0))  # fmt: skip
        for m in (self.ind_map, self.prev_map):
            m.setMinimumSize(220, 160)
        maps = QtWidgets.QWidget()
        ml = QtWidgets.QVBoxLayout(maps)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.ind_map)
        ml.addWidget(self.prev_map)
        parts = left, self.graphics, maps
        grid_ = ReflowGrid([[parts], [parts[:2], parts[2:]], [[p] for p in parts]])
        self.body.addLayout(grid_, 1)
        self.reflow(grid_)
        self._update_buttons()

    def _choice(self, field: str, values: list[int], tip: str) -> QtWidgets.QComboBox:
        box = QtWidgets.QComboBox()
        box.setObjectName(f"{field}_selector")
        box.setToolTip(tip)
        for v in values:
            box.addItem(str(v), v)
        self.bind_choice(self.params, field, box)
        return box

    # -- training --------------------------------------------------------------------------
    def toggle(self) -> None:
        """Train (a new run from the settings, or on from a pause), or pause after this round."""
        if self._wanted:
            self._wanted = False
            self._update_buttons()
            return
        if self.trainer is None:
            try:
                self.trainer = Trainer(self.params.settings())
            except ValueError as exc:
                self.show_message(str(exc))
                return
        self.show_message("")
        self._wanted = True
        self._launch()

    def _launch(self) -> None:
        if self._running or self.trainer is None:
            return
        self._running = True
        self._update_buttons()
        start_worker(_train, self.trainer, CHUNK, on_done=self._round_done)

    @QtCore.Slot(object)
    def _round_done(self, outcome: Outcome) -> None:
        self._running = False
        if outcome.error is not None:
            self._wanted = False
            self.show_message(str(outcome.error) if isinstance(outcome.error, ArithmeticError)
                              else f"Training failed: {outcome.detail}")  # fmt: skip
        elif outcome.value is self.trainer:
            self.try_set(lambda: self.session.show_training(self.trainer))
            if self.trainer.step_count >= MAX_STEPS:
                self._wanted = False
        if self._wanted:
            self._launch()
        self._update_buttons()

    def reset(self) -> None:
        """Forget the run (a new one starts from the current settings on Train)."""
        self._wanted = False
        self.trainer = None
        if self.session.training is not None:
            self.try_set(lambda: self.session.show_training(None))
        self._update_buttons()

    def save_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(
            self, "Save the trained model into a folder"
        )
        if folder:
            self.save(folder)

    def save(self, parent: str | Path) -> Path | None:
        """Write the shown checkpoint as a model folder inside ``parent``; the path, or None
        (the reason shown) when it cannot be written."""
        run, index = self.session.training, self.session.train_view
        if run is None or not index:
            self.show_message("Nothing trained yet: press Train first")
            return None
        ckpt = run.checkpoints[index - 1]
        model = run.model_at(index)
        name = f"attnviz-tiny-{run.task.name}-step{ckpt.step}"
        try:
            out = save_folder(model, run.task, Path(parent) / name, name=name)
        except (OSError, ValueError) as exc:
            self.show_message(f"Could not save the model: {exc}")
            return None
        self.status.setText(f"Saved to {html.escape(str(out))}: open it with File → Open "
                            "model folder, or choose it in the Model box.")  # fmt: skip
        return out

    def _show_checkpoint(self, index: int) -> None:
        run = self.session.training
        n = 0 if run is None else len(run.checkpoints)
        self.slider.setRange(0, n)
        self.slider.setValue(index)
        step = run.checkpoints[index - 1].step if run is not None and index else 0
        self.step_label.setText(f"step {step:,}" if n else "not trained yet")
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.train_button.setText("Pause ⏸" if self._wanted else "Train ▶")
        has = self.session.training is not None and bool(self.session.train_view)
        self.save_button.setEnabled(has and not self._running)
        self.slider.setEnabled(has)
        for w in (self.task_box, self.layers_box, self.heads_box, self.width_box, self.pos_box,
                  self.mlp_box, self.lr_spin, self.batch_spin, self.seed_spin):  # fmt: skip
            w.setEnabled(self.trainer is None)  # a run keeps its shape; Reset to change it

    # -- drawing ---------------------------------------------------------------------------
    def _data(self) -> TrainingData | None:
        return self.view_data()

    def draw(self, result: Result) -> None:
        data = result.views.get(self.panel_id)
        if isinstance(data, ViewError) or data is None:
            self.show_message(data.message if data is not None else "no training data")
            return
        tm = theme_manager().theme
        self.graphics.setBackground(tm.plot_background)
        self.about.setText(f"<b>{html.escape(data.task)}.</b> {html.escape(data.about)}")
        self.status.setText(self.status_html(data))
        colours = {"loss": tm.mid, "rest": tm.accent, "repeat": tm.highlight,
                   "induction": tm.highlight, "previous": tm.accent}  # fmt: skip
        series = {"loss": data.loss, "rest": data.rest_loss, "repeat": data.repeat_loss}
        for name, y in series.items():
            ok = np.isfinite(y)
            self.curves[name].setData(data.steps[ok], y[ok], pen=pg.mkPen(colours[name], width=2))
        for name, y in (("induction", data.best_induction), ("previous", data.best_previous)):
            self.score_curves[name].setData(data.steps, y, pen=pg.mkPen(colours[name], width=2))
        self.threshold.setPen(pg.mkPen(tm.plot_foreground, style=QtCore.Qt.PenStyle.DashLine))
        layers = [f"layer {i + 1}" for i in range(data.induction.shape[0])]
        heads = [f"head {j + 1}" for j in range(data.induction.shape[1])]
        self.ind_map.set_data(data.induction, layers, heads)
        self.prev_map.set_data(data.previous_token, layers, heads)
        self._update_buttons()

    @staticmethod
    def status_html(data: TrainingData) -> str:
        if not data.running:
            return f"Press <b>Train</b>. {SPEED_CLAIM}"
        best = float(data.induction.max())
        formed = ("no head has an induction score ≥ 0.5 yet" if data.formed_at is None
                  else f"an induction head (score ≥ {INDUCTION:g}) formed at step "
                       f"{data.formed_at[0]:,}, after {data.formed_at[1]:.1f} s")  # fmt: skip
        loss = "" if not np.isfinite(data.loss[-1]) else f", loss {data.loss[-1]:.3f}"
        return (f"<b>Step {data.step:,}</b> (checkpoint {data.checkpoint} of "
                f"{data.checkpoints}){loss}, best induction score {best:.2f}: {formed}. "
                f"{SPEED_CLAIM}")  # fmt: skip

    def figure_parts(self) -> list[list]:
        return [[self.status.text()], [(self.graphics, 3), (self.ind_map, 2)]]

    def figure_caption(self) -> str:
        data = self._data()
        if data is None or not data.running:
            return super().figure_caption()
        p = data.params
        return (f"tiny transformer: {p.layers} layers × {p.heads} heads, d_model {p.d_model}, "
                f"{p.positions}, {'MLP' if p.mlp else 'attention only'} · {data.task} · "
                f"step {data.step:,}")  # fmt: skip

    def export_data(self) -> dict[str, Any]:
        data = self._data()
        if data is None or not data.running:
            return {}
        return {
            "steps": data.steps,
            "loss": data.loss,
            "loss_repeat": data.repeat_loss,
            "loss_rest": data.rest_loss,
            "best_induction": data.best_induction,
            "best_previous_token": data.best_previous,
            "induction_scores": data.induction,
            "previous_token_scores": data.previous_token,
        }


if __name__ == "__main__":
    raise SystemExit(run_panel_alone(TrainingPanel))
