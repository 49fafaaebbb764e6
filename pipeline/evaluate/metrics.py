"""Scores of mass predictions: the report's (R², Pearson) and the ones it lacked."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from ..learn.calibration import interval, linear_interval
from ..learn.scores import r2_score

CALIBRATION_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


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


def uncertainty_metrics(truth: np.ndarray, center: np.ndarray, sigma_log: np.ndarray,
                        mass_range: tuple[float, float]) -> dict:
    """Coverage of the log-normal predictive intervals (median ``center``, log-space
    ``sigma_log``) at several nominal levels, overall and for the 90 % level in each
    tercile of the true mass; NLL of the log-normal density (in mass units, so that it
    compares with a Gaussian's)."""
    def covered(level: float, rows=slice(None)) -> float:
        lower, upper = interval(center[rows], sigma_log[rows], norm.ppf(0.5 + level / 2),
                                mass_range)
        return float(np.mean((lower <= truth[rows]) & (truth[rows] <= upper)))

    observed = {f"{level:.2f}": covered(level) for level in CALIBRATION_LEVELS}
    edges = np.quantile(truth, [1 / 3, 2 / 3])
    terciles = np.digitize(truth, edges)
    z = (np.log(truth) - np.log(center)) / sigma_log
    nll = np.log(truth * sigma_log) + 0.5 * z ** 2 + 0.5 * math.log(2 * math.pi)
    return {"coverage_90": observed["0.90"],
            "coverage_90_by_tercile": [covered(0.9, terciles == k) for k in range(3)],
            "nll": float(np.mean(nll)), "mean_sigma": float(np.mean(center * sigma_log)),
            "calibration": observed}


def r2_per_step(truth: np.ndarray, per_step: np.ndarray) -> list[float]:
    """R² of the prediction made after each time step (recurrent models)."""
    return [r2_score(truth, per_step[:, t]) for t in range(per_step.shape[1])]


def parameter_scores(truth: np.ndarray, out: dict, value_range: tuple[float, float]) -> dict:
    """A task's parameter other than the mass: R², MAE, the median relative error where its
    prior stays away from zero (else None: a drag or charge near 0 makes it meaningless),
    and the Gaussian predictive distribution's coverage (overall, per third of the true
    values) and NLL."""
    regression = regression_metrics(truth, out["mean"])
    center, sigma = out["center"], out["sigma"]

    def covered(level: float, rows=slice(None)) -> float:
        lower, upper = linear_interval(center[rows], sigma[rows], norm.ppf(0.5 + level / 2),
                                       value_range)
        return float(np.mean((lower <= truth[rows]) & (truth[rows] <= upper)))

    thirds = np.digitize(truth, np.quantile(truth, [1 / 3, 2 / 3]))
    z = (truth - center) / sigma
    return {"r2": regression["r2"], "mae": regression["mae"],
            "median_relative_error": (regression["median_relative_error"]
                                      if value_range[0] > 0 else None),
            "coverage_90": covered(0.9),
            "coverage_90_by_tercile": [covered(0.9, thirds == k) for k in range(3)],
            "nll": float(np.mean(np.log(sigma) + 0.5 * z ** 2 + 0.5 * math.log(2 * math.pi))),
            "calibration": {f"{level:.2f}": covered(level) for level in CALIBRATION_LEVELS}}
