"""The report's result figures (7–11) and ours (calibration, residuals), from evaluation files.

Predictors are keyed as in metrics.json (``dnn``, ``dnn-no-scan``, …, ``physics``,
``mean_baseline``); ``labels`` names each one for the reader. Every figure function here
and in the other figure modules writes ``path`` and returns it, or with ``path`` None
returns the figure, open, to look at or test (close it after).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..config import MODEL_LABELS
from ..evaluate.metrics import CALIBRATION_LEVELS
from ..evaluate.metrics_record import BaselineScores, Metrics, ModelScores
from ..evaluate.table import BASELINE_LABELS, model_label, ordered
from .common import save

if TYPE_CHECKING:
    from ..learn.record import TrainingRecord

BASELINE_COLUMNS = {"physics": "physics_inversion",
                    "physics_fine_field": "physics_inversion_fine_field",
                    "mean_baseline": "predict_the_mean"}


def labels(metrics: Metrics) -> dict[str, str]:
    """Every predictor's key → the label the README's table gives it."""
    found = {key: model_label(key, scores) for key, scores in metrics.models.items()}
    found.update({column: BASELINE_LABELS[key] for column, key in BASELINE_COLUMNS.items()})
    return found


def _score(metrics: Metrics, key: str) -> ModelScores | BaselineScores:
    return metrics.models.get(key) or metrics.baselines[BASELINE_COLUMNS[key]]


def predicted_vs_actual(predictions: dict, metrics: Metrics,
                        path: Path | None) -> Path | Figure:
    """Figures 7, 10, 11 (bottom): predicted against true mass, one panel per predictor."""
    names = [n for n in ordered(metrics.models) + list(BASELINE_COLUMNS) if n in predictions]
    named = labels(metrics)
    columns = 3
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(13, 4.2 * rows), sharex=True, sharey=True,
                             squeeze=False)
    mass = predictions["mass"]
    for ax, name in zip(axes.flat, names, strict=False):  # spare panels stay blank
        ax.scatter(mass, predictions[name], s=3, alpha=0.4)
        ax.plot([mass.min(), mass.max()], [mass.min(), mass.max()], color="red", lw=1)
        r2 = _score(metrics, name).r2
        ax.set_title(f"{named[name]}: R² {r2:.3f}" if r2 is not None else named[name],
                     fontsize=9)
        ax.set(xlabel="true mass", ylabel="predicted mass")
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    fig.suptitle(f"Predicted against true mass, {metrics.samples} held-out samples")
    return save(fig, path)


def training_loss(histories: dict[str, TrainingRecord], path: Path | None,
                  window: int = 100) -> Path | Figure:
    """Figures 9 and 11 (top left): loss per step with a rolling mean."""
    fig, axes = plt.subplots(1, len(histories), figsize=(4.2 * len(histories), 3.8),
                             squeeze=False)
    for ax, (key, history) in zip(axes[0], histories.items(), strict=True):
        losses = np.asarray(history.step_loss)
        ax.plot(losses, lw=0.4, alpha=0.5, label="per step")
        if losses.size >= window:
            rolling = np.convolve(losses, np.ones(window) / window, mode="valid")
            ax.plot(np.arange(window - 1, losses.size), rolling, color="red",
                    label=f"rolling mean ({window})")
        ax.set(title=f"{key} ({history.config.loss} loss)", xlabel="step",
               ylabel="training loss")
        ax.legend(fontsize=7)
    return save(fig, path)


def _recurrent(metrics: Metrics) -> list[str]:
    return [key for key in ordered(metrics.models) if metrics.models[key].r2_per_step is not None]


def per_step_ratio(predictions: dict, metrics: Metrics, path: Path | None,
                   n_lines: int = 150) -> Path | Figure:
    """Figure 11 (top right): prediction after each time step divided by the true mass."""
    recurrent = _recurrent(metrics)
    named = labels(metrics)
    fig, axes = plt.subplots(1, max(len(recurrent), 1), figsize=(6 * max(len(recurrent), 1), 4),
                             squeeze=False)
    for ax, name in zip(axes[0], recurrent, strict=False):  # one blank panel if none
        steps = sorted(int(k.rsplit("_t", 1)[1]) for k in predictions
                       if k.startswith(f"{name}_t"))
        ratio = np.stack([predictions[f"{name}_t{t}"] for t in steps], axis=1)
        ratio = ratio / predictions["mass"][:, None]
        ax.plot(steps, ratio[:n_lines].T, lw=0.5, alpha=0.4, color="tab:blue")
        ax.axhline(1.0, color="red", lw=1)
        ax.set(title=f"{named[name]}: prediction / true mass", xlabel="time step",
               ylim=(0, 3))
    return save(fig, path)


def r2_per_step(metrics: Metrics, path: Path | None) -> Path | Figure:
    """R² after t snapshots for the recurrent models."""
    fig, ax = plt.subplots(figsize=(6, 4))
    named = labels(metrics)
    for name in _recurrent(metrics):
        scores = metrics.models[name].r2_per_step
        ax.plot(np.arange(1, len(scores) + 1), scores, "o-", label=named[name])
    physics = metrics.baselines["physics_inversion"].r2
    if physics is not None:
        ax.axhline(physics, color="grey", ls="--", label="physics inversion (3 snapshots)")
    ax.set(xlabel="snapshots seen", ylabel="R²", ylim=(-0.2, 1.0),
           title="R² of the prediction after t snapshots")
    ax.legend(fontsize=8)
    return save(fig, path)


def calibration(metrics: Metrics, path: Path | None) -> Path | Figure:
    """Nominal against observed coverage of central intervals."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", label="perfect")
    named = labels(metrics)
    for name in ordered(metrics.models):
        scores = metrics.models[name]
        observed = [scores.calibration[f"{level:.2f}"] for level in CALIBRATION_LEVELS]
        ax.plot(CALIBRATION_LEVELS, observed, "o-", ms=3,
                label=f"{named[name]} (90 %: {scores.coverage_90:.3f})")
    ax.set(xlabel="nominal coverage", ylabel="observed coverage on test",
           title="Calibration of the log-mass intervals")
    ax.legend(fontsize=7)
    return save(fig, path)


def joint_coverage(metrics: Metrics, path: Path | None) -> Path | Figure | None:
    """TARP's expected coverage of every hidden parameter at once, per credible level
    (a task of several parameters; None for the mass task)."""
    scored = {name: s.joint_coverage for name, s in metrics.models.items() if s.joint_coverage}
    if not scored:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", label="calibrated")
    named = labels(metrics)
    for name in (n for n in ordered(metrics.models) if n in scored):
        ax.plot(scored[name]["levels"], scored[name]["expected_coverage"], "o-", ms=3,
                label=f"{named[name]} (largest gap {scored[name]['max_gap']:.3f})")
    ax.set(xlabel="credible level", ylabel="expected coverage (TARP)",
           title="Joint calibration of every hidden parameter")
    ax.legend(fontsize=7)
    return save(fig, path)


def residuals(predictions: dict, metrics: Metrics, path: Path | None) -> Path | Figure:
    """Residual against true mass: does a model reach the top of the mass range (§4.3)?"""
    names = ordered(metrics.models) + [n for n in ["physics"] if n in predictions]
    named = labels(metrics)
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.6), sharey=True,
                             squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        ax.scatter(predictions["mass"], predictions[name] - predictions["mass"], s=2, alpha=0.3)
        ax.axhline(0, color="red", lw=1)
        ax.set_title(named[name], fontsize=8)
        ax.set(xlabel="true mass", ylabel="prediction − truth")
    return save(fig, path)


def r2_distribution(repeats: dict[str, list[float]],
                    path: Path | None) -> Path | Figure:
    """Figure 8: R² over repeated training runs, one box per model and preset."""
    fig, ax = plt.subplots(figsize=(6, 4))
    names = list(repeats)
    ax.boxplot([repeats[n] for n in names], showmeans=True)
    for i, name in enumerate(names, start=1):
        ax.scatter(np.full(len(repeats[name]), i), repeats[name], s=10, color="black")
    ax.set_xticks(range(1, len(names) + 1),
                  [f"{MODEL_LABELS[n.split(':')[0]]} ({n.split(':')[1]})" for n in names])
    ax.set(ylabel="R² on test", title="R² over repeated training runs")
    return save(fig, path)
