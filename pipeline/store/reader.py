"""Which shards a reader may use, checked before use, and plain reads of their contents.

Every reader — training, evaluation, prediction, plots — gets its files from
:func:`shard_files`, which checks each one: against manifest.json when the location is a
store (file checksum, ~1 GB/s), or against the checksums a shard carries itself when it
is a loose file or a directory without a manifest (integrity.py). A damaged file is
refused with its name and the fix; a file is checked once per process.

Each read opens its own file handle (h5py handles do not survive a fork and serialise
threads), so readers in different threads or processes never share one.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ..errors import DataError
from ..tasks import DEFAULT as DEFAULT_TASK
from ..tasks import task_named
from .integrity import prove_shard, remember
from .manifest import MANIFEST
from .schema import recorded_params
from .store import Store
from .url import is_url, location_of

# What every model and baseline reads: the observed ψ and kept positions (the loaders
# encode the positions themselves), and the target. The truth beside them is for checks.
OBSERVED_FIELDS = ("potential", "positions", "mass")
SHARD_GLOB = "shard-*.h5"


def shard_files(location: str | Path, split: str | None = None) -> list[Path]:
    """Checked shards: of ``split`` (None: all) of a store (a directory or a URL), or a
    loose shard or directory."""
    location = location_of(location)
    if is_url(location):
        return Store.open(location).files(split)
    if location.is_file():
        if split is not None:
            raise DataError(f"{location}: a single shard has no {split} split; "
                            f"pass its store's directory")
        return [_proven(location, f"massfield inspect --verify {location}")]
    if not location.is_dir():
        raise DataError(f"{location}: no such shard store, directory or .h5 file")
    if (location / MANIFEST).exists() or split is not None:
        return store_files(location, split)
    files = sorted(location.glob(SHARD_GLOB))
    if not files:
        raise DataError(f"{location}: holds neither a manifest nor shard-*.h5 files; "
                        f"pass a shard store or a directory of shards")
    return [_proven(path, f"massfield inspect --verify {location}") for path in files]


def store_files(directory: str | Path, split: str | None) -> list[Path]:
    """Shards of ``split`` (None: all) listed in the manifest, each matching its record."""
    return Store.open(directory).files(split)


def _proven(path: Path, fix: str) -> Path:
    problem = remember(path, lambda p: prove_shard(p)[1])
    if problem:
        raise DataError(f"{path}: {problem}; check it with `{fix}`")
    return path


def read_shard(path, fields: tuple[str, ...] = OBSERVED_FIELDS) -> tuple[np.ndarray, ...]:
    """Whole datasets of one shard (opened here), each in one read."""
    if isinstance(path, bytes):  # tf.data hands generator arguments over as bytes
        path = path.decode()
    with h5py.File(path, "r") as h5:
        return tuple(h5[name][:] for name in fields)


def read_arrays(files: list[Path],
                fields: tuple[str, ...] = OBSERVED_FIELDS) -> tuple[np.ndarray, ...]:
    """Whole datasets of several shards, concatenated in file order (small stores, tests)."""
    if not files:
        raise DataError("no samples in the given shards")
    shards = [read_shard(str(path), fields) for path in files]
    return tuple(np.concatenate([shard[i] for shard in shards]) for i in range(len(fields)))


def shard_params(path: Path) -> dict:
    """The generation params (physics, generate) a shard carries."""
    try:
        with h5py.File(path, "r") as h5:
            return recorded_params(h5)
    except (OSError, KeyError, TypeError, ValueError):
        raise DataError(f"{path}: not a readable massfield shard (no params); "
                        f"check it with `massfield inspect --verify {path}`") from None


def store_at(location: str | Path) -> Store | None:
    """The store at ``location`` (a URL, or a directory with a manifest), opened once for
    the whole command; None for loose shards."""
    location = location_of(location)
    if is_url(location) or (location.is_dir() and (location / MANIFEST).exists()):
        return Store.open(location)
    return None


def location_physics(location: str | Path):
    """The physics params of a store (from its manifest: no shard is read or fetched) or of
    the first of a directory's loose shards, or of one shard file."""
    from ..config import params_from_dict

    store = store_at(location)
    if store is not None:
        return store.params.physics
    return params_from_dict(shard_params(shard_files(location)[0])).physics


def shard_layout(path) -> tuple[int, int, int, object]:
    """(grid, time steps, downsample, task) of a shard, in one open — the task from
    ``physics.task`` of its params, ``mass`` if none; DataError if it is not one of ours."""
    try:
        with h5py.File(path, "r") as h5:
            physics = recorded_params(h5)["physics"]
            layout = h5["potential"].shape[-1], h5["positions"].shape[1], int(physics["downsample"])
    except (OSError, KeyError, TypeError, ValueError):
        raise DataError(f"{path}: not a readable shard with potential, positions and params; "
                        f"check it with `massfield inspect --verify {path}`") from None
    return (*layout, task_named(physics.get("task", DEFAULT_TASK)))


def first_samples(files: list[Path], n: int, fields: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """``fields`` of the first ``n`` samples of ``files``, in file order (a shard at a time,
    reading no more shards than needed)."""
    parts, count = [], 0
    for path in files:
        parts.append(read_shard(str(path), fields))
        count += len(parts[-1][0])
        if count >= n:
            break
    return tuple(np.concatenate(arrays)[:n] for arrays in zip(*parts, strict=True))
