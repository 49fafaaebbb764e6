"""``moving-field``'s reference: ω from how the observed field changes, then m from the path.

Between snapshots the field turns: inside the trap, uₜ = cos(ωtₜ)·A + sin(ωtₜ)·B per cell.
A and B are independent fields of the same statistics, so over the cells the snapshots
are draws of a Gaussian with covariance v·C(ω) + σ²I, C(ω)ᵢⱼ = cos ω(tᵢ − tⱼ): ω is the
maximum of that marginal likelihood (a grid over ω, v and σ² profiled). Fitting A and B
freely would not do — for small ω any A + ωt·B fits, whatever ω. Given ω, A and B are
their posterior means from the coarse snapshots (then the cubic spline), or for the
exact reference the fine fields regenerated from the stored offsets; the mass is fitted
from the path as in every task.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..physics.field import block_mean, trap_weights
from ..physics.upsample import upsample
from ..tasks.moving_field import moving_path
from .fit import Likelihood, keep_snapshots
from .mass_charge import second_field

SPEEDS = 121  # grid over the prior of ω
SCALES = 2.0 ** np.linspace(-2, 2, 13)  # v about the snapshots' mean square
NOISES = 10.0 ** np.linspace(-8, -1, 10)  # σ² relative to it
TRAPPED = 0.5  # cells whose trap weight reaches this are left out of the ω fit


@njit(cache=True, parallel=True)
def _paths(a, b, theta, trap, safety, kept, start, velocity, n_positions):
    out = np.empty((a.shape[0], kept.shape[0], 2))
    times = np.arange(n_positions) * 1.0
    for s in prange(a.shape[0]):
        trajectory = np.empty((n_positions, 2))
        cos_t, sin_t = np.cos(theta[s, 1] * times), np.sin(theta[s, 1] * times)
        escaped = moving_path(a[s], b[s], trap, safety, cos_t, sin_t, theta[s, 0], start[0],
                              start[1], velocity[0], velocity[1], trajectory)
        keep_snapshots(trajectory, escaped, kept, out[s])
    return out


def _rotation(speeds: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(S, T, 2): cos and sin of ωt for every ω of the grid."""
    angle = speeds[:, None] * times[None, :]
    return np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def field_speed(gram: np.ndarray, times: np.ndarray, low: float, high: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sample, ω of greatest marginal likelihood of snapshots whose mean product over
    the cells is ``gram`` (n, T, T) — and the v and σ² profiled there."""
    n, steps = gram.shape[:2]
    mean_square = np.trace(gram, axis1=1, axis2=2) / steps
    speeds = np.linspace(low, high, SPEEDS)
    m = _rotation(speeds, times)
    eigenvalues, vectors = np.linalg.eigh(m @ m.transpose(0, 2, 1))  # C(ω) = M Mᵀ
    projected = np.einsum("wtk,nts,wsk->nwk", vectors, gram, vectors)
    best = np.full((n, SPEEDS), np.inf)
    best_v, best_noise = np.zeros((n, SPEEDS)), np.zeros((n, SPEEDS))
    for scale in SCALES:
        for noise in NOISES:
            v, s2 = (scale * mean_square)[:, None, None], (noise * mean_square)[:, None, None]
            variance = v * np.clip(eigenvalues, 0.0, None)[None] + s2
            value = (projected / variance + np.log(variance)).sum(axis=-1)
            better = value < best
            best[better] = value[better]
            best_v[better] = np.broadcast_to(v[:, :, 0], best.shape)[better]
            best_noise[better] = np.broadcast_to(s2[:, :, 0], best.shape)[better]
    k = np.argmin(best, axis=1)
    rows = np.arange(n)
    return speeds[k], best_v[rows, k], best_noise[rows, k]


def posterior_fields(untrapped, times, speed, v, noise) -> tuple[np.ndarray, np.ndarray]:
    """E[A], E[B] per cell given the snapshots and ω: v Mᵀ (v M Mᵀ + σ²I)⁻¹ u."""
    m = np.stack([np.cos(speed[:, None] * times), np.sin(speed[:, None] * times)], axis=-1)
    covariance = v[:, None, None] * m @ m.transpose(0, 2, 1) \
        + noise[:, None, None] * np.eye(len(times))
    gain = v[:, None, None] * m.transpose(0, 2, 1) @ np.linalg.inv(covariance)
    both = gain @ untrapped
    return both[:, 0], both[:, 1]


class MovingFieldLikelihood(Likelihood):
    task = "moving-field"
    coordinates = ("mass", "field_speed")
    reads = ("potential_steps", "noise_offset", "drift_offset")

    def bounds(self, physics):
        return np.array([[physics.mass_low, physics.mass_high],
                         [physics.field_speed_low, physics.field_speed_high]])

    def fields(self, shard, physics, exact):
        times = np.array(physics.kept_steps, np.float64)
        trap = trap_weights(physics.size, physics.trap_flatness)
        low, high = physics.field_speed_low, physics.field_speed_high
        if exact:
            a = np.stack([second_field(o, physics) for o in shard["noise_offset"]])
            b = np.stack([second_field(o, physics) for o in shard["drift_offset"]])
            inside = trap < TRAPPED
            both = np.stack([a[:, inside], b[:, inside]], axis=1)  # (n, 2, cells)
            m = _rotation(np.asarray(shard["field_speed"], np.float64), times)
            products = both @ both.transpose(0, 2, 1) / inside.sum()  # φₜ = M (A, B) exactly
            speed = field_speed(m @ products @ m.transpose(0, 2, 1), times, low, high)[0]
            phi0 = (1.0 - trap) * a + physics.trap_safety * trap
            return (a, b, speed), phi0
        coarse = block_mean(trap, physics.downsample)
        untrapped = (shard["potential_steps"] - physics.trap_safety * coarse) \
            / np.maximum(1.0 - coarse, 0.05)
        n, steps = untrapped.shape[:2]
        flat = untrapped.reshape(n, steps, -1)
        inside = flat[:, :, (coarse < TRAPPED).ravel()]
        gram = inside @ inside.transpose(0, 2, 1) / inside.shape[2]
        speed, v, noise = field_speed(gram, times, low, high)
        a, b = posterior_fields(flat, times, speed, v, noise)
        shape = (n, *coarse.shape)
        return (upsample(a.reshape(shape), physics.size, physics.downsample),
                upsample(b.reshape(shape), physics.size, physics.downsample), speed), None

    def first_guess(self, shard, fields, physics, exact):
        theta = np.zeros((len(fields[2]), 2))
        theta[:, 1] = fields[2]
        return theta, np.array([True, False])

    def paths(self, fields, theta, physics):
        return _paths(fields[0], fields[1], theta,
                      trap_weights(physics.size, physics.trap_flatness), physics.trap_safety,
                      np.array(physics.kept_steps, np.int64),
                      np.array(physics.start_position, np.float64),
                      np.array(physics.start_velocity, np.float64), physics.n_positions)
