"""The likelihood fit every task's physics reference shares: simulate candidate parameters,
keep those whose path best explains the observed snapshots.

A task says, in a :class:`Likelihood`, what its fit varies (the hidden parameters, then
any nuisance such as a start velocity), which fields its simulation runs in (rebuilt
from what the models see, or the exact fine fields no model sees) and how to simulate a
batch. The search is the same for every task: a grid over the free hidden parameters
(nuisances at the task's first guess), then Nelder–Mead over every free coordinate from
the best grid point, all samples at once (one jitted batch of paths per step).

Snapshot t weighs 1 / vₜ, as in the mass task's inversion
(:mod:`pipeline.physics.inversion`, whose floor and exact-field variances serve here too):
vₜ is the position noise σ² plus, for fields rebuilt from ψ, how far the path at the true
parameters drifts from the observed one by then, measured on training samples
(:func:`snapshot_variances`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..physics.inversion import VARIANCE_FLOOR

GRID = {1: 64, 2: 32}  # grid points per free hidden parameter, by how many are free
ITERATIONS = {1: 30, 2: 80, 3: 120, 4: 160}  # Nelder–Mead steps, by free coordinates


@njit(cache=True)
def keep_snapshots(trajectory, escaped, kept, out):
    """The kept steps of one simulated path into ``out`` (T, 2); NaN from its escape."""
    for t in range(kept.shape[0]):
        step = kept[t]
        if escaped != -1 and step >= escaped:
            out[t, 0] = np.nan
            out[t, 1] = np.nan
        else:
            out[t, 0] = trajectory[step, 0]
            out[t, 1] = trajectory[step, 1]


class Likelihood:
    """One task's reference: subclasses set the attributes and the three methods."""

    task: str = ""
    coordinates: tuple[str, ...] = ()  # what θ holds: hidden parameters, then nuisances
    hidden: int = 2  # how many of them are the task's hidden parameters
    reads: tuple[str, ...] = ()  # the shard datasets the fields and first guess need

    def bounds(self, physics) -> np.ndarray:
        """(P, 2) low and high of each coordinate of θ."""
        raise NotImplementedError

    def fields(self, shard: dict, physics, exact: bool):
        """What the batch simulates in: rebuilt from the observed fields, or (``exact``)
        the fine fields regenerated from the stored offsets; also φ at t = 0 on the fine
        grid when ``exact`` (to check it against the stored ψ), else None."""
        raise NotImplementedError

    def first_guess(self, shard: dict, fields, physics, exact: bool
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, P) starting θ (nuisances and fixed coordinates filled in; the hidden
        parameters are then set by the grid) and the (P,) mask of coordinates fitted."""
        raise NotImplementedError

    def nuisances(self, fields, theta: np.ndarray, observed: np.ndarray, physics
                  ) -> np.ndarray:
        """θ with its nuisances set for its hidden parameters (each grid node); as given
        where the task has none."""
        return theta

    def paths(self, fields, theta: np.ndarray, physics) -> np.ndarray:
        """(n, T, 2) positions at the kept steps of paths at θ (n, P); NaN after escape."""
        raise NotImplementedError

    def truth(self, shard: dict) -> np.ndarray:
        """(n, P) the true θ of each sample (the hidden parameters and the nuisances)."""
        return np.stack([shard[name] for name in self.coordinates], axis=1)


def misfit(predicted: np.ndarray, observed: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σₜ wₜ ‖predicted − observed‖² per sample; inf where a path left the field."""
    squared = ((predicted - observed) ** 2).sum(axis=-1)
    cost = (squared * weights).sum(axis=-1)
    return np.where(np.isfinite(cost), cost, np.inf)


def snapshot_variances(likelihood: Likelihood, shard: dict, physics) -> np.ndarray:
    """(T,) variance per coordinate of each snapshot about the path at the true θ in the
    fields rebuilt from ψ (training samples): the noise plus the rebuilt field's drift."""
    fields, _ = likelihood.fields(shard, physics, exact=False)
    predicted = likelihood.paths(fields, likelihood.truth(shard), physics)
    squared = ((predicted - shard["positions"]) ** 2).sum(axis=-1)
    finite = np.isfinite(squared)
    measured = np.where(finite, squared, 0.0).sum(axis=0) / np.maximum(finite.sum(axis=0), 1)
    return np.maximum(measured / 2, physics.position_noise_variance) + VARIANCE_FLOOR


def fit(likelihood: Likelihood, shard: dict, physics, variances: np.ndarray,
        exact: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """The most likely θ (n, P) for every sample of ``shard``, and φ at t = 0 when
    ``exact`` (see :meth:`Likelihood.fields`)."""
    fields, phi0 = likelihood.fields(shard, physics, exact)
    theta, free = likelihood.first_guess(shard, fields, physics, exact)
    bounds = likelihood.bounds(physics)
    low, width = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
    observed = np.asarray(shard["positions"], np.float64)
    weights = 1.0 / np.asarray(variances, np.float64)

    def cost(unit: np.ndarray) -> np.ndarray:
        """Misfit at θ given in units of each prior's width (free coordinates only), with
        a steep wall outside the prior so the search stays inside it."""
        inside = np.clip(unit, 0.0, 1.0)
        candidate = theta.copy()
        candidate[:, free] = low[free] + width[free] * inside
        wall = 1e6 * ((unit - inside) ** 2).sum(axis=1)
        return misfit(likelihood.paths(fields, candidate, physics), observed, weights) + wall

    start = (theta[:, free] - low[free]) / width[free]
    hidden = [k for k in range(likelihood.hidden) if free[k]]
    columns = [int(np.flatnonzero(np.flatnonzero(free) == k)[0]) for k in hidden]
    points = GRID[len(columns)]
    axes = np.meshgrid(*[_axis(likelihood.coordinates[k], bounds[k], points) for k in hidden],
                       indexing="ij")
    best, best_cost = start.copy(), np.full(len(start), np.inf)
    for node in zip(*(a.ravel() for a in axes), strict=True):
        candidate = start.copy()
        candidate[:, columns] = node
        if free[likelihood.hidden:].any():
            full = theta.copy()
            full[:, free] = low[free] + width[free] * candidate
            full = likelihood.nuisances(fields, full, observed, physics)
            candidate = (full[:, free] - low[free]) / width[free]
        value = cost(candidate)
        better = value < best_cost
        best[better], best_cost[better] = candidate[better], value[better]
    step = np.full(start.shape[1], 0.1)
    step[columns] = 1.0 / (points - 1)
    found = nelder_mead(cost, best, step, ITERATIONS[start.shape[1]])
    theta[:, free] = low[free] + width[free] * np.clip(found, 0.0, 1.0)
    return theta, phi0


def _axis(name: str, bounds: np.ndarray, points: int) -> np.ndarray:
    """Grid nodes in units of the prior's width: even in 1/m for the mass (the force moves
    a light particle most, so its paths change fastest there), even elsewhere."""
    if name != "mass":
        return np.linspace(0.0, 1.0, points)
    low, high = bounds
    return (1.0 / np.linspace(1.0 / low, 1.0 / high, points) - low) / (high - low)


def nelder_mead(cost, start: np.ndarray, step: np.ndarray, iterations: int) -> np.ndarray:
    """Minimise ``cost`` ((n, P) → (n,)) from each row of ``start`` at once: the standard
    reflect / expand / contract / shrink moves, decided per sample."""
    n, p = start.shape
    simplex = np.repeat(start[:, None, :], p + 1, axis=1)
    for k in range(p):
        simplex[:, k + 1, k] += np.where(start[:, k] + step[k] <= 1.0, step[k], -step[k])
    values = np.stack([cost(simplex[:, k]) for k in range(p + 1)], axis=1)
    rows = np.arange(n)
    for _ in range(iterations):
        order = np.argsort(values, axis=1, kind="stable")
        simplex, values = simplex[rows[:, None], order], values[rows[:, None], order]
        centroid = simplex[:, :-1].mean(axis=1)
        worst = simplex[:, -1]
        reflected = 2 * centroid - worst
        f_reflected = cost(reflected)
        expanded = 3 * centroid - 2 * worst
        f_expanded = cost(expanded)
        contracted = 0.5 * (centroid + worst)
        f_contracted = cost(contracted)
        expand = (f_reflected < values[:, 0]) & (f_expanded < f_reflected)
        reflect = ~expand & (f_reflected < values[:, -2])
        contract = ~expand & ~reflect & (f_contracted < values[:, -1])
        shrink = ~(expand | reflect | contract)
        for mask, point, value in ((expand, expanded, f_expanded),
                                   (reflect, reflected, f_reflected),
                                   (contract, contracted, f_contracted)):
            simplex[mask, -1], values[mask, -1] = point[mask], value[mask]
        if shrink.any():
            best = simplex[:, :1]
            moved = best + 0.5 * (simplex[:, 1:] - best)
            simplex[shrink, 1:] = moved[shrink]
            for k in range(1, p + 1):
                values[shrink, k] = cost(simplex[:, k])[shrink]
    return simplex[rows, np.argmin(values, axis=1)]
