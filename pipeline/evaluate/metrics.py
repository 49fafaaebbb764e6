"""Scores of mass predictions: the report's (R², Pearson) and the ones it lacked."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

CALIBRATION_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def r2_score(truth: np.ndarray, prediction: np.ndarray) -> float:
    residual = np.sum((truth - prediction) ** 2)
    total = np.sum((truth - truth.mean()) ** 2)
    return float(1.0 - residual / total) if total > 0 else math.nan


def regression_metrics(truth: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    relative = np.abs(prediction - truth) / np.abs(truth)
    constant = np.ptp(prediction) <= 1e-12 * max(np.max(np.abs(prediction)), 1.0)
    return {
        "r2": r2_score(truth, prediction),
        "pearson": math.nan if constant else float(np.corrcoef(truth, prediction)[0, 1]),
        "mae": float(np.mean(np.abs(prediction - truth))),
        "mean_relative_error": float(np.mean(relative)),
        "median_relative_error": float(np.median(relative)),
    }


def uncertainty_metrics(truth: np.ndarray, mean: np.ndarray, sigma: np.ndarray) -> dict:
    """Coverage of central intervals at several nominal levels, and Gaussian NLL."""
    z = np.abs(truth - mean) / sigma
    observed = {f"{level:.2f}": float(np.mean(z <= norm.ppf(0.5 + level / 2)))
                for level in CALIBRATION_LEVELS}
    nll = np.log(sigma) + 0.5 * z ** 2 + 0.5 * math.log(2 * math.pi)
    return {"coverage_90": observed["0.90"], "nll": float(np.mean(nll)),
            "mean_sigma": float(np.mean(sigma)), "calibration": observed}


def r2_per_step(truth: np.ndarray, per_step: np.ndarray) -> list[float]:
    """R² of the prediction made after each time step (recurrent models)."""
    return [r2_score(truth, per_step[:, t]) for t in range(per_step.shape[1])]
