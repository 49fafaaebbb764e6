"""Potential φ, force F = −∇φ and the coarse field ψ the models see (report §2.1, §3.1).

Conventions (the report's code): arrays are matrix-indexed, ``phi[row, col]`` with
row = first noise coordinate = Cartesian y, col = Cartesian x. Force vectors carry
Cartesian (x, y) components. Potentials are dimensionless (normalised to |φ| ≤ 1
before the trap), forces are potential per pixel.

Offsets: the report drew noise offsets uniformly in ±1e5. ``pnoise2`` repeats every
1024 units, so [0, 1024) gives the same distribution of fields; and beyond
|x| ≈ 65,536 its float32 coordinates cannot resolve a 1/256 pixel step, so
neighbouring pixels got identical values (about a third of the report's fields were
quantised this way). We draw offsets in [0, offset_high), 1024 by default.
"""

from __future__ import annotations

import decimal
import functools

import numpy as np
from numba import njit

from .perlin import perlin_grid_into


def exact_exp(values: np.ndarray) -> np.ndarray:
    """exp, correctly rounded, computed in software (the ``decimal`` module, 40 digits).

    NumPy picks its exp at run time by processor (AVX-512 or not): on this project's
    machine the two give different last bits for 21 of the trap's 256 values, and those
    bits reach the trajectories. The trap is the only transcendental function in the
    making of a sample; everything else is IEEE arithmetic, which every processor rounds
    alike. Costs ~1 ms per distinct value, once per params (cached).
    """
    context = decimal.Context(prec=40)
    return np.array([float(context.exp(decimal.Decimal(float(v)))) for v in np.ravel(values)],
                    np.float64).reshape(np.shape(values))


@functools.lru_cache(maxsize=4)
def trap_weights(size: int, flatness: float) -> np.ndarray:
    """The report's bowl (listing 1): ~0 in the middle, 1 on the walls, shape (size, size).

    max(exp(|x| − f), exp(|y| − f)) = exp(max(|x|, |y|) − f), so one exp per axis value.
    Cached (read-only): it depends on the params alone, not on the sample.
    """
    axis_weights = exact_exp(np.abs(np.linspace(-flatness, flatness, size)) - flatness)
    weights = np.maximum(axis_weights[:, None], axis_weights[None, :])
    weights.flags.writeable = False
    return weights


@njit(cache=True)
def potential_from_noise(noise_field, trap, safety):
    """Normalise by max |value|, then apply the trap: (1 − w)·φ + safety·w (listing 1)."""
    phi = np.empty_like(noise_field)
    trap_into(phi, noise_field, trap, safety)
    return phi


@njit(cache=True)
def trap_into(phi, noise_field, trap, safety):
    """:func:`potential_from_noise` into a caller's array (``phi`` may be ``noise_field``)."""
    peak = 0.0
    for value in noise_field.ravel():
        peak = max(peak, abs(value))
    scale = 1.0 / peak if peak > 0 else 1.0
    for r in range(phi.shape[0]):
        for c in range(phi.shape[1]):
            w = trap[r, c]
            phi[r, c] = (1.0 - w) * (noise_field[r, c] * scale) + safety * w


@njit(cache=True)
def noise_field(offset_x, offset_y, size, octaves, persistence, lacunarity, repeat, base):
    """The raw Perlin field over one noise unit: coordinate = offset + index / size."""
    out = np.empty((size, size), np.float64)
    noise_field_into(out, offset_x, offset_y, octaves, persistence, lacunarity, repeat, base)
    return out


@njit(cache=True)
def noise_field_into(out, offset_x, offset_y, octaves, persistence, lacunarity, repeat, base):
    """:func:`noise_field` into a caller's (size, size) array."""
    steps = np.arange(out.shape[0]) / out.shape[0]
    perlin_grid_into(out, offset_x + steps, offset_y + steps, octaves, persistence, lacunarity,
                     repeat, base)


def potential(offset: tuple[float, float], physics,
              trap: np.ndarray | None = None) -> np.ndarray:
    """φ on the fine grid (size × size) for one noise offset (first, second noise coordinate)."""
    if trap is None:
        trap = trap_weights(physics.size, physics.trap_flatness)
    raw = noise_field(float(offset[0]), float(offset[1]), physics.size, physics.octaves,
                      physics.persistence, physics.lacunarity, physics.repeat, physics.base)
    return potential_from_noise(raw, trap, physics.trap_safety)


@njit(cache=True)
def _derivative(values, index, n):
    """np.gradient along one axis at ``index``: central inside, one-sided at the ends."""
    if index == 0:
        return values[1] - values[0]
    if index == n - 1:
        return values[n - 1] - values[n - 2]
    return 0.5 * (values[index + 1] - values[index - 1])


@njit(cache=True)
def force_at(phi, row, col):
    """F = −∇φ at one pixel as Cartesian (F_x, F_y); same numbers as :func:`force_field`."""
    n_rows, n_cols = phi.shape
    fx = -_derivative(phi[row, :], col, n_cols)
    fy = -_derivative(phi[:, col], row, n_rows)
    return fx, fy


@njit(cache=True)
def force_field(phi):
    """F = −∇φ everywhere, shape (rows, cols, 2), components (x, y) — as np.gradient would."""
    n_rows, n_cols = phi.shape
    force = np.empty((n_rows, n_cols, 2), np.float64)
    for r in range(n_rows):
        for c in range(n_cols):
            fx, fy = force_at(phi, r, c)
            force[r, c, 0] = fx
            force[r, c, 1] = fy
    return force


@njit(cache=True)
def block_mean(phi, k):
    """ψ of equation 2: the mean of each k × k block, shape (rows/k, cols/k)."""
    n_rows = phi.shape[0] // k
    n_cols = phi.shape[1] // k
    psi = np.empty((n_rows, n_cols), np.float64)
    column_sums = np.empty(phi.shape[1], np.float64)
    for pr in range(n_rows):
        column_sums[:] = phi[pr * k]
        for r in range(pr * k + 1, pr * k + k):
            column_sums += phi[r]  # contiguous rows: vectorised
        for pc in range(n_cols):
            psi[pr, pc] = column_sums[pc * k:pc * k + k].sum() / (k * k)
    return psi
