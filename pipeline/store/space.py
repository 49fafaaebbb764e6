"""Will the store fit? A lower bound on the bytes ``generate`` is about to write.

The datasets stored raw (ψ, trajectories, positions: ~90 % of a default shard) take exactly
their array bytes on disk; compressed ones take more than nothing. Their sum is a size the
shards cannot be smaller than, known from the schema before the first shard is made, so a
target whose free space is below it is refused at once instead of failing hours later.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..config import Params
from ..errors import DataError
from .schema import expected_datasets


def raw_bytes_per_sample(params: Params) -> int:
    """Bytes a sample certainly occupies: its datasets that are stored uncompressed."""
    level = params.generate.compression_level
    return sum(int(spec.dtype.itemsize * _count(spec.shape(params.physics)))
               for spec in expected_datasets(params)
               if not (level and spec.compressed))


def _count(shape: tuple[int, ...]) -> int:
    count = 1
    for side in shape:
        count *= side
    return count


def human(n_bytes: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f} {unit}"
    return f"{n_bytes:.0f} bytes"


def check_free_space(directory: Path, params: Params, todo: list[int]) -> None:
    """DataError with the estimate and the free space if the shards to make cannot fit."""
    if not todo:
        return
    per_sample = raw_bytes_per_sample(params)
    need = per_sample * sum(params.generate.shard_samples(index) for index in todo)
    free = shutil.disk_usage(directory).free
    if need > free:
        raise DataError(f"{directory}: the {len(todo)} shards to make need at least "
                        f"{human(need)} ({per_sample} bytes a sample stored raw, before any "
                        f"compressed data), but only {human(free)} are free there; free space, "
                        f"choose another --out or make fewer generate.n_samples")
