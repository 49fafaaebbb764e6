"""The non-ML method the report proposed (§2.1) but never built: invert the simulation.

From what the models see — the observed ψ (32×32) and the observed kept positions, the
same arrays the loaders read — upsample ψ smoothly
(the cubic spline of :mod:`pipeline.physics.upsample`, which the mass scan uses too),
simulate candidate masses from the observed start with the report's integrator, and keep
the mass whose positions best match the observed ones at the first kept time steps: a
grid over the mass range, then a golden-section search inside the best bracket. All in
one jitted call per batch.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..config import PhysicsConfig
from ..physics.field import block_mean
from ..physics.field import potential as fine_potential
from ..physics.integrator import simulate_into
from ..physics.upsample import upsample

GOLDEN = 0.6180339887498949
# Match only the first snapshots (t = 0, 10, 20): later ones mostly measure how far the
# smoothed field has let the simulated path drift from the true one. Measured on 600
# test samples of the default store, R² by snapshots used: 2–3: 0.986, 5: 0.985,
# 8: 0.971, all 10: 0.950.
SNAPSHOTS = 3


@njit(cache=True)
def _mismatch(phi, mass, observed, kept, start, velocity, trajectory):
    escaped = simulate_into(phi, mass, start[0], start[1], velocity[0], velocity[1], trajectory)
    total = 0.0
    for t in range(kept.shape[0]):
        step = kept[t]
        if escaped != -1 and step >= escaped:
            return np.inf
        dx = trajectory[step, 0] - observed[t, 0]
        dy = trajectory[step, 1] - observed[t, 1]
        total += dx * dx + dy * dy
    return total


@njit(cache=True, parallel=True)
def invert_masses(phis, observed, kept, start, velocity, n_positions, low, high, n_grid,
                  n_refine):
    """Best-matching mass per sample: grid search, then golden-section refinement."""
    n = phis.shape[0]
    masses = np.empty(n)
    for s in prange(n):
        trajectory = np.empty((n_positions, 2))
        best, best_mass = np.inf, low
        for g in range(n_grid):
            mass = low + (high - low) * g / (n_grid - 1)
            cost = _mismatch(phis[s], mass, observed[s], kept, start, velocity, trajectory)
            if cost < best:
                best, best_mass = cost, mass
        step = (high - low) / (n_grid - 1)
        a, b = max(low, best_mass - step), min(high, best_mass + step)
        c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
        fc = _mismatch(phis[s], c, observed[s], kept, start, velocity, trajectory)
        fd = _mismatch(phis[s], d, observed[s], kept, start, velocity, trajectory)
        for _ in range(n_refine):
            if fc < fd:
                b, d, fd = d, c, fc
                c = b - GOLDEN * (b - a)
                fc = _mismatch(phis[s], c, observed[s], kept, start, velocity, trajectory)
            else:
                a, c, fc = c, d, fd
                d = a + GOLDEN * (b - a)
                fd = _mismatch(phis[s], d, observed[s], kept, start, velocity, trajectory)
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


def physics_inversion(potential: np.ndarray, positions: np.ndarray, physics: PhysicsConfig,
                      snapshots: int = SNAPSHOTS, n_grid: int = 64, n_refine: int = 20,
                      batch: int = 256, noise_offset: np.ndarray | None = None,
                      reproduced: list | None = None,
                      true_potential: np.ndarray | None = None) -> np.ndarray:
    """Mass estimates for samples of ψ (n, G, G) and kept positions (n, T, 2).

    With ``noise_offset`` (n, 2), the simulation runs in each sample's true fine field φ
    instead of ψ upsampled: what coarse-graining hides, measured (no model sees φ). That
    trusts the offsets; ``reproduced`` (a list) then receives, per sample, whether the
    regenerated φ gives back ``true_potential`` (default: ``potential``) — where it does
    not, the estimate means nothing.
    """
    observed = np.ascontiguousarray(positions[:, :snapshots], np.float64)
    truth = potential if true_potential is None else true_potential
    kept = np.array(physics.kept_steps[:snapshots], np.int64)
    start = np.array(physics.start_position, np.float64)
    velocity = np.array(physics.start_velocity, np.float64)
    estimates = np.empty(len(potential))
    for first in range(0, len(potential), batch):
        chunk = slice(first, first + batch)
        if noise_offset is None:
            phis = upsample(potential[chunk], physics.size, physics.downsample)
        else:
            phis = np.stack([fine_potential(tuple(o), physics) for o in noise_offset[chunk]])
            if reproduced is not None:
                reproduced.extend(fields_reproduce(phis, truth[chunk], physics.downsample))
        estimates[chunk] = invert_masses(phis, observed[chunk], kept, start, velocity,
                                         physics.n_positions, physics.mass_low,
                                         physics.mass_high, n_grid, n_refine)
    return estimates
