"""``massfield plot``: every figure, plus the CSV/JSON curves ``dvc plots show`` renders."""

from __future__ import annotations

import csv
from pathlib import Path

from ..config import PhysicsConfig
from ..evaluate.metrics import CALIBRATION_LEVELS
from ..evaluate.metrics_record import Metrics
from ..evaluate.table import ordered
from ..store.summary import read_sample
from . import report, results
from .samples import plot_sample


def _write_csv(path: Path, header: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def dvc_curves(out: Path, metrics: Metrics, predictions: dict, histories: dict) -> None:
    curves = out / "curves"
    for name, history in histories.items():
        _write_csv(curves / f"loss_{name}.csv", ["step", "loss"],
                   enumerate(history.step_loss))
    names = [*ordered(metrics.models), *(["physics"] if "physics" in predictions else [])]
    _write_csv(curves / "predictions.csv", ["mass", *names],
               zip(predictions["mass"], *(predictions[n] for n in names), strict=True))
    per_step = {n: s.r2_per_step for n, s in metrics.models.items() if s.r2_per_step is not None}
    if per_step:
        length = len(next(iter(per_step.values())))
        _write_csv(curves / "r2_per_step.csv", ["snapshots", *per_step],
                   [[t + 1, *(per_step[n][t] for n in per_step)] for t in range(length)])
    _write_csv(curves / "calibration.csv", ["nominal", *metrics.models],
               [[level, *(s.calibration[f"{level:.2f}"] for s in metrics.models.values())]
                for level in CALIBRATION_LEVELS])


def make_all(metrics: Metrics, predictions: dict, histories: dict, store: Path,
             physics: PhysicsConfig, out: Path, repeats: dict | None = None) -> list[Path]:
    """Every figure and DVC curve; ``physics`` is the store's, ``histories`` keyed as the
    metrics' models."""
    out = Path(out)
    made = [
        results.predicted_vs_actual(predictions, metrics, out / "predicted_vs_actual.png"),
        results.training_loss(histories, out / "training_loss.png"),
        results.per_step_ratio(predictions, metrics, out / "per_step_ratio.png"),
        results.r2_per_step(metrics, out / "r2_per_step.png"),
        results.calibration(metrics, out / "calibration.png"),
        results.residuals(predictions, metrics, out / "residuals.png"),
        report.four_warm(out / "four_warm.png", physics),
        report.loss_functions(out / "loss_functions.png"),
        report.fields_with_trajectories(out / "fields.png", physics),
    ]
    made.append(plot_sample(read_sample(store, 0), physics, out / "sample_inputs.png"))
    if repeats:
        made.append(results.r2_distribution(repeats, out / "r2_repeats.png"))
    joint = results.joint_coverage(metrics, out / "joint_coverage.png")
    if joint is not None:
        made.append(joint)
    dvc_curves(out, metrics, predictions, histories)
    return made
