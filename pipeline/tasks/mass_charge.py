"""``mass-charge``: a charge q in a second, independent field χ (report §5.1).

a = (−∇φ − q ∇χ) / m. χ is Perlin noise of the same statistics as φ from its own offset,
normalised to |χ| ≤ 1 and untrapped (the trap is φ's); the models see its block mean χ̄
beside ψ. Only the ratios 1/m and q/m act on the path, and ∇φ and ∇χ differ, so both m
and q are identifiable; q crosses zero (scored by absolute error).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..physics.field import block_mean, force_at, noise_field_into, trap_into
from ..physics.integrator import NOT_ESCAPED, step_into
from .base import MASS, Field, Parameter, Task, simulation_constants

CHARGE = Parameter("charge", "charge units", "charge_low", "charge_high",
                   "charge q, uniform in [physics.charge_low, physics.charge_high)")


@njit(cache=True)
def charged_path(phi, chi, mass, charge, x0, y0, vx0, vy0, trajectory):
    """The report's integrator with the second force: v ← v + (F_φ + q F_χ)/m, r ← r + v."""
    n_rows, n_cols = phi.shape
    x, y, vx, vy = x0, y0, vx0, vy0
    trajectory[0, 0] = x
    trajectory[0, 1] = y
    for t in range(1, trajectory.shape[0]):
        row, col = int(np.floor(y)), int(np.floor(x))
        fx, fy = force_at(phi, row, col)
        gx, gy = force_at(chi, row, col)
        x, y, vx, vy, left = step_into(trajectory, t, x, y, vx, vy, (fx + charge * gx) / mass,
                                       (fy + charge * gy) / mass, n_rows, n_cols)
        if left:
            return t
    return NOT_ESCAPED


@njit(cache=True, nogil=True)
def _fill(indices, draws, trap, safety, octaves, persistence, lacunarity, repeat, base,
          downsample, start, velocity, psi_out, chi_out, trajectory_out, full_out, store_full):
    size = trap.shape[0]
    phi, chi = np.empty((size, size)), np.empty((size, size))
    untrapped = np.zeros((size, size))
    escaped = np.empty(indices.shape[0], np.int64)
    for k in range(indices.shape[0]):
        s = indices[k]
        d = draws[s]
        noise_field_into(phi, d[0], d[1], octaves, persistence, lacunarity, repeat, base)
        trap_into(phi, phi, trap, safety)
        noise_field_into(chi, d[3], d[4], octaves, persistence, lacunarity, repeat, base)
        trap_into(chi, chi, untrapped, 0.0)  # weight 0 everywhere: normalise only
        if store_full:
            full_out[s] = phi
        psi_out[s] = block_mean(phi, downsample)
        chi_out[s] = block_mean(chi, downsample)
        escaped[k] = charged_path(phi, chi, d[2], d[5], start[0], start[1], velocity[0],
                                  velocity[1], trajectory_out[s])
    return escaped


class MassCharge(Task):
    name = "mass-charge"
    summary = "a charge in a second field: a = (−∇φ − q∇χ)/m; hidden m and q"
    parameters = (MASS, CHARGE)
    keys = ("charge_low", "charge_high")
    fields = (
        Field("charge_potential", "float32", lambda p: (p.grid, p.grid), "dimensionless",
              "observed χ̄: block mean of the second field χ (|χ| ≤ 1, untrapped), plus "
              "Gaussian noise of sigma physics.potential_noise", observed=True),
        Field("charge_offset", "float64", lambda p: (2,), "noise units",
              "pnoise2 offset of χ's first and second coordinate"),
    )
    n_draws = 6

    def draw(self, rng, physics):
        offset = rng.uniform(0.0, physics.offset_high, size=2)
        mass = rng.uniform(physics.mass_low, physics.mass_high)
        charge_offset = rng.uniform(0.0, physics.offset_high, size=2)
        charge = rng.uniform(physics.charge_low, physics.charge_high)
        return np.array([*offset, mass, *charge_offset, charge])

    def simulate(self, pending, draws, physics, out, store_full):
        return _fill(pending, draws, **simulation_constants(physics), psi_out=out["potential"],
                     chi_out=out["charge_potential"], trajectory_out=out["trajectory"],
                     full_out=out["potential_full"], store_full=store_full)

    def columns(self, draws):
        return {"mass": draws[:, 2].copy(), "noise_offset": draws[:, 0:2].copy(),
                "charge_offset": draws[:, 3:5].copy(), "charge": draws[:, 5].copy()}
