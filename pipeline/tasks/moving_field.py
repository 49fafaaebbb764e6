"""``moving-field``: a potential that changes while the particle moves (report §5.1).

φ_t = trap(cos(ωt)·A + sin(ωt)·B), with A and B two independent Perlin fields of the
usual statistics, each normalised to |·| ≤ 1: a loop through the space of fields at
ω radians per time step (the animated-noise construction). At every t the field has the
same statistics; at t = 0 it is the ``mass`` task's field, and with ω = 0 the physics is
the ``mass`` task's. Why not Perlin noise with time as a third coordinate: the trap
normalises by the field's peak, so φ_t would be needed on the whole fine grid at each of
the 100 steps (100 × 65,536 × 4 octaves of 3-D noise per sample); here a step costs the
force at one pixel, and only the kept snapshots are made whole. The models see ψ at
every kept step (``potential_steps``); hidden: m and ω.

cos(ωt) and sin(ωt) come from cos ω and sin ω (Taylor series) by repeated rotation in
Python floats: arithmetic alone, so every processor gets the same bits (libm's sin and
cos differ in the last bit between builds).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ConfigError
from ..physics.field import block_mean, noise_field_into, trap_into
from ..physics.integrator import NOT_ESCAPED, step_into
from .base import MASS, Field, Parameter, Task, check_range, simulation_constants

SPEED = Parameter("field_speed", "radians per time step", "field_speed_low",
                  "field_speed_high", "how fast the field changes, ω, uniform in "
                  "[physics.field_speed_low, physics.field_speed_high)")


def rotations(speed: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """cos(ωt), sin(ωt) for t = 0 … n−1, by IEEE arithmetic alone (see the module)."""
    term, cos1, sin1 = 1.0, 0.0, 0.0
    for k in range(40):  # ω ≤ 0.5: terms fall below 1e-70 long before k = 40
        if k % 4 in (0, 2):
            cos1 += term if k % 4 == 0 else -term
        else:
            sin1 += term if k % 4 == 1 else -term
        term = term * speed / (k + 1)
    cos_t, sin_t = np.empty(n), np.empty(n)
    c, s = 1.0, 0.0
    for t in range(n):
        cos_t[t], sin_t[t] = c, s
        c, s = c * cos1 - s * sin1, s * cos1 + c * sin1
    return cos_t, sin_t


@njit(cache=True)
def _value(a, b, trap, safety, ct, st, row, col):
    w = trap[row, col]
    return (1.0 - w) * (ct * a[row, col] + st * b[row, col]) + safety * w


@njit(cache=True)
def _slope(a, b, trap, safety, ct, st, row, col, along_rows):
    """np.gradient of φ_t at one pixel along one axis (central inside, one-sided at ends)."""
    n = a.shape[0] if along_rows else a.shape[1]
    i = row if along_rows else col
    lo, hi = max(i - 1, 0), min(i + 1, n - 1)
    if along_rows:
        v_lo = _value(a, b, trap, safety, ct, st, lo, col)
        v_hi = _value(a, b, trap, safety, ct, st, hi, col)
    else:
        v_lo = _value(a, b, trap, safety, ct, st, row, lo)
        v_hi = _value(a, b, trap, safety, ct, st, row, hi)
    return 0.5 * (v_hi - v_lo) if hi - lo == 2 else v_hi - v_lo


@njit(cache=True)
def moving_path(a, b, trap, safety, cos_t, sin_t, mass, x0, y0, vx0, vy0, trajectory):
    """The report's integrator in φ_t: the step from t − 1 to t feels φ_{t−1}."""
    n_rows, n_cols = a.shape
    x, y, vx, vy = x0, y0, vx0, vy0
    trajectory[0, 0] = x
    trajectory[0, 1] = y
    for t in range(1, trajectory.shape[0]):
        row, col = int(np.floor(y)), int(np.floor(x))
        ct, st = cos_t[t - 1], sin_t[t - 1]
        ax = -_slope(a, b, trap, safety, ct, st, row, col, False) / mass
        ay = -_slope(a, b, trap, safety, ct, st, row, col, True) / mass
        x, y, vx, vy, left = step_into(trajectory, t, x, y, vx, vy, ax, ay, n_rows, n_cols)
        if left:
            return t
    return NOT_ESCAPED


@njit(cache=True, nogil=True)
def _fill(indices, draws, cos_t, sin_t, kept, trap, safety, octaves, persistence,
          lacunarity, repeat, base, downsample, start, velocity, psi_out, steps_out,
          trajectory_out, full_out, store_full):
    size = trap.shape[0]
    a, b, phi = np.empty((size, size)), np.empty((size, size)), np.empty((size, size))
    untrapped = np.zeros((size, size))
    escaped = np.empty(indices.shape[0], np.int64)
    for k in range(indices.shape[0]):
        s = indices[k]
        d = draws[s]
        noise_field_into(a, d[0], d[1], octaves, persistence, lacunarity, repeat, base)
        trap_into(a, a, untrapped, 0.0)  # normalise only; the trap is applied per φ_t
        noise_field_into(b, d[3], d[4], octaves, persistence, lacunarity, repeat, base)
        trap_into(b, b, untrapped, 0.0)
        for j in range(kept.shape[0]):
            t = kept[j]
            for r in range(size):
                for c in range(size):
                    phi[r, c] = _value(a, b, trap, safety, cos_t[k, t], sin_t[k, t], r, c)
            steps_out[s, j] = block_mean(phi, downsample)
            if t == 0:
                psi_out[s] = steps_out[s, j]
                if store_full:
                    full_out[s] = phi
        escaped[k] = moving_path(a, b, trap, safety, cos_t[k], sin_t[k], d[2], start[0],
                                 start[1], velocity[0], velocity[1], trajectory_out[s])
    return escaped


class MovingField(Task):
    name = "moving-field"
    summary = "a field that changes in time: φ_t = trap(cos ωt·A + sin ωt·B); hidden m and ω"
    parameters = (MASS, SPEED)
    keys = ("field_speed_low", "field_speed_high")
    fields = (
        Field("potential_steps", "float32", lambda p: (p.time_steps, p.grid, p.grid),
              "dimensionless", "observed ψ at each kept step (block mean of φ_t), plus "
              "Gaussian noise of sigma physics.potential_noise", observed=True),
        Field("drift_offset", "float64", lambda p: (2,), "noise units",
              "pnoise2 offset of the second field B"),
    )
    n_draws = 6

    def validate(self, physics):
        check_range(physics, "field_speed_low", "field_speed_high", least=0.0)
        if physics.field_speed_high > 0.5:
            raise ConfigError(f"physics.field_speed_high must be ≤ 0.5 radians per step (a "
                              f"field that turns faster changes within a step), got "
                              f"{physics.field_speed_high}")
        if physics.kept_steps[0] != 0:
            raise ConfigError("moving-field needs the first kept step at t = 0")

    def draw(self, rng, physics):
        offset = rng.uniform(0.0, physics.offset_high, size=2)
        mass = rng.uniform(physics.mass_low, physics.mass_high)
        drift_offset = rng.uniform(0.0, physics.offset_high, size=2)
        speed = rng.uniform(physics.field_speed_low, physics.field_speed_high)
        return np.array([*offset, mass, *drift_offset, speed])

    def simulate(self, pending, draws, physics, out, store_full):
        turns = [rotations(float(draws[s, 5]), physics.n_positions) for s in pending]
        cos_t = np.array([c for c, _ in turns]).reshape(len(pending), physics.n_positions)
        sin_t = np.array([s for _, s in turns]).reshape(len(pending), physics.n_positions)
        return _fill(pending, draws, cos_t, sin_t, np.array(physics.kept_steps, np.int64),
                     **simulation_constants(physics), psi_out=out["potential"],
                     steps_out=out["potential_steps"], trajectory_out=out["trajectory"],
                     full_out=out["potential_full"], store_full=store_full)

    def columns(self, draws):
        return {"mass": draws[:, 2].copy(), "noise_offset": draws[:, 0:2].copy(),
                "drift_offset": draws[:, 3:5].copy(), "field_speed": draws[:, 5].copy()}
