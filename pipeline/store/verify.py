"""``inspect --verify``: is every shard whole, of our schema, and physically sane?

Each check returns problems as short phrases; the CLI prints one line per bad file.
Works with or without a manifest (without one, checksums are skipped).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..config import params_from_dict
from ..errors import ConfigError
from ..physics.encoding import to_grid
from .atomic import sha256
from .schema import SCHEMA_VERSION, expected_datasets

ENCODING_TOLERANCE = 1e-4  # float32 weights: sums and centroids to this, in grid cells


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
    expected_x = np.vectorize(lambda p: to_grid(p, downsample, n))(positions[..., 0])
    expected_y = np.vectorize(lambda p: to_grid(p, downsample, n))(positions[..., 1])
    error = max(np.abs(centroid_x - expected_x).max(), np.abs(centroid_y - expected_y).max())
    if error > ENCODING_TOLERANCE * 10:
        problems.append(f"encoding centroids are off the stored positions by up to "
                        f"{error:.3g} cells")
    return problems


def _check_contents(h5: h5py.File) -> list[str]:
    try:
        params = params_from_dict(json.loads(h5.attrs["params"]))
    except (KeyError, json.JSONDecodeError, ConfigError) as exc:
        return [f"root attribute params missing or invalid ({exc})"]
    physics = params.physics
    if h5.attrs.get("schema_version") != SCHEMA_VERSION:
        return [f"schema version {h5.attrs.get('schema_version')} is not {SCHEMA_VERSION}"]
    problems = []
    n = int(h5.attrs.get("n_samples", -1))
    for spec in expected_datasets(params.generate.store_full_potential):
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
    mass = h5["mass"][()]
    if mass.min() < physics.mass_low or mass.max() >= physics.mass_high:
        problems.append(f"masses outside [{physics.mass_low}, {physics.mass_high})")
    problems += _check_encoding(h5["encoding"][()], h5["positions"][()], physics.downsample)
    return problems


def verify_shard(path: Path, entry: dict | None = None) -> list[str]:
    """Problems with one shard file; empty if it is sound."""
    path = Path(path)
    if not path.exists():
        return ["file missing"]
    if entry is not None and sha256(path) != entry.get("sha256"):
        problems = ["checksum does not match the manifest (file changed or damaged)"]
    else:
        problems = []
    try:
        with h5py.File(path, "r") as h5:
            problems += _check_contents(h5)
    except (OSError, RuntimeError, ValueError) as exc:
        reason = str(exc).splitlines()[0]
        problems.append(f"not a readable HDF5 shard, truncated or corrupt ({reason})")
    return problems
