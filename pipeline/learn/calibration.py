"""Physical predictions and calibrated intervals, fitted on the validation split only.

A mass is positive and, here, known to lie in [mass_low, mass_high): predictions are
clipped to that range, and intervals are built in log-mass, where errors are relative
and a bound can never fall below zero. Each prediction gets a log-space scale s — σ/m̂
for a Gaussian head, 1 for a point model (Huber, MSE, MAPE) — and the interval
m̂·exp(±q·s). The factor q is a split-conformal 90 % quantile of |log m − log m̂| / s on
the validation split, fitted separately in each tercile of the predicted mass, so that
the intervals hold 90 % across the mass range and not only on average. The predictive
distribution is log-normal with σ_log = q·s / 1.645 (for other levels and the NLL).
"""

from __future__ import annotations

import math

import numpy as np

Z90 = 1.6448536269514722  # standard normal 95th percentile: ±Z90 σ holds 90 %
LEVEL = 0.9
BINS = 3  # terciles of the predicted mass


def physical_mean(mean: np.ndarray, mass_range: tuple[float, float]) -> np.ndarray:
    """Predictions clipped into the range masses are drawn from."""
    return np.clip(mean, mass_range[0], mass_range[1])


def log_scale(predictions: dict, mean: np.ndarray) -> np.ndarray:
    """The model's own relative spread: σ/m̂ for a Gaussian head, 1 for a point model."""
    if "sigma" in predictions:
        return predictions["sigma"] / mean
    return np.ones_like(mean)


def _conformal_quantile(scores: np.ndarray, level: float = LEVEL) -> float:
    n = scores.size
    rank = min(math.ceil((n + 1) * level) / n, 1.0)
    return float(np.quantile(scores, rank, method="higher"))


def calibrate(predictions: dict, mass_range: tuple[float, float], bins: int = BINS) -> dict:
    """Per-bin scale factors from validation predictions (mass, mean[, sigma]); the bins
    are quantiles of the predicted mass (terciles by default)."""
    mean = physical_mean(predictions["mean"], mass_range)
    score = np.abs(np.log(predictions["mass"]) - np.log(mean)) / log_scale(predictions, mean)
    edges = [float(e) for e in np.quantile(mean, np.arange(1, bins) / bins)]
    which = np.digitize(mean, edges)
    factors = [_conformal_quantile(score[which == b]) if np.any(which == b)
               else _conformal_quantile(score) for b in range(bins)]
    method = "gaussian" if "sigma" in predictions else "point"
    return {"method": f"{method}, log-mass, split conformal per predicted-mass tercile",
            "space": "log", "edges": edges, "factors": factors,
            "mass_range": [float(mass_range[0]), float(mass_range[1])]}


def predictive(predictions: dict, calibration: dict) -> dict:
    """Physical mean, σ_log, the 90 % interval and a mass-unit σ for every sample."""
    low, high = calibration["mass_range"]
    mean = physical_mean(predictions["mean"], (low, high))
    factors = np.asarray(calibration["factors"])[np.digitize(mean, calibration["edges"])]
    sigma_log = factors * log_scale(predictions, mean) / Z90
    lower, upper = interval(mean, sigma_log, Z90, (low, high))
    return {"mean": mean, "sigma_log": sigma_log, "sigma": mean * sigma_log,
            "lower_90": lower, "upper_90": upper}


def interval(mean: np.ndarray, sigma_log: np.ndarray, z: float,
             mass_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The central interval m̂·exp(±z σ_log), clipped to the mass range (never below 0)."""
    return (np.clip(mean * np.exp(-z * sigma_log), *mass_range),
            np.clip(mean * np.exp(z * sigma_log), *mass_range))
