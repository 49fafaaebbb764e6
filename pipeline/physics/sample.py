"""One complete sample — field, mass, trajectory, encodings — from a random stream.

Each sample owns a ``numpy.random.Generator``; every draw for it (noise offset,
mass, and any redraw after an escape) comes from that stream alone, so a sample is
the same whether it is made alone or in a batch, in any order, on any worker.
The batch path runs the numerics for many samples in one jitted call.

The observation model comes last: with ``physics.position_noise`` or
``physics.potential_noise`` above zero, each sample then draws standard normals for its
kept positions and for its ψ cells (both, whichever σ is set, so that stores of other noise
levels share their draws), adds them scaled by σ to what a model observes, and re-encodes
the observed positions. The truth stays beside them: ``trajectory`` and ``potential_true``.
With both σ zero nothing is drawn and the sample is what it was before the model existed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from numba import njit

from ..errors import ConfigError
from .encoding import encode_positions
from .field import block_mean, noise_field_into, trap_into, trap_weights
from .integrator import NOT_ESCAPED, simulate_into


@dataclasses.dataclass(frozen=True)
class SampleBatch:
    """n samples; positions in fine pixels (x, y), ψ and potentials dimensionless."""

    mass: np.ndarray  # (n,)
    potential: np.ndarray  # (n, grid, grid) ψ, the block mean of φ
    trajectory: np.ndarray  # (n, n_positions, 2)
    positions: np.ndarray  # (n, time_steps, 2) the kept positions
    encoding: np.ndarray  # (n, time_steps, grid, grid) four-warm, float32
    noise_offset: np.ndarray  # (n, 2)
    redraws: np.ndarray  # (n,) escapes redrawn before this sample
    potential_full: np.ndarray | None = None  # (n, size, size) φ, if asked for
    potential_true: np.ndarray | None = None  # (n, grid, grid) ψ before noise, if noisy
    extras: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # a task's own

    def __len__(self) -> int:
        return self.mass.shape[0]

    def field(self, name: str) -> np.ndarray:
        """A dataset by name: a common one or one of the task's own."""
        return self.extras[name] if name in self.extras else getattr(self, name)

    def sample(self, index: int) -> dict[str, np.ndarray]:
        """One sample as a dict of arrays (for plots and inspection)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name != "extras"}
        fields.update(self.extras)
        return {k: v[index] for k, v in fields.items() if v is not None}


def _draw(rng: np.random.Generator, physics) -> tuple[np.ndarray, float]:
    offset = rng.uniform(0.0, physics.offset_high, size=2)
    mass = rng.uniform(physics.mass_low, physics.mass_high)
    return offset, mass


@njit(cache=True, nogil=True)
def _fill(indices, offsets, masses, trap, safety, size, octaves, persistence, lacunarity,
          repeat, base, downsample, start, velocity, kept, psi_out, trajectory_out,
          encoding_out, full_out, store_full):
    """Make samples ``indices`` in place; return each one's escape index (−1 if none)."""
    escaped = np.empty(indices.shape[0], np.int64)
    n_cells = psi_out.shape[1]
    phi = np.empty((size, size), np.float64)  # one buffer for every field of the batch
    for k in range(indices.shape[0]):
        s = indices[k]
        noise_field_into(phi, offsets[s, 0], offsets[s, 1], octaves, persistence, lacunarity,
                         repeat, base)
        trap_into(phi, phi, trap, safety)
        if store_full:
            full_out[s] = phi
        psi_out[s] = block_mean(phi, downsample)
        escaped[k] = simulate_into(phi, masses[s], start[0], start[1], velocity[0],
                                   velocity[1], trajectory_out[s])
        if escaped[k] == -1:
            encoding_out[s] = encode_positions(trajectory_out[s][kept], downsample, n_cells)
    return escaped


def escaped_again(pending: np.ndarray, escaped: np.ndarray, redraws: np.ndarray, physics,
                  advice: str) -> np.ndarray:
    """The samples of ``pending`` whose particle escaped, each counted in ``redraws``; one
    line with ``advice`` once a sample has escaped more than physics.max_redraws times."""
    again = pending[escaped != NOT_ESCAPED]
    for s in again:
        redraws[s] += 1
        if redraws[s] > physics.max_redraws:
            raise ConfigError(f"physics.max_redraws: a particle escaped the trap {redraws[s]} "
                              f"times in a row; {advice}")
    return again


def make_samples(rngs: Sequence[np.random.Generator], physics,
                 store_full_potential: bool = False) -> SampleBatch:
    """Make one sample per stream; escaped particles are redrawn from their own stream."""
    n = len(rngs)
    grid, size = physics.grid, physics.size
    offsets = np.empty((n, 2))
    masses = np.empty(n)
    for s, rng in enumerate(rngs):
        offsets[s], masses[s] = _draw(rng, physics)
    redraws = np.zeros(n, np.int64)
    psi = np.empty((n, grid, grid))
    trajectory = np.empty((n, physics.n_positions, 2))
    encoding = np.zeros((n, physics.time_steps, grid, grid), np.float32)
    full = np.empty((n, size, size)) if store_full_potential else np.empty((0, size, size))
    trap = trap_weights(size, physics.trap_flatness)
    kept = np.array(physics.kept_steps, np.int64)
    start = np.array(physics.start_position, np.float64)
    velocity = np.array(physics.start_velocity, np.float64)
    pending = np.arange(n, dtype=np.int64)
    while pending.size:
        escaped = _fill(pending, offsets, masses, trap, physics.trap_safety, size,
                        physics.octaves, physics.persistence, physics.lacunarity,
                        physics.repeat, physics.base, physics.downsample, start, velocity,
                        kept, psi, trajectory, encoding, full, store_full_potential)
        pending = escaped_again(pending, escaped, redraws, physics,
                                "strengthen physics.trap_safety or raise physics.mass_low")
        for s in pending:
            offsets[s], masses[s] = _draw(rngs[s], physics)
    positions = trajectory[:, kept]
    psi_true, drawn = None, {}
    if physics.noisy:
        psi_true = psi
        positions, psi, drawn = observe(rngs, positions, psi, physics)
        if physics.position_noise_range[1] > 0:
            for s in range(n):
                encoding[s] = encode_positions(positions[s], physics.downsample, grid)
    return SampleBatch(
        mass=masses, potential=psi, trajectory=trajectory,
        positions=positions, encoding=encoding, noise_offset=offsets,
        redraws=redraws, potential_full=full if store_full_potential else None,
        potential_true=psi_true if physics.potential_noise > 0 else None, extras=drawn)


def observe(rngs: Sequence[np.random.Generator], positions: np.ndarray, psi: np.ndarray,
            physics) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The observed kept positions and ψ: the truth plus each sample's own Gaussian draws;
    with a range of position σ, each sample first draws its σ (returned as the dataset
    ``position_noise``, else nothing)."""
    position_draws = np.empty_like(positions)
    psi_draws = np.empty_like(psi)
    low, high = physics.position_noise_range
    sigma = np.full(len(rngs), low)
    for s, rng in enumerate(rngs):
        if physics.position_noise_drawn:
            sigma[s] = rng.uniform(low, high)
        position_draws[s] = rng.standard_normal(positions.shape[1:])
        psi_draws[s] = rng.standard_normal(psi.shape[1:])
    drawn = {"position_noise": sigma} if physics.position_noise_drawn else {}
    return (positions + sigma[:, None, None] * position_draws,
            psi + physics.potential_noise * psi_draws, drawn)


def make_sample(rng: np.random.Generator, physics,
                store_full_potential: bool = False) -> dict[str, np.ndarray]:
    """The sample function: one stream in, one sample out (a dict of arrays)."""
    return make_samples([rng], physics, store_full_potential).sample(0)


def sample_streams(seed: np.random.SeedSequence, n: int) -> list[np.random.Generator]:
    """One independent generator per sample, spawned from a shard's seed."""
    return [np.random.Generator(np.random.PCG64(child)) for child in seed.spawn(n)]
