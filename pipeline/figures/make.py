"""``massfield plot``: every figure, plus the CSV/JSON curves ``dvc plots show`` renders."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..config import PhysicsConfig
from ..evaluate.metrics import CALIBRATION_LEVELS
from ..store.atomic import write_json
from ..store.summary import read_sample
from . import report, results
from .samples import plot_sample


def _write_csv(path: Path, header: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def dvc_curves(out: Path, metrics: dict, predictions: dict, histories: dict) -> None:
    curves = out / "curves"
    for name, history in histories.items():
        _write_csv(curves / f"loss_{name}.csv", ["step", "loss"],
                   enumerate(history["step_loss"]))
    names = [n for n in ("dnn", "cnn", "rnn", "crnn", "physics") if n in predictions]
    _write_csv(curves / "predictions.csv", ["mass", *names],
               zip(predictions["mass"], *(predictions[n] for n in names)))
    per_step = {n: s["r2_per_step"] for n, s in metrics["models"].items() if "r2_per_step" in s}
    if per_step:
        length = len(next(iter(per_step.values())))
        _write_csv(curves / "r2_per_step.csv", ["snapshots", *per_step],
                   [[t + 1, *(per_step[n][t] for n in per_step)] for t in range(length)])
    _write_csv(curves / "calibration.csv", ["nominal", *metrics["models"]],
               [[level, *(s["calibration"][f"{level:.2f}"] for s in metrics["models"].values())]
                for level in CALIBRATION_LEVELS])


def make_all(metrics: dict, predictions: dict, histories: dict, store: Path | None,
             physics: PhysicsConfig, out: Path, repeats: dict | None = None) -> list[Path]:
    out = Path(out)
    made = [
        results.predicted_vs_actual(predictions, metrics, out / "predicted_vs_actual.png"),
        results.training_loss(histories, out / "training_loss.png"),
        results.per_step_ratio(predictions, out / "per_step_ratio.png"),
        results.r2_per_step(metrics, out / "r2_per_step.png"),
        results.calibration(metrics, out / "calibration.png"),
        results.residuals(predictions, out / "residuals.png"),
        report.four_warm(out / "four_warm.png", physics),
        report.loss_functions(out / "loss_functions.png"),
        report.fields_with_trajectories(out / "fields.png", physics),
    ]
    if store is not None:
        made.append(plot_sample(read_sample(store, 0), physics, out / "sample_inputs.png"))
    if repeats:
        made.append(results.r2_distribution(repeats, out / "r2_repeats.png"))
    dvc_curves(out, metrics, predictions, histories)
    return made


def read_repeats(directory: Path) -> dict[str, list[float]]:
    """R² of repeated runs, from ``massfield repeat`` files (MODEL-PRESET.json)."""
    found = {}
    for path in sorted(Path(directory).glob("*.json")):
        record = json.loads(path.read_text())
        found[f"{record['model']}:{record['preset']}"] = record["r2"]
    return found


def write_repeats(directory: Path, model: str, preset: str, r2: list[float], extra: dict) -> Path:
    path = Path(directory) / f"{model}-{preset}.json"
    write_json(path, {"model": model, "preset": preset, "r2": r2,
                      "median_r2": float(np.median(r2)), **extra})
    return path
