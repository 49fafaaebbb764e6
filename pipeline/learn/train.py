"""Train one model on a store's train split, validate on its validation split.

The store describes itself: its physics and generation params come from its manifest,
and params.yaml supplies only ``train.<model>``. Writes ``MODEL.keras`` and
``MODEL.history.json``: loss per step and per epoch, the config, the wall time, the
validation calibration of its uncertainty, and the store it was trained on (its physics,
so that a model refuses a store of other physics). Every shard is checked before it is
read; the test split is never opened here.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from ..config import Params
from ..errors import ConfigError, DataError
from ..interrupts import Interrupted, StopFlag, signal_of, stop_signals_flag
from ..readers.order import Normaliser
from ..store.atomic import atomic_path
from ..store.store import Store
from .calibration import calibrate, parameter_predictions
from .data import files_dataset
from .losses import BatchLoss, MassLoss
from .models import VIEWS, build_model, check_model_name, contains_simulator, uses_physics_fit
from .physics_fit import PhysicsFit
from .predict import other_targets, predict_outputs
from .record import HISTORY_FORMAT, TrainedOn, TrainingRecord
from .scores import r2_score

BATCH_LOSS = "batch_loss"
# Keras leaves XLA off on CPU-only machines. Whether compiling pays depends on the model
# and the machine, so it is a per-model setting (train.<model>.xla): measure with
# `python -m benchmarks.train_speed` (docs/benchmarks.md; on 2 cores XLA made the DNN and
# RNN steps 1.6-2x faster, the CNN's about even and the CRNN's 0.85x). Compiling costs
# seconds per model: under "auto", long runs only.
XLA_MIN_STEPS = 1000


def use_xla(cfg, total_steps: int) -> bool:
    """Whether ``train.<model>.xla`` asks for an XLA-compiled training step."""
    return cfg.xla == "always" or (cfg.xla == "auto" and total_steps >= XLA_MIN_STEPS)


def compile_model(model: keras.Model, cfg, total_steps: int, xla: bool | None = None,
                  scales: tuple[float, ...] = (1.0,)) -> None:
    """Loss, optimiser (its schedule spans ``total_steps``) and the per-step loss metric;
    ``scales``: of each hidden parameter (:meth:`~pipeline.tasks.base.Task.scales`)."""
    loss = MassLoss(cfg.loss, cfg.huber_delta, cfg.loss_every_step, scales)
    model.compile(optimizer=_optimizer(cfg, total_steps), loss=loss,
                  metrics=[BatchLoss(loss, name=BATCH_LOSS)],
                  jit_compile=use_xla(cfg, total_steps) if xla is None else xla)


def open_store(store: Store | Path) -> Store:
    """The store itself, opened (manifest read and checked) if given as a path."""
    return store if isinstance(store, Store) else Store.open(store)


def with_store_params(params: Params, store: Store | Path,
                      overrides: tuple[str, ...] = ()) -> Params:
    """``params`` with the physics and generation params of ``store`` (a path is opened).

    ``--set physics.*``/``generate.*`` cannot apply to a store that already exists.
    """
    store = open_store(store)
    fixed = [item.split("=")[0] for item in overrides
             if item.startswith(("physics.", "generate."))]
    if fixed:
        raise ConfigError(f"--set {fixed[0]}: the store in {store.name} fixes physics "
                          f"and generate; change them with `massfield generate`, not here")
    return dataclasses.replace(params, physics=store.params.physics,
                               generate=store.params.generate)


def trained_on(store: Store) -> TrainedOn:
    """What a model keeps of the store it was trained on."""
    stats = store.statistics
    return TrainedOn(params=store.manifest["params"], train_mass_mean=stats["mass"]["mean"],
                     n_train_samples=stats["n_train_samples"], path=store.name)


def split_files(store: Store, split: str, samples: int | None) -> tuple[list[str], list[int]]:
    """The shards of ``split``, or the first of them holding ``samples`` samples, and the
    samples each holds."""
    chosen, sizes, total = [], [], 0
    for entry, path in zip(store.entries(split), store.files(split), strict=True):
        if samples is not None and total >= samples:
            break
        chosen.append(str(path))
        sizes.append(entry.n_samples)
        total += entry.n_samples
    if samples is not None and total < samples:
        raise ConfigError(f"{split}_samples {samples}: the {split} split of "
                          f"{store.name} holds only {total}; generate a larger store "
                          f"or ask for fewer")
    return chosen, sizes


class StepLog(keras.callbacks.Callback):
    """Each optimiser step's own training loss (the report's figures 9 and 11)."""

    def __init__(self):
        super().__init__()
        self.losses: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs[BATCH_LOSS]))


class EpochLog(keras.callbacks.Callback):
    """One line an epoch with only what its names say: the epoch's mean training loss and
    the validation loss (Keras's own log also printed each metric's "val_" twin, a
    validation batch_loss that was not what it seemed)."""

    def __init__(self, log: Callable[[str], None], epochs: int):
        super().__init__()
        self.log, self.epochs, self.done = log, epochs, 0
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.done = epoch + 1
        logs = logs or {}
        validation = (f", val_loss {logs['val_loss']:.4f}" if "val_loss" in logs else "")
        self.log(f"epoch {epoch + 1}/{self.epochs}: loss {logs.get('loss', math.nan):.4f}"
                 f"{validation} ({time.perf_counter() - self.started:.0f} s)")


def _optimizer(cfg, total_steps: int) -> keras.optimizers.Optimizer:
    rate = cfg.learning_rate
    if cfg.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, total_steps, alpha=0.02)
    return keras.optimizers.Adam(rate)


class StopAtStepEnd(keras.callbacks.Callback):
    """Ends a fit at the first step boundary after a stop signal. A signal raised where it
    lands can land inside TensorFlow (tracing the step, setting up tf.data's iterator), and
    there it crashed the process with SIGSEGV or hung it, once in about ten runs, instead of
    ending in one line. The price is latency: the first step, which compiles, can take
    seconds before the signal is answered."""

    def __init__(self, flag: StopFlag):
        super().__init__()
        self.flag = flag

    def on_train_batch_end(self, batch, logs=None):
        self.flag.check()

    def on_test_batch_end(self, batch, logs=None):
        self.flag.check()


def train_model(name: str, params: Params, store: Store | Path, out_dir: Path,
                log: Callable[[str], None] = print,
                verbose: bool = False) -> tuple[keras.Model, TrainingRecord]:
    """Fit ``name`` with ``params.train.<name>`` on ``store`` (a path is opened).

    ``params.physics`` must be the store's (see :func:`with_store_params`).
    Returns the model and the training record saved beside it.
    """
    check_model_name(name)
    cfg = params.train.model(name)
    store = open_store(store)
    if cfg.preset == "report" and store.task.name != "mass":
        raise ConfigError(f"train.{name}.preset report: the report's architectures predict "
                          f"the mass alone, and {store.name} holds task "
                          f"{store.task.name}; use --set train.{name}.preset=physics-informed")
    physics = params.physics
    view = VIEWS[name]
    files, sizes = split_files(store, "train", cfg.train_samples)
    n_train = sum(sizes)
    calibration_files, _ = split_files(store, "validation", None)
    monitored_files, _ = split_files(store, "validation", cfg.validation_samples)
    steps = cfg.steps_per_epoch or max(1, n_train // cfg.batch_size)
    physics_fit = PhysicsFit.measure(files, physics) if uses_physics_fit(name, cfg) else None
    train = files_dataset(files, view, cfg.batch_size, sizes=sizes, shuffle_seed=cfg.seed,
                          repeat=True, fit=physics_fit)
    features = physics_fit.shard_features(calibration_files) if physics_fit else None
    validation = files_dataset(calibration_files, view, 256, fit=physics_fit, features=features)
    # val_loss each epoch, for early stopping, on the first validation shards only: with a
    # mass scan, a pass over 5,000 samples cost more than the epoch's training steps.
    # Without early stopping nothing reads it: the calibration pass after the last epoch
    # measures it once, and fit skips a compiled test step (5-10 s a model on 2 cores).
    monitored = None
    if cfg.patience:
        monitored = (validation if monitored_files == calibration_files
                     else files_dataset(monitored_files, view, 256, fit=physics_fit,
                                        features=features))
    model = build_model(name, cfg, physics, Normaliser.from_statistics(store.statistics))
    compile_model(model, cfg, steps * cfg.epochs, scales=store.task.scales(physics))
    step_log, epoch_log = StepLog(), EpochLog(log if verbose else lambda line: None, cfg.epochs)
    callbacks = [step_log, epoch_log]
    if cfg.patience:
        callbacks.append(keras.callbacks.EarlyStopping(patience=cfg.patience,
                                                       restore_best_weights=True))
    log(f"{name}: preset {cfg.preset}, {model.count_params()} parameters, "
        f"{cfg.epochs} epochs × {steps} steps of {cfg.batch_size} from {n_train} samples"
        f"{', XLA' if model.jit_compile else ''}")
    started = time.perf_counter()
    target = Path(out_dir) / f"{name}.keras"
    try:
        with warnings.catch_warnings(), stop_signals_flag() as stop:
            # Keras warns, wrongly, that a validation set ran dry
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            fit = model.fit(train, validation_data=monitored, epochs=cfg.epochs,
                            steps_per_epoch=steps, callbacks=[*callbacks, StopAtStepEnd(stop)],
                            shuffle=False, verbose=0)
            stop.check()
    except KeyboardInterrupt as exc:
        signum = signal_of(exc)
        raise Interrupted(f"{target}: training interrupted by {signal.Signals(signum).name} "
                          f"after {epoch_log.done} of {cfg.epochs} epochs; nothing written "
                          f"(a model already there is unchanged); re-run `massfield train "
                          f"{name}` to start again", signum) from None
    seconds = time.perf_counter() - started
    targets = other_targets(physics)
    validation_predictions = predict_outputs(model, validation, targets, loss=model.loss)
    validation_loss = float(np.mean(validation_predictions.pop("loss")))
    # noise drawn per sample: intervals per tercile of the physics fit's misfit
    noise_fit = (physics_fit or PhysicsFit.measure(files, physics)
                 if physics.position_noise_drawn else None)
    noise = (noise_fit.noise_estimates(calibration_files, features)
             if noise_fit is not None else None)
    others = {name: calibrate(parameter_predictions(validation_predictions, name),
                              parameter.bounds(physics), space="linear", noise=noise)
              for (name, _), parameter in zip(targets, store.task.parameters[1:], strict=True)}
    history = TrainingRecord(
        format=HISTORY_FORMAT, model=name, config=cfg, view=view,
        simulator=contains_simulator(name, cfg),
        physics_fit=physics_fit.record() if physics_fit is not None else None,
        store=trained_on(store), train_samples=n_train,
        parameters=int(model.count_params()), train_seconds=seconds,
        step_loss=step_log.losses,
        epochs=_epochs(fit.history, validation_loss),
        calibration=calibrate(validation_predictions, (physics.mass_low, physics.mass_high),
                              noise=noise),
        parameter_calibration=others or None,
        noise_fit=None if noise_fit is None else {"variances": list(noise_fit.variances)})
    save_model(model, target)
    history.write(Path(out_dir) / f"{name}.history.json")
    last = history.epochs[-1]
    log(f"{name}: trained in {seconds:.0f} s, loss {last['loss']:.4f}, "
        f"val_loss {last.get('val_loss', math.nan):.4f}"
        + "".join(f", validation R² {key} {r2_score(values['mass'], values['mean']):.3f}"
                  for key, values in ((k, parameter_predictions(validation_predictions, k))
                                      for k in store.task.parameter_names
                                      if len(store.task.parameters) > 1)))
    return model, history


def _epochs(history: dict, validation_loss: float) -> list[dict]:
    """Keras's log per epoch; an epoch fit did not validate gets the loss of the whole
    validation split after training on its last one."""
    epochs = [{key: float(values[i]) for key, values in history.items() if BATCH_LOSS not in key}
              for i in range(len(history["loss"]))]
    epochs[-1].setdefault("val_loss", validation_loss)
    return epochs


def save_model(model: keras.Model, path: Path) -> None:
    """Keras insists on the .keras suffix, so the partial file keeps it. A full disk is
    reported with ``path`` (atomic_path), whatever Keras's writer said."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial:
        staged = partial.with_name(partial.name + ".keras")
        try:
            model.save(staged)
            os.replace(staged, partial)
        finally:
            staged.unlink(missing_ok=True)


def load_model(path: Path) -> keras.Model:
    """A saved model; DataError naming the file if it is missing, truncated or not ours."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no trained model; run `massfield train {path.stem}` first")
    if not zipfile.is_zipfile(path):  # Keras calls a truncated archive "File not found"
        raise DataError(f"{path}: damaged or not a Keras model (not a complete .keras zip "
                        f"archive: truncated?); retrain it with `massfield train {path.stem}`")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001  (Keras raises many types for a damaged file)
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: damaged or not a Keras model ({reason}); retrain it with "
                        f"`massfield train {path.stem}`") from None
