"""The report's result figures (7–11) and ours (calibration, residuals), from evaluation files."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ..evaluate.metrics import CALIBRATION_LEVELS

LABELS = {"dnn": "DNN", "cnn": "CNN", "rnn": "RNN", "crnn": "CRNN",
          "physics": "physics inversion", "mean_baseline": "predict the mean"}


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def predicted_vs_actual(predictions: dict, metrics: dict, path: Path) -> Path:
    """Figures 7, 10, 11 (bottom): predicted against true mass, one panel per predictor."""
    names = [n for n in ("dnn", "cnn", "rnn", "crnn") if n in predictions] + ["physics",
                                                                             "mean_baseline"]
    scores = {**metrics["models"], "physics": metrics["baselines"]["physics_inversion"],
              "mean_baseline": metrics["baselines"]["predict_the_mean"]}
    fig, axes = plt.subplots(2, 3, figsize=(13, 8.5), sharex=True, sharey=True)
    mass = predictions["mass"]
    for ax, name in zip(axes.flat, names):
        ax.scatter(mass, predictions[name], s=3, alpha=0.4)
        ax.plot([mass.min(), mass.max()], [mass.min(), mass.max()], color="red", lw=1)
        ax.set_title(f"{LABELS[name]}: R² {scores[name]['r2']:.3f}")
        ax.set(xlabel="true mass", ylabel="predicted mass")
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    fig.suptitle(f"Predicted against true mass, {metrics['samples']} held-out samples")
    return _save(fig, path)


def training_loss(histories: dict[str, dict], path: Path, window: int = 100) -> Path:
    """Figures 9 and 11 (top left): loss per step with a rolling mean."""
    fig, axes = plt.subplots(1, len(histories), figsize=(4.2 * len(histories), 3.8),
                             squeeze=False)
    for ax, (name, history) in zip(axes[0], histories.items()):
        losses = np.asarray(history["step_loss"])
        ax.plot(losses, lw=0.4, alpha=0.5, label="per step")
        if losses.size >= window:
            rolling = np.convolve(losses, np.ones(window) / window, mode="valid")
            ax.plot(np.arange(window - 1, losses.size), rolling, color="red",
                    label=f"rolling mean ({window})")
        ax.set(title=f"{LABELS[name]} ({history['config']['loss']} loss)", xlabel="step",
               ylabel="training loss")
        ax.legend(fontsize=7)
    return _save(fig, path)


def per_step_ratio(predictions: dict, path: Path, n_lines: int = 150) -> Path:
    """Figure 11 (top right): prediction after each time step divided by the true mass."""
    recurrent = [n for n in ("rnn", "crnn") if f"{n}_t0" in predictions]
    fig, axes = plt.subplots(1, max(len(recurrent), 1), figsize=(6 * max(len(recurrent), 1), 4),
                             squeeze=False)
    for ax, name in zip(axes[0], recurrent):
        steps = sorted(int(k.split("_t")[1]) for k in predictions if k.startswith(f"{name}_t"))
        ratio = np.stack([predictions[f"{name}_t{t}"] for t in steps], axis=1)
        ratio = ratio / predictions["mass"][:, None]
        ax.plot(steps, ratio[:n_lines].T, lw=0.5, alpha=0.4, color="tab:blue")
        ax.axhline(1.0, color="red", lw=1)
        ax.set(title=f"{LABELS[name]}: prediction / true mass", xlabel="time step",
               ylim=(0, 3))
    return _save(fig, path)


def r2_per_step(metrics: dict, path: Path) -> Path:
    """R² after t snapshots for the recurrent models."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, scores in metrics["models"].items():
        if "r2_per_step" in scores:
            steps = np.arange(1, len(scores["r2_per_step"]) + 1)
            ax.plot(steps, scores["r2_per_step"], "o-", label=LABELS[name])
    ax.axhline(metrics["baselines"]["physics_inversion"]["r2"], color="grey", ls="--",
               label="physics inversion (3 snapshots)")
    ax.set(xlabel="snapshots seen", ylabel="R²", ylim=(-0.2, 1.0),
           title="R² of the prediction after t snapshots")
    ax.legend()
    return _save(fig, path)


def calibration(metrics: dict, path: Path) -> Path:
    """Nominal against observed coverage of central intervals."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", label="perfect")
    for name, scores in metrics["models"].items():
        observed = [scores["calibration"][f"{level:.2f}"] for level in CALIBRATION_LEVELS]
        ax.plot(CALIBRATION_LEVELS, observed, "o-", ms=3,
                label=f"{LABELS[name]} (90 %: {scores['coverage_90']:.3f})")
    ax.set(xlabel="nominal coverage", ylabel="observed coverage on test",
           title="Calibration of the predicted σ")
    ax.legend(fontsize=8)
    return _save(fig, path)


def residuals(predictions: dict, path: Path) -> Path:
    """Residual against true mass: does a model reach the top of the mass range (§4.3)?"""
    names = [n for n in ("dnn", "cnn", "rnn", "crnn", "physics") if n in predictions]
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.6), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names):
        ax.scatter(predictions["mass"], predictions[name] - predictions["mass"], s=2, alpha=0.3)
        ax.axhline(0, color="red", lw=1)
        ax.set(title=LABELS[name], xlabel="true mass", ylabel="prediction − truth")
    return _save(fig, path)


def r2_distribution(repeats: dict[str, list[float]], path: Path) -> Path:
    """Figure 8: R² over repeated training runs, one box per model."""
    fig, ax = plt.subplots(figsize=(6, 4))
    names = list(repeats)
    ax.boxplot([repeats[n] for n in names], showmeans=True)
    for i, name in enumerate(names, start=1):
        ax.scatter(np.full(len(repeats[name]), i), repeats[name], s=10, color="black")
    ax.set_xticks(range(1, len(names) + 1), [LABELS.get(n.split(":")[0], n) + (
        f" ({n.split(':')[1]})" if ":" in n else "") for n in names])
    ax.set(ylabel="R² on test", title="R² over repeated training runs")
    return _save(fig, path)
