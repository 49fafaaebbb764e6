"""``inspect --verify``: is every shard whole, of our schema, and physically sane?

Checks return problems as short phrases; the CLI prints one line per bad file. Integrity
comes first (manifest checksums, or the checksums a shard carries when there is no
manifest), then the schema and the values. ``resimulate`` goes further: it remakes
samples from the params and seed a shard records and compares them with what is stored,
which tells "numerically equal, bits differ" (another machine's floating point) from
damage or other code.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..config import params_from_dict
from ..errors import ConfigError
from ..physics.encoding import cell_coordinate
from ..physics.sample import sample_streams
from ..tasks import make_samples, task_of
from . import sandbox
from .integrity import check_against_entry, file_sha256, prove_shard
from .schema import SCHEMA_VERSION, expected_datasets, recorded_params

ENCODING_TOLERANCE = 1e-4  # float32 weights: sums and centroids to this, in grid cells
NUMERICALLY_EQUAL = 1e-9  # relative: last bits of float64 arithmetic, nothing physical


def grid_coordinates(pixels: np.ndarray, downsample: int, n_cells: int) -> np.ndarray:
    """Vectorised ``physics.encoding.to_grid``: fine pixels → clamped coarse-grid coordinates."""
    return np.clip(cell_coordinate(pixels, downsample), 0.0, n_cells - 1.0)


def _check_encoding(encoding: np.ndarray, positions: np.ndarray, downsample: int) -> list[str]:
    problems = []
    sums = encoding.sum(axis=(-2, -1), dtype=np.float64)
    if np.abs(sums - 1).max() > ENCODING_TOLERANCE:
        worst = sums.flat[np.abs(sums - 1).argmax()]
        problems.append(f"encoding weights do not sum to 1 (worst {worst:.4f})")
    n = encoding.shape[-1]
    cells = np.arange(n)
    centroid_x = (encoding.sum(axis=-2, dtype=np.float64) * cells).sum(axis=-1)
    centroid_y = (encoding.sum(axis=-1, dtype=np.float64) * cells).sum(axis=-1)
    expected = grid_coordinates(positions, downsample, n)
    error = max(np.abs(centroid_x - expected[..., 0]).max(),
                np.abs(centroid_y - expected[..., 1]).max())
    if error > ENCODING_TOLERANCE * 10:
        problems.append(f"encoding centroids are off the stored positions by up to "
                        f"{error:.3g} cells")
    return problems


def within_noise(name: str, observed: np.ndarray, truth: np.ndarray, sigma: float) -> list[str]:
    """The observation against the truth: equal without noise (to the last bits of float64
    arithmetic); with noise, residuals whose mean and rms are what i.i.d. Gaussian noise of
    ``sigma`` gives (6 standard errors, plus float32 rounding)."""
    residual = observed.astype(np.float64) - truth.astype(np.float64)
    if sigma == 0:
        scale = max(float(np.abs(truth).max(initial=0.0)), 1.0)
        if np.abs(residual).max(initial=0.0) <= NUMERICALLY_EQUAL * scale:
            return []
        return [f"{name} differs from the truth by up to {np.abs(residual).max():.3g} "
                f"though its recorded noise is 0"]
    n = residual.size
    rms, mean = float(np.sqrt(np.mean(residual ** 2))), float(residual.mean())
    if (abs(rms - sigma) <= sigma * 6 / np.sqrt(2 * n) + 1e-7
            and abs(mean) <= 6 * sigma / np.sqrt(n)):
        return []
    return [f"{name} differs from the truth by {rms:.3g} rms (mean {mean:.2g}), not the "
            f"recorded noise σ = {sigma:g}"]


def _check_observation(h5: h5py.File, physics) -> list[str]:
    """positions against trajectory at the kept steps, ψ against potential_true."""
    truth = h5["trajectory"][()][:, list(physics.kept_steps)]
    if physics.position_noise_drawn:  # each sample's residual in units of its own σ
        sigma = h5["position_noise"][()]
        low, high = physics.position_noise_range
        if sigma.min() < low or sigma.max() >= high or sigma.min() <= 0:
            return [f"position_noise outside its range ({low}, {high})"]
        scaled = (h5["positions"][()] - truth) / sigma[:, None, None]
        problems = within_noise("positions / position_noise", scaled, np.zeros_like(scaled),
                                1.0)
    else:
        problems = within_noise("positions", h5["positions"][()], truth,
                                physics.position_noise)
    if physics.potential_noise > 0:
        problems += within_noise("potential", h5["potential"][()], h5["potential_true"][()],
                                 physics.potential_noise)
    return problems


def _shard_params(h5: h5py.File):
    return params_from_dict(recorded_params(h5), "shard params")


def _check_contents(h5: h5py.File) -> list[str]:
    try:
        params = _shard_params(h5)
    except (KeyError, json.JSONDecodeError, ConfigError) as exc:
        return [f"root attribute params missing or invalid ({exc})"]
    physics = params.physics
    if h5.attrs.get("schema_version") != SCHEMA_VERSION:
        return [f"schema version {h5.attrs.get('schema_version')} is not {SCHEMA_VERSION} "
                f"(made by another massfield; remake the store with `massfield generate "
                f"--overwrite`)"]
    problems = []
    n = int(h5.attrs.get("n_samples", -1))
    for spec in expected_datasets(params):
        if spec.name not in h5:
            problems.append(f"dataset {spec.name} missing")
            continue
        dataset = h5[spec.name]
        shape = (n, *spec.shape(physics))
        if dataset.shape != shape or dataset.dtype != spec.dtype:
            problems.append(f"dataset {spec.name} is {dataset.dtype}{dataset.shape}, "
                            f"expected {spec.dtype}{shape}")
            continue
        values = dataset[()]
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            problems.append(f"dataset {spec.name} holds NaN or inf")
    if problems:
        return problems
    for parameter in task_of(physics).parameters:
        values, (low, high) = h5[parameter.name][()], parameter.bounds(physics)
        if values.min() < low or values.max() >= high:
            problems.append(f"{parameter.name} outside its prior [{low}, {high})")
    problems += _check_encoding(h5["encoding"][()], h5["positions"][()], physics.downsample)
    return problems + _check_observation(h5, physics)


def verify_shard(path: Path, entry: dict | None = None) -> list[str]:
    """Problems with one shard file; empty if it is sound.

    With a manifest ``entry`` the file must hold what the manifest recorded; without one
    it must match the checksums it carries. Only a file whose bytes are the recorded ones
    is opened in this process; any other in the sandbox (sandbox.py).
    """
    path = Path(path)
    if not path.exists():
        return ["file missing"]
    if entry is not None and file_sha256(path) == entry.get("sha256"):
        return _contents_problems(path)
    try:
        return sandbox.call(_verify_unproven, path, entry)
    except sandbox.Unreadable as exc:
        return [exc.problem]


def _verify_unproven(path: Path, entry: dict | None) -> list[str]:
    if entry is not None:
        problem = check_against_entry(path, entry, strict=True)
    else:
        problem = prove_shard(path)[1]
    if problem is not None and "not a readable HDF5" in problem:
        return [problem]
    return ([problem] if problem else []) + _contents_problems(path)


def _contents_problems(path: Path) -> list[str]:
    try:
        with h5py.File(path, "r") as h5:
            return _check_contents(h5)
    except (OSError, RuntimeError, ValueError) as exc:
        reason = str(exc).splitlines()[0]
        return [f"not a readable HDF5 shard, truncated or corrupt ({reason})"]


def resimulate(path: Path, samples: int) -> str:
    """Remake the first ``samples`` samples of a shard and say how they compare."""
    with h5py.File(path, "r") as h5:
        params = _shard_params(h5)
        seed_record = json.loads(h5.attrs["shard_seed"])
        n = min(samples, int(h5.attrs["n_samples"]))
        stored = {name: h5[name][:n] for name in h5.keys()}
    seed = np.random.SeedSequence(seed_record["entropy"],
                                  spawn_key=tuple(seed_record["spawn_key"]))
    streams = sample_streams(seed, n)  # sample i's stream is child i, whatever the count
    remade = make_samples(streams, params.physics, params.generate.store_full_potential)
    differing, worst = [], 0.0
    for name, values in stored.items():
        fresh = np.asarray(remade.field(name), dtype=values.dtype)
        if np.array_equal(values, fresh):
            continue
        scale = max(float(np.abs(fresh).max()), 1.0)
        gap = float(np.abs(values.astype(np.float64) - fresh).max())
        if not np.isfinite(gap) or gap > NUMERICALLY_EQUAL * scale:
            return (f"does not match its params and seed: the first {n} samples remade "
                    f"differ in {name} by up to {gap:.3g} (damaged, or made by other code)")
        differing.append(name)
        worst = max(worst, gap)
    if differing:
        return (f"numerically equal, bits differ: the first {n} samples remade agree to "
                f"{worst:.1e} in {', '.join(differing)} (another processor's arithmetic)")
    return f"reproduced bit for bit: the first {n} samples remade from its params and seed"
