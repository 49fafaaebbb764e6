"""The non-ML method the report proposed (§2.1) but never built: invert the simulation.

From what the models see — the observed ψ (32×32) and the observed kept positions, the
same arrays the loaders read — upsample ψ smoothly
(the cubic spline of :mod:`pipeline.physics.upsample`, which the mass scan uses too),
simulate candidate masses from the known start with the report's integrator, and keep
the mass of greatest Gaussian likelihood of every observed snapshot: a grid over the mass
range, then a golden-section search inside the best bracket, in one jitted call per batch.

The likelihood's variance at each kept step is the recorded position noise σ² plus how
far a path in the smoothed field drifts from the true one by then (zero at the start,
growing along the path): measured, at their true masses, on training samples of the
same store (:func:`snapshot_variances`). Late snapshots, where the drift dominates, weigh
little on exact data and more as σ grows, so one method stays the no-learning reference
at every noise level. The fit it replaced, least squares on the first three snapshots,
had R² 0.505 at σ = 1 px (600 test samples of the observation_noise experiment's store;
this one: 0.963).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .field import block_mean
from .field import potential as fine_potential
from .integrator import simulate_into
from .upsample import upsample

GOLDEN = 0.6180339887498949
# Training samples whose drift at the true mass sets the weights; a variance floor (px²)
# keeps a step that is exact on every sample (the start; all of them in the true φ) finite.
CALIBRATION_SAMPLES = 500
VARIANCE_FLOOR = 1e-4


@njit(cache=True)
def _mismatch(phi, mass, observed, kept, weights, start, velocity, trajectory):
    """Σₜ wₜ‖simulated − observed‖² over the kept steps: −2 log-likelihood up to a constant."""
    escaped = simulate_into(phi, mass, start[0], start[1], velocity[0], velocity[1], trajectory)
    total = 0.0
    for t in range(kept.shape[0]):
        step = kept[t]
        if escaped != -1 and step >= escaped:
            return np.inf
        dx = trajectory[step, 0] - observed[t, 0]
        dy = trajectory[step, 1] - observed[t, 1]
        total += weights[t] * (dx * dx + dy * dy)
    return total


@njit(cache=True, parallel=True)
def squared_residuals(phis, masses, observed, kept, start, velocity, n_positions):
    """(n, T) squared distance of each observed snapshot from the path simulated at the given
    mass; NaN from the step where that path has left the field."""
    n = phis.shape[0]
    out = np.full((n, kept.shape[0]), np.nan)
    for s in prange(n):
        trajectory = np.empty((n_positions, 2))
        escaped = simulate_into(phis[s], masses[s], start[0], start[1], velocity[0],
                                velocity[1], trajectory)
        for t in range(kept.shape[0]):
            step = kept[t]
            if escaped != -1 and step >= escaped:
                break
            dx = trajectory[step, 0] - observed[s, t, 0]
            dy = trajectory[step, 1] - observed[s, t, 1]
            out[s, t] = dx * dx + dy * dy
    return out


@njit(cache=True, parallel=True)
def invert_masses(phis, observed, kept, weights, start, velocity, n_positions, low, high,
                  n_grid, n_refine):
    """Most likely mass per sample: grid search, then golden-section refinement."""
    n = phis.shape[0]
    masses = np.empty(n)
    for s in prange(n):
        trajectory = np.empty((n_positions, 2))
        best, best_mass = np.inf, low
        for g in range(n_grid):
            mass = low + (high - low) * g / (n_grid - 1)
            cost = _mismatch(phis[s], mass, observed[s], kept, weights, start, velocity,
                             trajectory)
            if cost < best:
                best, best_mass = cost, mass
        step = (high - low) / (n_grid - 1)
        a, b = max(low, best_mass - step), min(high, best_mass + step)
        c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
        args = (observed[s], kept, weights, start, velocity, trajectory)
        fc = _mismatch(phis[s], c, *args)
        fd = _mismatch(phis[s], d, *args)
        for _ in range(n_refine):
            if fc < fd:
                b, d, fd = d, c, fc
                c = b - GOLDEN * (b - a)
                fc = _mismatch(phis[s], c, *args)
            else:
                a, c, fc = c, d, fd
                d = a + GOLDEN * (b - a)
                fd = _mismatch(phis[s], d, *args)
        masses[s] = 0.5 * (a + b) if min(fc, fd) <= best else best_mass
    return masses


# ψ is stored as float32: the block mean of a regenerated φ matches it to float32 rounding
# (~1e-7 for |ψ| ≤ 1.1) when the offsets are the ones it was made from; data made otherwise
# (another field code, edited files) differs far more than this.
PSI_TOLERANCE = 1e-5


def fields_reproduce(phis: np.ndarray, potential: np.ndarray, downsample: int) -> np.ndarray:
    """Per sample: whether the block mean of φ (n, S, S) is the stored ψ (n, G, G)."""
    means = np.stack([block_mean(phi, downsample) for phi in phis])
    return np.abs(means - potential).max(axis=(1, 2)) <= PSI_TOLERANCE


def _fields(potential, physics, noise_offset=None):
    """What the simulation runs in: ψ upsampled, or (``noise_offset``) each sample's true φ."""
    if noise_offset is None:
        return upsample(potential, physics.size, physics.downsample)
    return np.stack([fine_potential(tuple(o), physics) for o in noise_offset])


def _path_arguments(physics):
    return (np.array(physics.kept_steps, np.int64),
            np.array(physics.start_position, np.float64),
            np.array(physics.start_velocity, np.float64))


def snapshot_variances(potential: np.ndarray, positions: np.ndarray, mass: np.ndarray,
                       physics) -> np.ndarray:
    """(T,) variance per coordinate (px²) of each kept snapshot about the path simulated at
    the true mass in ψ upsampled, from training samples: the position noise plus the
    smoothed field's drift. Never below σ² + :data:`VARIANCE_FLOOR`."""
    kept, start, velocity = _path_arguments(physics)
    squared = squared_residuals(_fields(potential, physics),
                                np.asarray(mass, np.float64),
                                np.ascontiguousarray(positions, np.float64), kept, start,
                                velocity, physics.n_positions)
    finite = np.isfinite(squared)
    measured = np.where(finite, squared, 0.0).sum(axis=0) / np.maximum(finite.sum(axis=0), 1) / 2
    return np.maximum(measured, physics.position_noise_variance) + VARIANCE_FLOOR


def exact_field_variances(physics) -> np.ndarray:
    """In the true φ the path at the true mass is the true path: only the noise remains."""
    return np.full(len(physics.kept_steps), physics.position_noise_variance + VARIANCE_FLOOR)


def physics_inversion(potential: np.ndarray, positions: np.ndarray, physics,
                      variances: np.ndarray, n_grid: int = 64, n_refine: int = 20,
                      batch: int = 256, noise_offset: np.ndarray | None = None,
                      reproduced: list | None = None,
                      true_potential: np.ndarray | None = None,
                      residuals: list | None = None) -> np.ndarray:
    """Mass estimates for samples of ψ (n, G, G) and kept positions (n, T, 2), weighting
    snapshot t by 1 / ``variances[t]`` (:func:`snapshot_variances`).

    With ``noise_offset`` (n, 2), the simulation runs in each sample's true fine field φ
    instead of ψ upsampled (pass :func:`exact_field_variances`): what coarse-graining
    hides, measured (no model sees φ). That trusts the offsets; ``reproduced`` (a list)
    then receives, per sample, whether the regenerated φ gives back ``true_potential``
    (default: ``potential``) — where it does not, the estimate means nothing.
    ``residuals`` (a list) receives each sample's :func:`squared_residuals` at its estimate,
    from the same upsampled field.
    """
    observed = np.ascontiguousarray(positions, np.float64)
    weights = 1.0 / np.asarray(variances, np.float64)
    truth = potential if true_potential is None else true_potential
    kept, start, velocity = _path_arguments(physics)
    estimates = np.empty(len(potential))
    for first in range(0, len(potential), batch):
        chunk = slice(first, first + batch)
        phis = _fields(potential[chunk], physics,
                       None if noise_offset is None else noise_offset[chunk])
        if noise_offset is not None and reproduced is not None:
            reproduced.extend(fields_reproduce(phis, truth[chunk], physics.downsample))
        estimates[chunk] = invert_masses(phis, observed[chunk], kept, weights, start, velocity,
                                         physics.n_positions, physics.mass_low,
                                         physics.mass_high, n_grid, n_refine)
        if residuals is not None:
            residuals.extend(squared_residuals(phis, estimates[chunk], observed[chunk], kept,
                                               start, velocity, physics.n_positions))
    return estimates


def fit_and_misfit(potential: np.ndarray, positions: np.ndarray, physics,
                   variances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: the most likely mass, and the mean over kept snapshots of
    ‖simulated − observed‖² / (2 varianceₜ) there — about 1 where the observations are as
    noisy as the variances say, far above where they are noisier."""
    squared = []
    mass = physics_inversion(potential, positions, physics, variances, residuals=squared)
    with np.errstate(invalid="ignore"):  # NaN only from the step a path escapes
        return mass, np.nanmean(np.asarray(squared) / (2 * np.asarray(variances)), axis=1)


def fit_misfit(potential: np.ndarray, positions: np.ndarray, physics,
               variances: np.ndarray) -> np.ndarray:
    """Per sample: the misfit of :func:`fit_and_misfit` at the most likely mass."""
    return fit_and_misfit(potential, positions, physics, variances)[1]
