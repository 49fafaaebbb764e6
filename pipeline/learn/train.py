"""Train one model on a store's train split, validate on its validation split.

Writes ``MODEL.keras`` and ``MODEL.history.json`` (loss per step and per epoch, the
config, the wall time, the validation calibration of its uncertainty). Refuses a
store that is missing, damaged, or generated with other params than ours. The test
split is never opened here.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
import warnings
from pathlib import Path
from typing import Callable

import keras

from ..config import Params
from ..errors import DataError
from ..store.atomic import atomic_path, write_json
from ..store.manifest import read_manifest
from ..store.shard import generation_params
from ..store.verify import verify_shard
from .calibration import calibrate
from .data import Normaliser, split_dataset
from .losses import BatchLoss, MassLoss
from .models import VIEWS, build_model, check_model_name
from .predict import predict_outputs


BATCH_LOSS = "batch_loss"
# Keras leaves XLA off on CPU-only machines. Compiled, a training step on 2 cores is
# 1.4-1.7x faster for the CNN, 1.5-1.7x for the RNN, 1.8-2.1x for the CRNN and up to 1.35x
# for the DNN (benchmarks/train_speed.py), but compiling costs 5-60 s a model (the
# feed-forward mass scan is a long graph): worth it for long runs only.
XLA_MIN_STEPS = 1000


def use_xla(cfg, total_steps: int) -> bool:
    """Whether ``train.<model>.xla`` asks for an XLA-compiled training step."""
    return cfg.xla == "always" or (cfg.xla == "auto" and total_steps >= XLA_MIN_STEPS)


def compile_model(model: keras.Model, cfg, total_steps: int, xla: bool | None = None) -> None:
    """Loss, optimiser (its schedule spans ``total_steps``) and the per-step loss metric."""
    loss = MassLoss(cfg.loss, cfg.huber_delta, cfg.loss_every_step)
    model.compile(optimizer=_optimizer(cfg, total_steps), loss=loss,
                  metrics=[BatchLoss(loss, name=BATCH_LOSS)],
                  jit_compile=use_xla(cfg, total_steps) if xla is None else xla)


def check_store(directory: Path, params: Params, splits=("train", "validation")) -> dict:
    """The manifest of a store that training may use; DataError naming the problem if not."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest["params"] != generation_params(params):
        raise DataError(f"{directory} was generated with params other than those given "
                        f"(physics/generate differ); run `massfield generate` first")
    for entry in manifest["shards"]:
        if entry["split"] in splits:
            problems = verify_shard(directory / entry["file"], entry)
            if problems:
                raise DataError(f"{directory / entry['file']}: {problems[0]}; "
                                f"re-run `massfield generate` to repair the store")
    return manifest


class StepLog(keras.callbacks.Callback):
    """Each optimiser step's own training loss (the report's figures 9 and 11)."""

    def __init__(self):
        super().__init__()
        self.losses: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs[BATCH_LOSS]))


def _optimizer(cfg, total_steps: int) -> keras.optimizers.Optimizer:
    rate = cfg.learning_rate
    if cfg.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, total_steps, alpha=0.02)
    return keras.optimizers.Adam(rate)


def _steps_per_epoch(cfg, manifest: dict) -> int:
    if cfg.steps_per_epoch:
        return cfg.steps_per_epoch
    n_train = sum(e["n_samples"] for e in manifest["shards"] if e["split"] == "train")
    return max(1, n_train // cfg.batch_size)


def train_model(name: str, params: Params, data_dir: Path, out_dir: Path,
                log: Callable[[str], None] = print,
                verbose: bool = False) -> tuple[keras.Model, dict]:
    """Fit ``name`` with ``params.train.<name>``; returns the model and the history saved."""
    check_model_name(name)
    cfg = params.train.model(name)
    manifest = check_store(data_dir, params)
    physics = params.physics
    view = VIEWS[name]
    steps = _steps_per_epoch(cfg, manifest)
    normaliser = Normaliser.from_store(data_dir)
    train = split_dataset(data_dir, "train", view, cfg.batch_size, shuffle_seed=cfg.seed,
                          repeat=True, normaliser=normaliser)
    validation = split_dataset(data_dir, "validation", view, 256, normaliser=normaliser)
    model = build_model(name, cfg, physics, normaliser)
    compile_model(model, cfg, steps * cfg.epochs)
    step_log = StepLog()
    callbacks = [step_log]
    if cfg.patience:
        callbacks.append(keras.callbacks.EarlyStopping(patience=cfg.patience,
                                                       restore_best_weights=True))
    log(f"{name}: preset {cfg.preset}, {model.count_params()} parameters, "
        f"{cfg.epochs} epochs × {steps} steps of {cfg.batch_size}"
        f"{', XLA' if model.jit_compile else ''}")
    started = time.perf_counter()
    with warnings.catch_warnings():  # Keras warns, wrongly, that a validation set ran dry
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        fit = model.fit(train, validation_data=validation, epochs=cfg.epochs,
                        steps_per_epoch=steps, callbacks=callbacks, shuffle=False,
                        verbose=2 if verbose else 0)
    seconds = time.perf_counter() - started
    validation_predictions = predict_outputs(model, validation)
    history = {
        "model": name, "config": params.to_dict()["train"][name], "view": view,
        "normaliser": dataclasses.asdict(normaliser),
        "parameters": int(model.count_params()), "train_seconds": seconds,
        "step_loss": step_log.losses,
        "epochs": [{key: float(values[i]) for key, values in fit.history.items()
                    if BATCH_LOSS not in key} for i in range(len(fit.history["loss"]))],
        "calibration": calibrate(validation_predictions),
    }
    save_model(model, Path(out_dir) / f"{name}.keras")
    write_json(Path(out_dir) / f"{name}.history.json", history)
    last = history["epochs"][-1]
    log(f"{name}: trained in {seconds:.0f} s, loss {last['loss']:.4f}, "
        f"val_loss {last.get('val_loss', math.nan):.4f}")
    return model, history


def save_model(model: keras.Model, path: Path) -> None:
    """Keras insists on the .keras suffix, so the partial file keeps it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial:
        staged = partial.with_name(partial.name + ".keras")
        try:
            model.save(staged)
            os.replace(staged, partial)
        finally:
            staged.unlink(missing_ok=True)


def load_model(path: Path) -> keras.Model:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no trained model; run `massfield train {path.stem}` first")
    try:
        return keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot load model ({str(exc).splitlines()[0]}); "
                        f"retrain it with `massfield train {path.stem}`") from None


def read_history(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run `massfield train` first") from None
