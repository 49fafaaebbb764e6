"""What a task is: its hidden parameters and their priors, the physics that moves the
particle, and the fields a model observes beside ψ and the positions.

A task is one module of this package (sbibm's layout: prior, simulator, observation).
Every layer below and above asks the task, never its name: the shard schema adds the
task's datasets (:attr:`Task.fields`), readers hand over :attr:`Task.parameter_names` as
targets, ``inspect --verify`` checks each parameter against its prior.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ConfigError
from ..physics.encoding import encode_positions
from ..physics.field import trap_weights
from ..physics.sample import SampleBatch, escaped_again, observe


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A hidden parameter: a dataset of that name, drawn uniformly in [low, high) of the
    two physics keys named here."""

    name: str
    units: str
    low_key: str
    high_key: str
    description: str

    def bounds(self, physics) -> tuple[float, float]:
        return getattr(physics, self.low_key), getattr(physics, self.high_key)

    @property
    def signed(self) -> bool:
        """Whether the prior may cross zero (scored by absolute, not relative, error)."""
        return self.name == "charge"


@dataclasses.dataclass(frozen=True)
class Field:
    """A dataset a task writes besides the common ones (shape per sample)."""

    name: str
    dtype: str
    shape: Callable  # PhysicsConfig → tuple
    units: str
    description: str
    observed: bool = False  # a model sees it (with the potential noise); else a nuisance


MASS = Parameter("mass", "mass units", "mass_low", "mass_high",
                 "particle mass, uniform in [physics.mass_low, physics.mass_high)")


def check_range(physics, low_key: str, high_key: str, least: float | None = None) -> None:
    """One line naming both keys unless least ≤ low < high."""
    low, high = getattr(physics, low_key), getattr(physics, high_key)
    floor = "" if least is None else f"{least:g} ≤ "
    if not (low < high and (least is None or low >= least)):
        raise ConfigError(f"physics.{low_key} and physics.{high_key} must satisfy "
                          f"{floor}{low_key} < {high_key} (got {low}, {high})")


class Task:
    """Subclasses set the class attributes and :meth:`draw` / :meth:`simulate`."""

    name: str = ""
    summary: str = ""
    parameters: tuple[Parameter, ...] = (MASS,)  # the mass first, in every task
    keys: tuple[str, ...] = ()  # physics keys of this task alone (recorded only for it)
    fields: tuple[Field, ...] = ()
    n_draws: int = 0  # numbers drawn per sample, in the order of :meth:`draw`

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def observed_fields(self) -> tuple[str, ...]:
        """ψ and the task's observed fields: what a model sees besides the positions."""
        return ("potential",) + tuple(f.name for f in self.fields if f.observed)

    def scales(self, physics) -> tuple[float, ...]:
        """Per parameter, the unit its σ and error are learned in: mass units for the mass
        (as before tasks existed), half the prior's width for every other parameter."""
        return (1.0,) + tuple((p.bounds(physics)[1] - p.bounds(physics)[0]) / 2
                              for p in self.parameters[1:])

    def observed_shapes(self, grid: int, steps: int) -> tuple[tuple[int, ...], ...]:
        """Per-sample shape of each observed field besides ψ: (G, G), or (T, G, G) for a
        field of every kept step."""
        layout = types.SimpleNamespace(grid=grid, time_steps=steps, size=0)
        return tuple(f.shape(layout) for f in self.fields if f.observed)

    def validate(self, physics) -> None:
        for parameter in self.parameters[1:]:
            check_range(physics, parameter.low_key, parameter.high_key)

    def draw(self, rng: np.random.Generator, physics) -> np.ndarray:
        """One sample's random numbers (offsets, parameters, nuisances), from its stream."""
        raise NotImplementedError

    def simulate(self, pending, draws, physics, out: dict, store_full: bool) -> np.ndarray:
        """Make samples ``pending`` into ``out``; return each one's escape index or −1."""
        raise NotImplementedError

    def columns(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        """The stored datasets held in the draws (parameters, offsets, nuisances)."""
        raise NotImplementedError

    def make_samples(self, rngs: Sequence[np.random.Generator], physics,
                     store_full_potential: bool = False) -> SampleBatch:
        """One sample per stream, escapes redrawn from their own stream, then observed."""
        n, grid, size = len(rngs), physics.grid, physics.size
        draws = np.array([self.draw(rng, physics) for rng in rngs]).reshape(n, self.n_draws)
        out = {"potential": np.empty((n, grid, grid)),
               "trajectory": np.empty((n, physics.n_positions, 2)),
               "potential_full": np.empty((n if store_full_potential else 0, size, size))}
        for field in self.fields:
            if field.observed:
                out[field.name] = np.empty((n, *field.shape(physics)))
        redraws = np.zeros(n, np.int64)
        pending = np.arange(n, dtype=np.int64)
        while pending.size:
            escaped = self.simulate(pending, draws, physics, out, store_full_potential)
            pending = escaped_again(pending, escaped, redraws, physics,
                                    f"narrow {self.name}'s priors or strengthen "
                                    f"physics.trap_safety")
            for s in pending:
                draws[s] = self.draw(rngs[s], physics)
        kept = list(physics.kept_steps)
        psi, positions = out["potential"], out["trajectory"][:, kept]
        extras = self.columns(draws)
        observed = [f.name for f in self.fields if f.observed]
        psi_true = None
        if physics.noisy:
            psi_true = psi
            positions, psi, drawn = observe(rngs, positions, psi, physics)
            extras.update(drawn)
            for name in observed:  # each observed field gets the potential's noise too
                draws_ = np.stack([rng.standard_normal(out[name].shape[1:]) for rng in rngs])
                out[name] = out[name] + physics.potential_noise * draws_
        for name in observed:
            extras[name] = out[name]
        encoding = np.stack([encode_positions(p, physics.downsample, grid) for p in positions])
        return SampleBatch(
            mass=extras.pop("mass"), potential=psi, trajectory=out["trajectory"],
            positions=positions, encoding=encoding, noise_offset=extras.pop("noise_offset"),
            redraws=redraws,
            potential_full=out["potential_full"] if store_full_potential else None,
            potential_true=psi_true if physics.potential_noise > 0 else None, extras=extras)


def simulation_constants(physics) -> dict:
    """The arrays and numbers every task's kernel takes, in keyword form."""
    return dict(trap=trap_weights(physics.size, physics.trap_flatness),
                safety=physics.trap_safety, octaves=physics.octaves,
                persistence=physics.persistence, lacunarity=physics.lacunarity,
                repeat=physics.repeat, base=physics.base, downsample=physics.downsample,
                start=np.array(physics.start_position, np.float64),
                velocity=np.array(physics.start_velocity, np.float64))
