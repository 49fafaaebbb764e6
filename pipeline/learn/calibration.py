"""Physical predictions and calibrated intervals, fitted on the validation split only.

A mass is positive and, here, known to lie in [mass_low, mass_high): predictions are
clipped to that range, and intervals are built in log-mass, where errors are relative
and a bound can never fall below zero. Each prediction gets a log-space scale s — σ/m̂
for a Gaussian head, 1 for a point model (Huber, MSE, MAPE) — and its signed residual
r = (log m − log m̂) / s.

The intervals are conformal per bin of the *true* mass (label-conditional, or Mondrian,
split conformal): on the validation split, in each third of its true masses, the 5 % and
95 % quantiles of r give [r₅, r₉₅]; a candidate mass m belongs to a sample's interval
when its residual r(m) lies within the quantiles of m's own bin, and the interval is the
hull of those masses. Whatever the sample, a true mass in bin b is then
missed only where its residual falls outside bin b's quantiles: at most 10 % of the time,
in every bin (the hull can only add). Five bins of the predicted mass, which this
replaced, held coverage per predicted mass only: where a model pulls predictions toward
the middle of the range (no simulator, or ψ noise of 0.01), light particles were missed
from below, and the lightest third was covered at 0.86. Three bins, not more: the hull
fills the gaps between the bins' pieces, and with six a weak model's outer thirds were
covered at 0.93–0.94. The predictive distribution is the log-normal whose 5 % and 95 %
quantiles are the hull's ends (for other levels and the NLL).

A model trained on samples that each draw their position noise σ from a range is
calibrated for the mix of levels, not each: the CRNN trained on σ ~ U[0, 1) px covered
0.94 at σ = 0.1 and 0.83 at 0.9. Its intervals are therefore conformal per tercile of a
noise estimate too (``noise``): the misfit of the physics fit (:mod:`.physics_fit`), which
grows with σ without knowing it; within each tercile, per mass third as above.

A task's other parameters (a charge crosses zero, a drag may be 0) are calibrated the
same way in linear space (``space`` "linear"): r = (θ − θ̂)/s with s = σ or 1, bins of
the true value, and a Gaussian predictive distribution whose 5 % and 95 % quantiles are
the hull's ends.
"""

from __future__ import annotations

import math

import numpy as np

Z90 = 1.6448536269514722  # standard normal 95th percentile: ±Z90 σ holds 90 %
LEVEL = 0.9
BINS = 3  # quantile bins of the true mass: 1,333 validation samples each by default
MIN_PER_BIN = 100  # fewer bins for a small validation split: a quantile needs samples
NOISE_BINS = 3  # terciles of the noise estimate, each then calibrated per mass third


def physical_mean(mean: np.ndarray, mass_range: tuple[float, float]) -> np.ndarray:
    """Predictions clipped into the range masses are drawn from."""
    return np.clip(mean, mass_range[0], mass_range[1])


def log_scale(predictions: dict, mean: np.ndarray) -> np.ndarray:
    """The model's own relative spread: σ/m̂ for a Gaussian head, 1 for a point model."""
    if "sigma" in predictions:
        return predictions["sigma"] / mean
    return np.ones_like(mean)


def _upper_quantile(scores: np.ndarray, level: float) -> float:
    """Split-conformal: the ⌈(n + 1)·level⌉-th smallest of n scores."""
    rank = min(math.ceil((scores.size + 1) * level) / scores.size, 1.0)
    return float(np.quantile(scores, rank, method="higher"))


def parameter_predictions(raw: dict, name: str) -> dict:
    """One parameter's predictions from :func:`~.predict.batch_outputs` under the keys the
    mass has (``mass`` holds that parameter's truth)."""
    if name == "mass":
        return raw
    out = {"mass": raw[name], "mean": raw[f"{name}_mean"], "per_step": raw[f"{name}_per_step"]}
    for key, own in (("sigma", f"{name}_sigma"), ("noise", "noise")):
        if own in raw:
            out[key] = raw[own]
    return out


def _rows(predictions: dict, mask: np.ndarray) -> dict:
    return {key: values[mask] for key, values in predictions.items()}


def value_range(calibration: dict) -> tuple[float, float]:
    """The prior range a calibration's predictions are clipped to."""
    return tuple(calibration["mass_range"] if "mass_range" in calibration
                 else calibration["range"])


def calibrate(predictions: dict, mass_range: tuple[float, float], bins: int = BINS,
              space: str = "log", noise: np.ndarray | None = None) -> dict:
    """Per-bin residual quantiles from validation predictions (mass, mean[, sigma]); the
    bins are quantiles of the true mass (``space`` "linear": of another parameter, whose
    truth is under "mass" too, see :func:`parameter_predictions`). With ``noise`` (a
    noise estimate per sample), the same within each of its terciles as well, under
    "noise"; the pooled quantiles stay at the top level."""
    pooled = _calibrate(predictions, mass_range, bins, space)
    if noise is None:
        return pooled
    noise = np.asarray(noise, np.float64)
    edges = [float(e) for e in np.quantile(noise, np.arange(1, NOISE_BINS) / NOISE_BINS)]
    which = np.digitize(noise, edges)
    parts = []
    for b in range(NOISE_BINS):  # an empty tercile (a tiny split) takes every sample's
        rows = which == b if np.any(which == b) else np.ones_like(which, bool)
        own = _calibrate(_rows(predictions, rows), mass_range, bins, space)
        parts.append({key: own[key] for key in ("edges", "lower", "upper")})
    return {**pooled, "method": f"{pooled['method']}, per noise tercile",
            "noise": {"edges": edges, "bins": parts}}


def _calibrate(predictions: dict, mass_range: tuple[float, float], bins: int,
               space: str) -> dict:
    mean = physical_mean(predictions["mean"], mass_range)
    if space == "log":
        residual = (np.log(predictions["mass"]) - np.log(mean)) / log_scale(predictions, mean)
    else:
        residual = (predictions["mass"] - mean) / predictions.get("sigma", 1.0)
    bins = max(1, min(bins, mean.size // MIN_PER_BIN))
    edges = [float(e) for e in np.quantile(predictions["mass"], np.arange(1, bins) / bins)]
    which = np.digitize(predictions["mass"], edges)
    tail = (1 - LEVEL) / 2
    lower, upper = [], []
    for b in range(bins):
        scores = residual[which == b] if np.any(which == b) else residual
        lower.append(-_upper_quantile(-scores, 1 - tail))
        upper.append(_upper_quantile(scores, 1 - tail))
    method = "gaussian" if "sigma" in predictions else "point"
    bounds = [float(mass_range[0]), float(mass_range[1])]
    if space != "log":
        return {"method": f"{method}, linear, split conformal per true-value bin",
                "space": space, "edges": edges, "lower": lower, "upper": upper,
                "range": bounds}
    return {"method": f"{method}, log-mass, split conformal per true-mass bin",
            "space": "log", "edges": edges, "lower": lower, "upper": upper,
            "mass_range": bounds}


def conformal_bounds(mean: np.ndarray, scale: np.ndarray, calibration: dict
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, the hull of the masses m whose residual lies within the quantiles of
    m's own true-mass bin. Bin b contributes [m̂·exp(r₅ s), m̂·exp(r₉₅ s)] cut to the bin
    (the outer bins open-ended, so that the log-normal is not squeezed at the range's
    ends; intervals are clipped to it later); a sample no bin admits (only for quantiles
    of one sign) gets the hull of every bin's uncut range."""
    edges = np.array([-np.inf, *calibration["edges"], np.inf])
    if calibration.get("space", "log") == "log":
        lower = mean[:, None] * np.exp(np.asarray(calibration["lower"])[None] * scale[:, None])
        upper = mean[:, None] * np.exp(np.asarray(calibration["upper"])[None] * scale[:, None])
    else:
        lower = mean[:, None] + np.asarray(calibration["lower"])[None] * scale[:, None]
        upper = mean[:, None] + np.asarray(calibration["upper"])[None] * scale[:, None]
    start, stop = np.maximum(lower, edges[None, :-1]), np.minimum(upper, edges[None, 1:])
    admitted = start <= stop
    none = ~admitted.any(axis=1)
    start = np.where(admitted, start, np.inf).min(axis=1)
    stop = np.where(admitted, stop, -np.inf).max(axis=1)
    start[none], stop[none] = lower[none].min(axis=1), upper[none].max(axis=1)
    return start, stop


# A log-space width below which an interval counts as a point (keeps the NLL finite).
MIN_SIGMA_LOG = 1e-9


def predictive(predictions: dict, calibration: dict) -> dict:
    """Per sample: the physical mean, the log-normal predictive distribution (its median
    ``center`` and ``sigma_log``), the 90 % interval and a mass-unit σ. A calibration per
    noise tercile needs each sample's estimate under "noise"."""
    by_noise = calibration.get("noise")
    if by_noise is None:
        return _predictive(predictions, calibration)
    if "noise" not in predictions:
        raise ValueError("a calibration per noise tercile needs the noise estimates")
    which = np.digitize(predictions["noise"], by_noise["edges"])
    out: dict[str, np.ndarray] = {}
    for b, part in enumerate(by_noise["bins"]):
        mask = which == b
        for key, values in _predictive(_rows(predictions, mask),
                                       {**calibration, **part}).items():
            out.setdefault(key, np.empty(mask.size, values.dtype))[mask] = values
    return out


def _predictive(predictions: dict, calibration: dict) -> dict:
    low, high = value_range(calibration)
    mean = physical_mean(predictions["mean"], (low, high))
    if calibration.get("space", "log") != "log":
        scale = predictions.get("sigma", np.ones_like(mean))
        start, stop = conformal_bounds(mean, scale, calibration)
        sigma = np.maximum((stop - start) / (2 * Z90), MIN_SIGMA_LOG * (high - low))
        center = 0.5 * (start + stop)
        lower_90, upper_90 = linear_interval(center, sigma, Z90, (low, high))
        return {"mean": mean, "center": center, "sigma": sigma, "lower_90": lower_90,
                "upper_90": upper_90}
    start, stop = conformal_bounds(mean, log_scale(predictions, mean), calibration)
    center = np.sqrt(start * stop)
    sigma_log = np.maximum(np.log(stop / start) / (2 * Z90), MIN_SIGMA_LOG)
    lower_90, upper_90 = interval(center, sigma_log, Z90, (low, high))
    return {"mean": mean, "center": center, "sigma_log": sigma_log,
            "sigma": mean * sigma_log, "lower_90": lower_90, "upper_90": upper_90}


def interval(center: np.ndarray, sigma_log: np.ndarray, z: float,
             mass_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The central interval center·exp(±z σ_log), clipped to the mass range (never below 0)."""
    return (np.clip(center * np.exp(-z * sigma_log), *mass_range),
            np.clip(center * np.exp(z * sigma_log), *mass_range))


def linear_interval(center: np.ndarray, sigma: np.ndarray, z: float,
                    value_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The central interval center ± z σ, clipped to the prior's range."""
    return (np.clip(center - z * sigma, *value_range), np.clip(center + z * sigma, *value_range))
