"""``mass-drag``: linear drag b and an unknown start velocity (report §5.1).

a = (−∇φ − b v) / m with the report's unit step: v ← v + (F − b v)/m, r ← r + v. b/m sets
how fast the motion damps and 1/m how hard φ pushes, so m and b are both identifiable.
A particle released at rest would show drag only through the field's pull; each sample
therefore starts with its own velocity, uniform in a disc of radius
``physics.drag_start_speed`` around ``physics.start_velocity`` — a nuisance the models do
not predict, stored as ``start_velocity``. ``drag_high / mass_low`` must stay below 1:
beyond, one step of drag reverses the velocity, which no linear drag does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ConfigError
from ..physics.field import block_mean, force_at, noise_field_into, trap_into
from ..physics.integrator import NOT_ESCAPED, step_into
from .base import MASS, Field, Parameter, Task, check_range, simulation_constants

DRAG = Parameter("drag", "mass units per time step", "drag_low", "drag_high",
                 "linear drag coefficient b, uniform in [physics.drag_low, physics.drag_high)")


@njit(cache=True)
def dragged_path(phi, mass, drag, x0, y0, vx0, vy0, trajectory):
    """The report's integrator with drag: v ← v + (F − b v)/m, r ← r + v."""
    n_rows, n_cols = phi.shape
    x, y, vx, vy = x0, y0, vx0, vy0
    trajectory[0, 0] = x
    trajectory[0, 1] = y
    for t in range(1, trajectory.shape[0]):
        fx, fy = force_at(phi, int(np.floor(y)), int(np.floor(x)))
        x, y, vx, vy, left = step_into(trajectory, t, x, y, vx, vy, (fx - drag * vx) / mass,
                                       (fy - drag * vy) / mass, n_rows, n_cols)
        if left:
            return t
    return NOT_ESCAPED


@njit(cache=True, nogil=True)
def _fill(indices, draws, trap, safety, octaves, persistence, lacunarity, repeat, base,
          downsample, start, velocity, psi_out, trajectory_out, full_out, store_full):
    size = trap.shape[0]
    phi = np.empty((size, size))
    escaped = np.empty(indices.shape[0], np.int64)
    for k in range(indices.shape[0]):
        s = indices[k]
        d = draws[s]
        noise_field_into(phi, d[0], d[1], octaves, persistence, lacunarity, repeat, base)
        trap_into(phi, phi, trap, safety)
        if store_full:
            full_out[s] = phi
        psi_out[s] = block_mean(phi, downsample)
        escaped[k] = dragged_path(phi, d[2], d[3], start[0], start[1], d[4], d[5],
                                  trajectory_out[s])
    return escaped


class MassDrag(Task):
    name = "mass-drag"
    summary = "linear drag and an unknown start velocity: a = (−∇φ − b v)/m; hidden m and b"
    parameters = (MASS, DRAG)
    keys = ("drag_low", "drag_high", "drag_start_speed")
    fields = (Field("start_velocity", "float64", lambda p: (2,), "pixels per time step",
                    "start velocity (x, y): physics.start_velocity plus a uniform draw in a "
                    "disc of radius physics.drag_start_speed (a nuisance)"),)
    n_draws = 6

    def validate(self, physics):
        check_range(physics, "drag_low", "drag_high", least=0.0)
        if physics.drag_high >= physics.mass_low:
            raise ConfigError(
                f"physics.drag_high ({physics.drag_high}) must stay below physics.mass_low "
                f"({physics.mass_low}): one step of stronger drag reverses the velocity")
        if not 0 <= physics.drag_start_speed <= physics.size:
            raise ConfigError(f"physics.drag_start_speed must be in [0, {physics.size}] px per "
                              f"step, got {physics.drag_start_speed}")

    def draw(self, rng, physics):
        offset = rng.uniform(0.0, physics.offset_high, size=2)
        mass = rng.uniform(physics.mass_low, physics.mass_high)
        drag = rng.uniform(physics.drag_low, physics.drag_high)
        while True:  # uniform in the unit disc by rejection: arithmetic only, no sin/cos,
            u, v = rng.uniform(-1.0, 1.0, size=2)  # whose last bits vary by processor
            if u * u + v * v < 1.0:
                break
        vx = physics.start_velocity[0] + physics.drag_start_speed * u
        vy = physics.start_velocity[1] + physics.drag_start_speed * v
        return np.array([*offset, mass, drag, vx, vy])

    def simulate(self, pending, draws, physics, out, store_full):
        return _fill(pending, draws, **simulation_constants(physics), psi_out=out["potential"],
                     trajectory_out=out["trajectory"], full_out=out["potential_full"],
                     store_full=store_full)

    def columns(self, draws):
        return {"mass": draws[:, 2].copy(), "noise_offset": draws[:, 0:2].copy(),
                "drag": draws[:, 3].copy(), "start_velocity": draws[:, 4:6].copy()}
