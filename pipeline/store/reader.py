"""Plain reads of shard contents, block by block — for loaders, baselines and plots.

Each call opens its own file handle (h5py handles do not survive a fork and
serialise threads), so readers in different threads or processes never share one.
"""

from __future__ import annotations

import zlib
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


def read_packed(path) -> tuple[np.ndarray, list[bytes], bool, np.ndarray]:
    """ψ, each sample's encoding as bytes, whether those bytes are zlib streams, and mass.

    When the encoding is stored one gzip chunk per sample (the default), its chunks are
    returned as stored: 4 µs each to fetch, and the caller inflates them outside
    Python (h5py holds the GIL while HDF5 inflates, which would stall a training loop).
    Any other layout is read plainly and returned as raw little-endian float32 bytes.
    """
    with h5py.File(path, "r") as h5:
        encoding = h5["encoding"]
        packed = _is_packed(encoding)
        if packed:
            zeros = (0,) * (encoding.ndim - 1)
            chunks = []
            with h5py._objects.phil:  # h5py's lock: its low-level call takes none itself
                for i in range(encoding.shape[0]):
                    mask, chunk = encoding.id.read_direct_chunk((i, *zeros))
                    chunks.append(chunk if mask == 0 else zlib.compress(chunk, 1))  # unfiltered
        else:
            chunks = [sample.astype("<f4").tobytes() for sample in encoding[:]]
        return h5["potential"][:], chunks, packed, h5["mass"][:]


def _is_packed(encoding: h5py.Dataset) -> bool:
    """One plain gzip chunk of little-endian float32 per sample: chunks are zlib streams."""
    return (encoding.chunks == (1, *encoding.shape[1:]) and encoding.compression == "gzip"
            and not encoding.shuffle and not encoding.fletcher32
            and encoding.dtype == np.dtype("<f4"))


def encoding_layout(path) -> tuple[int, int, bool]:
    """(grid, time steps, packed) of a shard's encoding; DataError if it has none."""
    try:
        with h5py.File(path, "r") as h5:
            encoding = h5["encoding"]
            return encoding.shape[-1], encoding.shape[1], _is_packed(encoding)
    except (OSError, KeyError):
        raise DataError(f"{path}: not a readable shard with an encoding dataset; "
                        f"check it with `massfield inspect --verify`") from None
