"""``massfield evaluate``: every trained model and both baselines on the same samples.

Samples: the test split of a store, or every shard of a store, a directory of shards or
one shard file. Every shard is checked before it is read, every model is refused if it
was trained on other physics, and shards are streamed one at a time: memory does not
grow with the store (only the predictions themselves, a few floats a sample). Writes
metrics.json (strict JSON, for ``dvc metrics show``) and one CSV row per sample.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..config import params_from_dict
from ..errors import DataError
from ..store.atomic import atomic_path, write_json
from ..store.manifest import MANIFEST
from ..store.reader import MODEL_FIELDS, read_shard, shard_files
from .compatibility import check_compatible, evaluation_params
from .metrics import r2_per_step, regression_metrics, uncertainty_metrics
from .physics_baseline import physics_inversion

# The report's Table 1 (R² on its unseen data).
REPORT_TABLE_1 = {"dnn": 0.373, "cnn": 0.408, "rnn": -0.038, "crnn": 0.461}


def evaluation_files(location: Path, all_shards: bool = False) -> tuple[list[Path], str]:
    """The test split of a store (unless ``all_shards``), else every shard; all checked."""
    location = Path(location)
    if location.is_dir() and (location / MANIFEST).exists() and not all_shards:
        return shard_files(location, "test"), "test split"
    return shard_files(location), "all shards"


def trained_models(models_dir: Path) -> dict[str, Path]:
    """Every MODEL.keras under ``models_dir``, keyed by its folder (data/models/dnn-no-scan/
    dnn.keras → "dnn-no-scan"), or by its name when it lies directly in ``models_dir``."""
    models_dir = Path(models_dir)
    found = {}
    for path in sorted(models_dir.glob("**/*.keras")):
        key = path.stem if path.parent == models_dir else path.parent.name
        found.setdefault(key, path)
    return found


def _baseline_mean(histories: dict[str, dict]) -> float:
    """The train-split mean mass of the store the models were trained on."""
    means = {round(h["store"]["train_mass_mean"], 12) for h in histories.values()}
    if len(means) != 1:
        raise DataError("the models were trained on different stores (their train mean "
                        "masses differ); evaluate each store's models separately")
    return next(iter(means))


def baselines_on(files: list[Path], physics) -> dict[str, np.ndarray]:
    """True mass and the physics inversion — from ψ, as the models see the field, and from
    the fine field φ, which no model sees — one shard at a time."""
    columns = {"mass": [], "physics": [], "physics_fine_field": []}
    for path in files:
        psi, encoding, mass, offset = read_shard(str(path), (*MODEL_FIELDS, "noise_offset"))
        columns["mass"].append(mass)
        columns["physics"].append(physics_inversion(psi, encoding, physics))
        columns["physics_fine_field"].append(physics_inversion(psi, encoding, physics,
                                                               noise_offset=offset))
    return {name: np.concatenate(values) for name, values in columns.items()}


def score_model(path: Path, model, history: dict, files: list[Path],
                mass: np.ndarray) -> tuple[dict, dict]:
    """Metrics and per-sample columns of one saved model."""
    from ..learn.calibration import predictive
    from ..learn.data import Normaliser
    from ..learn.predict import predict_files

    raw = predict_files(model, [str(f) for f in files], history["view"],
                        Normaliser(**history["normaliser"]))
    if not np.array_equal(raw["mass"], mass.astype(np.float32).astype(np.float64)):
        raise DataError(f"{path}: the loader and the baseline read different samples")
    calibration = history["calibration"]
    out = predictive(raw, calibration)
    mass_range = tuple(calibration["mass_range"])
    per_step = np.clip(raw["per_step"], *mass_range)
    metrics = {**regression_metrics(mass, out["mean"]),
               **uncertainty_metrics(mass, out["center"], out["sigma_log"], mass_range),
               "uncertainty": calibration["method"], "model": history["model"],
               "preset": history["config"]["preset"],
               "mass_scan": history["config"]["mass_scan"], "simulator": history["simulator"],
               "parameters": history["parameters"], "train_seconds": history["train_seconds"],
               "train_samples": history["train_samples"]}
    columns = {"": out["mean"], "_sigma": out["sigma"], "_lower_90": out["lower_90"],
               "_upper_90": out["upper_90"]}
    if per_step.shape[1] > 1:
        metrics["r2_per_step"] = r2_per_step(mass, per_step)
        columns.update({f"_t{t}": per_step[:, t] for t in range(per_step.shape[1])})
    return metrics, columns


def load_models(models_dir: Path, given: dict, location: Path, allow_shift: bool = False,
                only: str | None = None) -> dict[str, tuple[Path, object, dict]]:
    """Every trained model under ``models_dir`` (or just ``only``), loaded, with its
    history; each checked against the physics of the shards to score before any work."""
    from ..learn.train import load_model, read_history

    found = trained_models(models_dir)
    if not found:
        raise DataError(f"{models_dir}: no trained models; run `massfield train MODEL` first")
    if only is not None:
        if only not in found:
            raise DataError(f"{models_dir}: no trained {only}; run `massfield train {only}` "
                            f"first (found: {', '.join(found)})")
        found = {only: found[only]}
    models = {}
    for key, path in found.items():
        history = read_history(path.with_name(f"{path.stem}.history.json"))
        check_compatible(path, history, given, location, allow_shift)
        models[key] = (path, load_model(path), history)
    return models


def evaluate(data_dir: Path, models_dir: Path, metrics_path: Path, predictions_path: Path,
             all_shards: bool = False, allow_shift: bool = False, log=print) -> dict:
    files, scope = evaluation_files(data_dir, all_shards)
    given = evaluation_params(data_dir, files)
    physics = params_from_dict(given, f"{data_dir}").physics
    models = load_models(models_dir, given, data_dir, allow_shift)
    columns = baselines_on(files, physics)
    mass = columns["mass"]
    log(f"evaluating on {len(mass)} samples ({scope} of {data_dir})")
    columns["mean_baseline"] = np.full_like(mass, _baseline_mean(
        {key: history for key, (_, _, history) in models.items()}))
    baselines = {"predict_the_mean": regression_metrics(mass, columns["mean_baseline"]),
                 "physics_inversion": regression_metrics(mass, columns["physics"]),
                 "physics_inversion_fine_field": regression_metrics(
                     mass, columns["physics_fine_field"])}
    log(f"physics inversion baseline: R² {baselines['physics_inversion']['r2']:.4f}")
    scores = {}
    for key, (path, model, history) in models.items():
        scores[key], model_columns = score_model(path, model, history, files, mass)
        columns.update({f"{key}{suffix}": values for suffix, values in model_columns.items()})
        log(f"{key}: R² {scores[key]['r2']:.4f}, 90 % coverage {scores[key]['coverage_90']:.3f}")
    metrics = {"samples": int(len(mass)), "scope": scope, "models": scores,
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
    """The predictions CSV as columns; DataError naming the file if missing or damaged."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        return {key: np.array([float(row[key]) for row in rows]) for key in rows[0]}
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run `massfield evaluate` first") from None
    except (OSError, ValueError, IndexError, TypeError, UnicodeDecodeError, csv.Error):
        raise DataError(f"{path}: damaged predictions file; re-run `massfield evaluate`") \
            from None
