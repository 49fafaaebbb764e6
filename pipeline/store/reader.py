"""Plain reads of shard contents, block by block — for loaders, baselines and plots.

Each call opens its own file handle (h5py handles do not survive a fork and
serialise threads), so readers in different threads or processes never share one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from ..errors import DataError
from .manifest import read_manifest, split_files

READ_BLOCK = 64  # samples per read: amortises h5py's per-call cost
MODEL_FIELDS = ("potential", "encoding", "mass")


def read_blocks(path, fields: tuple[str, ...] = MODEL_FIELDS) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield tuples of arrays, READ_BLOCK samples at a time, from one shard (opened here)."""
    if isinstance(path, bytes):  # tf.data hands generator arguments over as bytes
        path = path.decode()
    with h5py.File(path, "r") as h5:
        n = h5["mass"].shape[0]
        for start in range(0, n, READ_BLOCK):
            yield tuple(h5[name][start:start + READ_BLOCK] for name in fields)


def read_shard(path, fields: tuple[str, ...] = MODEL_FIELDS) -> tuple[np.ndarray, ...]:
    """Whole datasets of one shard (opened here), each in one read."""
    if isinstance(path, bytes):  # tf.data hands generator arguments over as bytes
        path = path.decode()
    with h5py.File(path, "r") as h5:
        return tuple(h5[name][:] for name in fields)


def store_files(directory: Path, split: str | None) -> list[Path]:
    """Shards of ``split`` from the manifest, or every shard-*.h5 when split is None."""
    directory = Path(directory)
    if split is None:
        if not directory.is_dir():
            raise DataError(f"{directory}: no such directory; pass a directory of shards")
        files = sorted(directory.glob("shard-*.h5"))
        if not files:
            raise DataError(f"{directory}: holds no shard-*.h5 files; pass a directory of shards")
        return files
    files = split_files(directory, read_manifest(directory), split)
    if not files:
        raise DataError(f"{directory}: no {split} shards in the manifest; "
                        f"regenerate with more samples or other generate.splits")
    for path in files:
        if not path.exists():
            raise DataError(f"{path}: shard listed in the manifest is missing; "
                            f"re-run `massfield generate`")
    return files


def read_arrays(files: list[Path],
                fields: tuple[str, ...] = MODEL_FIELDS) -> tuple[np.ndarray, ...]:
    """Whole datasets of several shards, concatenated in file order."""
    blocks = [block for path in files for block in read_blocks(str(path), fields)]
    if not blocks:
        raise DataError("no samples in the given shards")
    return tuple(np.concatenate([b[i] for b in blocks]) for i in range(len(fields)))


def shard_layout(path) -> tuple[int, int, int]:
    """(grid, time steps, downsample) of a shard; DataError if it is not one of ours."""
    try:
        with h5py.File(path, "r") as h5:
            downsample = json.loads(h5.attrs["params"])["physics"]["downsample"]
            return h5["potential"].shape[-1], h5["positions"].shape[1], int(downsample)
    except (OSError, KeyError, TypeError, ValueError):
        raise DataError(f"{path}: not a readable shard with potential, positions and params; "
                        f"check it with `massfield inspect --verify`") from None
