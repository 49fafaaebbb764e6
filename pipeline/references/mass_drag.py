"""``mass-drag``'s reference: fit m, b and the unknown start velocity (a nuisance, first
guessed from the first two snapshots) in φ rebuilt from ψ, or regenerated exactly."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..physics.field import potential
from ..physics.upsample import upsample
from ..tasks.mass_drag import dragged_path
from .fit import Likelihood, keep_snapshots


@njit(cache=True, parallel=True)
def _paths(phis, theta, kept, start, n_positions):
    out = np.empty((phis.shape[0], kept.shape[0], 2))
    for s in prange(phis.shape[0]):
        trajectory = np.empty((n_positions, 2))
        escaped = dragged_path(phis[s], theta[s, 0], theta[s, 1], start[0], start[1],
                               theta[s, 2], theta[s, 3], trajectory)
        keep_snapshots(trajectory, escaped, kept, out[s])
    return out


SHOTS = 3


class MassDragLikelihood(Likelihood):
    task = "mass-drag"
    coordinates = ("mass", "drag", "start_velocity_x", "start_velocity_y")
    reads = ("potential", "noise_offset", "start_velocity")

    def bounds(self, physics):
        (vx, vy), speed = physics.start_velocity, physics.drag_start_speed
        return np.array([[physics.mass_low, physics.mass_high],
                         [physics.drag_low, physics.drag_high],
                         [vx - speed, vx + speed], [vy - speed, vy + speed]])

    def fields(self, shard, physics, exact):
        if not exact:
            return upsample(shard["potential"], physics.size, physics.downsample), None
        phis = np.stack([potential(tuple(o), physics) for o in shard["noise_offset"]])
        return phis, phis

    def first_guess(self, shard, fields, physics, exact):
        """The start velocity as the mean velocity up to the second snapshot."""
        positions, kept = shard["positions"], physics.kept_steps
        theta = np.zeros((len(positions), 4))
        theta[:, 2:] = (positions[:, 1] - positions[:, 0]) / (kept[1] - kept[0])
        low, high = self.bounds(physics)[2:].T
        theta[:, 2:] = np.clip(theta[:, 2:], low, high)
        return theta, np.ones(4, bool)

    def nuisances(self, fields, theta, observed, physics):
        """Shoot at the second snapshot: correct the start velocity by the miss there over
        the steps between (a few passes), for each grid node's m and b."""
        steps = physics.kept_steps[1] - physics.kept_steps[0]
        low, high = self.bounds(physics)[2:].T
        theta = theta.copy()
        for _ in range(SHOTS):
            miss = observed[:, 1] - self.paths(fields, theta, physics)[:, 1]
            moved = np.where(np.isfinite(miss), miss / steps, 0.0)
            theta[:, 2:] = np.clip(theta[:, 2:] + moved, low, high)
        return theta

    def paths(self, fields, theta, physics):
        return _paths(fields, theta, np.array(physics.kept_steps, np.int64),
                      np.array(physics.start_position, np.float64), physics.n_positions)

    def truth(self, shard):
        return np.column_stack([shard["mass"], shard["drag"], shard["start_velocity"]])
