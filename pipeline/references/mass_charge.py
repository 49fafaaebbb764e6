"""``mass-charge``'s reference: fit m and q with φ and χ rebuilt from ψ and χ̄ (the cubic
spline the mass inversion uses), or regenerated exactly from the stored offsets."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..physics.field import potential
from ..physics.upsample import upsample
from ..tasks.mass_charge import charged_path
from .fit import Likelihood, keep_snapshots


@njit(cache=True, parallel=True)
def _paths(phis, chis, theta, kept, start, velocity, n_positions):
    out = np.empty((phis.shape[0], kept.shape[0], 2))
    for s in prange(phis.shape[0]):
        trajectory = np.empty((n_positions, 2))
        escaped = charged_path(phis[s], chis[s], theta[s, 0], theta[s, 1], start[0], start[1],
                               velocity[0], velocity[1], trajectory)
        keep_snapshots(trajectory, escaped, kept, out[s])
    return out


def second_field(offset, physics) -> np.ndarray:
    """χ on the fine grid: Perlin noise from its own offset, normalised to |χ| ≤ 1 — the
    potential of that offset with a trap that weighs nothing anywhere."""
    return potential(tuple(offset), physics, trap=np.zeros((physics.size, physics.size)))


class MassChargeLikelihood(Likelihood):
    task = "mass-charge"
    coordinates = ("mass", "charge")
    reads = ("potential", "charge_potential", "noise_offset", "charge_offset")

    def bounds(self, physics):
        return np.array([[physics.mass_low, physics.mass_high],
                         [physics.charge_low, physics.charge_high]])

    def fields(self, shard, physics, exact):
        if not exact:
            return (upsample(shard["potential"], physics.size, physics.downsample),
                    upsample(shard["charge_potential"], physics.size, physics.downsample)), None
        phis = np.stack([potential(tuple(o), physics) for o in shard["noise_offset"]])
        chis = np.stack([second_field(o, physics) for o in shard["charge_offset"]])
        return (phis, chis), phis

    def first_guess(self, shard, fields, physics, exact):
        return np.zeros((len(shard["potential"]), 2)), np.array([True, True])

    def paths(self, fields, theta, physics):
        return _paths(*fields, theta, np.array(physics.kept_steps, np.int64),
                      np.array(physics.start_position, np.float64),
                      np.array(physics.start_velocity, np.float64), physics.n_positions)
