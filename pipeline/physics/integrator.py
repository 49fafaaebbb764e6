"""The report's integrator (listing 2): per step a = F[⌊y⌋, ⌊x⌋] / m, v ← v + a, r ← r + v.

Unit time step, positions in pixels (x, y), velocities in pixels per step. The force
is constant over each pixel, exactly as the report's code indexed it. A particle
that leaves [0, size)² is reported as escaped (the first position index outside),
never an IndexError; positions from then on are NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .field import force_at

NOT_ESCAPED = -1


@njit(cache=True, inline="always")
def step_into(trajectory, t, x, y, vx, vy, ax, ay, n_rows, n_cols):
    """One step of every task's integrator: v ← v + a, r ← r + v, recorded at ``t``.
    Returns the new (x, y, vx, vy) and whether the particle left the grid (the positions
    after ``t`` are then NaN)."""
    vx += ax
    vy += ay
    x += vx
    y += vy
    trajectory[t, 0] = x
    trajectory[t, 1] = y
    left = not (0.0 <= x < n_cols and 0.0 <= y < n_rows)
    if left:
        trajectory[t + 1:, :] = np.nan
    return x, y, vx, vy, left


@njit(cache=True)
def simulate_into(phi, mass, x0, y0, vx0, vy0, trajectory):
    """Fill ``trajectory`` (n_positions, 2) with positions; return the escape index or −1."""
    n_rows, n_cols = phi.shape
    x, y, vx, vy = x0, y0, vx0, vy0
    trajectory[0, 0] = x
    trajectory[0, 1] = y
    for t in range(1, trajectory.shape[0]):
        fx, fy = force_at(phi, int(np.floor(y)), int(np.floor(x)))
        x, y, vx, vy, left = step_into(trajectory, t, x, y, vx, vy, fx / mass, fy / mass,
                                       n_rows, n_cols)
        if left:
            return t
    return NOT_ESCAPED


@njit(cache=True)
def simulate(phi, mass, start, velocity, n_positions):
    """One trajectory: returns (positions (n_positions, 2), escape index or −1)."""
    trajectory = np.empty((n_positions, 2), np.float64)
    escaped = simulate_into(phi, mass, start[0], start[1], velocity[0], velocity[1], trajectory)
    return trajectory, escaped


@njit(cache=True)
def simulate_batch(phis, masses, start, velocity, n_positions):
    """Many particles, each in its own field: (n, n_positions, 2) positions and (n,) escapes."""
    n = masses.shape[0]
    trajectories = np.empty((n, n_positions, 2), np.float64)
    escaped = np.empty(n, np.int64)
    for s in range(n):
        escaped[s] = simulate_into(phis[s], masses[s], start[0], start[1], velocity[0],
                                   velocity[1], trajectories[s])
    return trajectories, escaped
