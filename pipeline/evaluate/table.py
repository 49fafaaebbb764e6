"""The README's results tables, made from the metrics files (never typed by hand)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..config import MODEL_LABELS, MODEL_NAMES
from ..errors import DataError
from .metrics_record import Metrics, ModelScores
from .run import REPORT_TABLE_1

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
BASELINE_LABELS = {"physics_inversion": "physics inversion from ψ (no learning)",
                   "physics_inversion_fine_field": "physics inversion from φ (no model sees φ)",
                   "predict_the_mean": "predict the mean"}


def model_label(key: str, scores: ModelScores) -> str:
    """"DNN, physics-informed + mass scan + physics fit" — what a row is, from what evaluate
    recorded."""
    label = f"{MODEL_LABELS[scores.model]}, {scores.preset}"
    if scores.model in ("dnn", "cnn") and scores.preset == "physics-informed":
        parts = [part for part, used in (("mass scan", scores.mass_scan),
                                         ("physics fit", scores.physics_fit)) if used]
        label += " + " + " + ".join(parts) if parts else ", no simulator"
    return label + (", loss at every step" if scores.loss_every_step else "")


def ordered(models: dict[str, ModelScores]) -> list[str]:
    """Metrics keys by architecture, then as trained (dnn, dnn-no-scan, cnn, …)."""
    return sorted(models, key=lambda key: (MODEL_NAMES.index(models[key].model), key))


def _number(value, digits: int, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{100 * value:.{digits}f} %" if percent else f"{value:.{digits}f}"


def _other_r2(holdout: Metrics | None, group: str, key: str) -> float | None:
    """R² of ``key`` among ``group`` (models, baselines) on the other seed, if scored."""
    scores = getattr(holdout, group).get(key) if holdout else None
    return scores.r2 if scores else None


def _main_table(metrics: Metrics, holdout: Metrics | None) -> list[str]:
    lines = [f"Held-out samples: {metrics.samples} ({metrics.scope})"
             + (f"; other seed: {holdout.samples} samples of a store generated with "
                f"`evaluate.holdout_seed`" if holdout else "")
             + ". Coverage: of the 90 % intervals, overall and in the light / middle / heavy "
               "third of true masses.", "",
             "| model | simulator | R² | R² other seed | MAE "
             "| median rel. error | 90 % coverage | by mass third | NLL | train time |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key in ordered(metrics.models):
        m = metrics.models[key]
        thirds = " / ".join(_number(c, 2) for c in m.coverage_90_by_tercile)
        lines.append(f"| {model_label(key, m)} | {'yes' if m.simulator else 'no'} "
                     f"| **{_number(m.r2, 3)}** "
                     f"| {_number(_other_r2(holdout, 'models', key), 3)} "
                     f"| {_number(m.mae, 4)} "
                     f"| {_number(m.median_relative_error, 1, percent=True)} "
                     f"| {_number(m.coverage_90, 3)} | {thirds} | {_number(m.nll, 2)} "
                     f"| {m.train_seconds:.0f} s |")
    for key, label in BASELINE_LABELS.items():
        b = metrics.baselines[key]
        lines.append(f"| {label} | {'no' if key == 'predict_the_mean' else 'yes'} "
                     f"| {_number(b.r2, 3)} "
                     f"| {_number(_other_r2(holdout, 'baselines', key), 3)} "
                     f"| {_number(b.mae, 4)} "
                     f"| {_number(b.median_relative_error, 1, percent=True)} | – | – | – | – |")
    return lines


def _per_step_table(metrics: Metrics) -> list[str]:
    curves = {model_label(k, m): m.r2_per_step for k, m in metrics.models.items()
              if m.r2_per_step is not None}
    if not curves:
        return []
    steps = len(next(iter(curves.values())))
    lines = ["", "R² of the prediction after t snapshots:", "",
             "| model | " + " | ".join(f"t={t}" for t in range(1, steps + 1)) + " |",
             "|---|" + "---|" * steps]
    return lines + [f"| {label} | " + " | ".join(_number(v, 3) for v in values) + " |"
                    for label, values in curves.items()]


def _repeats_table(repeats: dict) -> list[str]:
    lines = ["", "The report's Table 1, its architectures retrained (`massfield repeat`, "
             "R² of the raw output on the test split):", "",
             "| model (preset) | runs | median R² | report | within ±0.1 | all runs |",
             "|---|---|---|---|---|---|"]
    for key, values in repeats.items():
        name, preset = key.split(":")
        median = float(np.median(values))
        within = "yes" if abs(median - REPORT_TABLE_1[name]) <= 0.1 else "no"
        lines.append(f"| {MODEL_LABELS[name]} ({preset}) | {len(values)} | {median:.3f} | "
                     f"{REPORT_TABLE_1[name]:.3f} | {within} | "
                     + ", ".join(f"{v:.3f}" for v in values) + " |")
    return lines


def results_table(metrics: Metrics, repeats: dict | None = None,
                  holdout: Metrics | None = None) -> str:
    lines = _main_table(metrics, holdout)
    lines += [f"\nNote: {note}." for note in metrics.notes or []]
    lines += _per_step_table(metrics)
    if repeats:
        lines += _repeats_table(repeats)
    return "\n".join(lines)


def update_readme(readme: Path, table: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace what lies between the markers of ``readme`` with ``table``."""
    text = readme.read_text()
    if begin not in text or end not in text:
        raise DataError(f"{readme}: no {begin} … {end} markers to put the table between")
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    readme.write_text(pattern.sub(lambda _: f"{begin}\n{table}\n{end}", text))
