"""Calibrated 90 % intervals from the validation split, never the test split.

Gaussian heads: σ is rescaled so that 90 % of validation samples fall within
±1.645 σ. Point models: split conformal — σ is the validation 90 % quantile of the
absolute error over 1.645, the same for every sample.
"""

from __future__ import annotations

import math

import numpy as np

Z90 = 1.6448536269514722  # standard normal 95th percentile: ±Z90 σ holds 90 %
LEVEL = 0.9


def _conformal_quantile(scores: np.ndarray, level: float = LEVEL) -> float:
    n = scores.size
    rank = min(math.ceil((n + 1) * level) / n, 1.0)
    return float(np.quantile(scores, rank, method="higher"))


def calibrate(predictions: dict) -> dict:
    error = np.abs(predictions["mass"] - predictions["mean"])
    if "sigma" in predictions:
        scale = _conformal_quantile(error / predictions["sigma"]) / Z90
        return {"method": "gaussian, rescaled on validation", "sigma_scale": scale}
    return {"method": "split conformal on validation",
            "sigma": _conformal_quantile(error) / Z90}


def calibrated_sigma(predictions: dict, calibration: dict) -> np.ndarray:
    if "sigma_scale" in calibration:
        return predictions["sigma"] * calibration["sigma_scale"]
    return np.full_like(predictions["mean"], calibration["sigma"])
