"""``massfield evaluate``: every trained model and both baselines on the same samples.

Samples: the test split of a store, or every shard of any directory in our schema
(with or without a manifest). Writes metrics.json (for ``dvc metrics show``) and one
CSV row of predictions per sample.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import numpy as np

from ..config import MODEL_NAMES, params_from_dict
from ..errors import DataError
from ..store.atomic import atomic_path, write_json
from ..store.manifest import MANIFEST
from ..store.reader import read_arrays, store_files
from .metrics import r2_per_step, regression_metrics, uncertainty_metrics
from .physics_baseline import physics_inversion

# The report's Table 1 (R² on its unseen data).
REPORT_TABLE_1 = {"dnn": 0.373, "cnn": 0.408, "rnn": -0.038, "crnn": 0.461}


def evaluation_files(data_dir: Path, all_shards: bool = False) -> tuple[list[Path], str]:
    """The test split when there is a manifest, else (or if asked) every shard."""
    data_dir = Path(data_dir)
    if (data_dir / MANIFEST).exists() and not all_shards:
        return store_files(data_dir, "test"), "test split"
    return store_files(data_dir, None), "all shards"


def shard_physics(path: Path):
    with h5py.File(path, "r") as h5:
        return params_from_dict(json.loads(h5.attrs["params"])).physics


def trained_models(models_dir: Path) -> dict[str, Path]:
    """MODEL.keras files under ``models_dir`` (flat, or one folder per model as DVC makes)."""
    found = {}
    for name in MODEL_NAMES:
        paths = sorted(Path(models_dir).glob(f"**/{name}.keras"))
        if paths:
            found[name] = paths[0]
    return found


def score_model(path: Path, files: list[Path], mass: np.ndarray) -> tuple[dict, dict]:
    """Metrics and per-sample predictions of one saved model."""
    from ..learn.data import Normaliser
    from ..learn.calibration import calibrated_sigma
    from ..learn.predict import predict_files
    from ..learn.train import load_model, read_history

    history = read_history(path.with_name(f"{path.stem}.history.json"))
    model = load_model(path)
    predictions = predict_files(model, [str(f) for f in files], history["view"],
                                Normaliser(**history["normaliser"]))
    sigma = calibrated_sigma(predictions, history["calibration"])
    metrics = {**regression_metrics(mass, predictions["mean"]),
               **uncertainty_metrics(mass, predictions["mean"], sigma),
               "uncertainty": history["calibration"]["method"],
               "preset": history["config"]["preset"], "parameters": history["parameters"],
               "train_seconds": history["train_seconds"]}
    if predictions["per_step"].shape[1] > 1:
        metrics["r2_per_step"] = r2_per_step(mass, predictions["per_step"])
    columns = {"": predictions["mean"], "_sigma": sigma}
    if predictions["per_step"].shape[1] > 1:
        columns.update({f"_t{t}": predictions["per_step"][:, t]
                        for t in range(predictions["per_step"].shape[1])})
    return metrics, columns


def evaluate(data_dir: Path, models_dir: Path, metrics_path: Path, predictions_path: Path,
             train_stats_dir: Path | None = None, all_shards: bool = False, log=print) -> dict:
    files, scope = evaluation_files(data_dir, all_shards)
    psi, encoding, mass = read_arrays(files)
    physics = shard_physics(files[0])
    log(f"evaluating on {len(mass)} samples ({scope} of {data_dir})")
    columns: dict[str, np.ndarray] = {"mass": mass}
    baselines = {}
    stats_dir = Path(train_stats_dir or data_dir)
    try:
        train_mean = json.loads((stats_dir / "stats.json").read_text())["mass"]["mean"]
    except (OSError, KeyError, json.JSONDecodeError):
        train_mean = 0.5 * (physics.mass_low + physics.mass_high)  # the prior's mean
    columns["mean_baseline"] = np.full_like(mass, train_mean)
    baselines["predict_the_mean"] = regression_metrics(mass, columns["mean_baseline"])
    columns["physics"] = physics_inversion(psi, encoding, physics)
    baselines["physics_inversion"] = regression_metrics(mass, columns["physics"])
    log(f"physics inversion baseline: R² {baselines['physics_inversion']['r2']:.4f}")
    models = {}
    found = trained_models(models_dir)
    if not found:
        raise DataError(f"{models_dir}: no trained models; run `massfield train MODEL` first")
    for name, path in found.items():
        models[name], model_columns = score_model(path, files, mass)
        columns.update({f"{name}{suffix}": values for suffix, values in model_columns.items()})
        log(f"{name}: R² {models[name]['r2']:.4f}, 90 % coverage "
            f"{models[name]['coverage_90']:.3f}")
    metrics = {"samples": int(len(mass)), "scope": scope, "models": models,
               "baselines": baselines, "report_table_1_r2": REPORT_TABLE_1}
    write_json(Path(metrics_path), metrics)
    write_predictions(Path(predictions_path), columns)
    return metrics


def write_predictions(path: Path, columns: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial, open(partial, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample", *columns])
        for i in range(len(columns["mass"])):
            writer.writerow([i, *(f"{values[i]:.6g}" for values in columns.values())])


def read_predictions(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run `massfield evaluate` first") from None
    return {key: np.array([float(row[key]) for row in rows]) for key in rows[0]}
