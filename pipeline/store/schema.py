"""The shard format in one place: dataset names, shapes, dtypes, units, meaning.

docs/dataset.md describes the same layout for people; ``inspect --verify`` checks files
against this module. Bump SCHEMA_VERSION whenever a name, shape, dtype or required
attribute changes (2: content checksums, see integrity.py; 3: the observation model —
``potential`` and ``positions`` are what is observed, ``potential_true`` and
``trajectory`` the truth — and shard params without ``generate.n_samples``, so that a
store grows in place).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import numpy as np

from ..config import Params, PhysicsConfig
from ..tasks import task_of

SCHEMA_VERSION = 3
SHARD_PATTERN = "shard-{index:05d}.h5"
SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    name: str
    dtype: np.dtype
    shape: Callable[[PhysicsConfig], tuple[int, ...]]  # per sample
    units: str
    description: str
    per_sample_chunks: bool = True  # if compressed: one sample per chunk, else one per shard
    written: Callable[[Params], bool] = lambda params: True  # present in a shard of params
    compressed: bool = True  # gzip (readable by every HDF5 tool) at generate.compression_level
    shuffle: bool = True  # byte-shuffle before gzip: helps smooth floats, not sparse ones
    sparse: bool = False  # mostly zeros: chunks deflated by store.deflate, written directly


DATASETS = (
    DatasetSpec("mass", np.dtype("float64"), lambda p: (), "mass units",
                "particle mass, uniform in [physics.mass_low, physics.mass_high)",
                per_sample_chunks=False),
    # psi and phi are smooth noise: gzip saves ~13 % of their bytes at a cost larger
    # than the rest of the write, so they are stored raw (docs/dataset.md, "On disk")
    DatasetSpec("potential", np.dtype("float32"), lambda p: (p.grid, p.grid), "dimensionless",
                "observed psi: k×k block mean of the trapped potential phi (equation 2), "
                "plus Gaussian noise of sigma physics.potential_noise, [row=y, col=x]",
                compressed=False),
    DatasetSpec("trajectory", np.dtype("float64"), lambda p: (p.n_positions, 2), "pixels",
                "every simulated position (x, y) on the fine grid, t = 0 … n_positions-1",
                compressed=False),  # float64 positions: gzip saved 5 % at 4× the write cost
    DatasetSpec("positions", np.dtype("float64"), lambda p: (p.time_steps, 2), "pixels",
                "observed kept positions (x, y): trajectory[:, 0::stride][:time_steps] plus "
                "Gaussian noise of sigma physics.position_noise",
                compressed=False),  # gzip of these floats cost more than the rest of the write
    DatasetSpec("encoding", np.dtype("float32"), lambda p: (p.time_steps, p.grid, p.grid),
                "weight", "four-warm encoding of each observed kept position on the coarse grid",
                shuffle=False, sparse=True),
    DatasetSpec("noise_offset", np.dtype("float64"), lambda p: (2,), "noise units",
                "pnoise2 offset of the field's first and second coordinate",
                per_sample_chunks=False),
    DatasetSpec("redraws", np.dtype("int64"), lambda p: (), "count",
                "fields and masses redrawn because the particle escaped the grid",
                per_sample_chunks=False),
    DatasetSpec("potential_full", np.dtype("float64"), lambda p: (p.size, p.size),
                "dimensionless", "phi: the trapped potential on the fine grid, [row=y, col=x]",
                written=lambda params: params.generate.store_full_potential, compressed=False),
    DatasetSpec("potential_true", np.dtype("float32"), lambda p: (p.grid, p.grid),
                "dimensionless", "true psi, before the observation noise: the hidden truth",
                written=lambda params: params.physics.potential_noise > 0, compressed=False),
    DatasetSpec("position_noise", np.dtype("float64"), lambda p: (), "pixels",
                "this sample's σ of the position noise, uniform in [physics.position_noise, "
                "physics.position_noise_high) (a nuisance the models do not predict)",
                written=lambda params: params.physics.position_noise_drawn,
                per_sample_chunks=False),
)


def task_datasets(physics: PhysicsConfig) -> tuple[DatasetSpec, ...]:
    """The datasets a task adds: its hidden parameters beyond the mass, then its fields
    (observed ones stored like ψ, nuisances like the noise offset)."""
    task = task_of(physics)
    specs = [DatasetSpec(p.name, np.dtype("float64"), lambda physics: (), p.units,
                         p.description, per_sample_chunks=False)
             for p in task.parameters if p.name != "mass"]
    specs += [DatasetSpec(f.name, np.dtype(f.dtype), f.shape, f.units, f.description,
                          compressed=not f.observed, per_sample_chunks=False)
              for f in task.fields]
    return tuple(specs)


def expected_datasets(params: Params) -> tuple[DatasetSpec, ...]:
    """The datasets a shard of ``params`` holds."""
    return tuple(d for d in DATASETS if d.written(params)) + task_datasets(params.physics)


def shard_name(index: int) -> str:
    return SHARD_PATTERN.format(index=index)


def params_attribute(shard_params: dict) -> str:
    """A shard's ``params`` root attribute: its shard params as sorted-key JSON."""
    return json.dumps(shard_params, sort_keys=True)


def recorded_params(h5) -> dict:
    """The shard params an open shard records (KeyError, ValueError or TypeError if it
    has none readable; callers say which file and what to do)."""
    return json.loads(h5.attrs["params"])
