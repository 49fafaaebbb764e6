"""One seeded order of a split's samples, and the per-sample transforms every reader shares.

The order visits the shards in a seeded permutation, ``group`` at a time, and shuffles the
samples of each group together: samples mix across shards while a reader holds at most
``group`` shards in memory, whatever the store's size.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ConfigError
from ..physics.encoding import encode_positions, four_warm_into, to_grid
from ..store.reader import OBSERVED_FIELDS

GROUP = 4  # shards whose samples are shuffled together (and held in memory at once)
FIELDS = OBSERVED_FIELDS  # the mass task's: observed ψ and positions, the mass (Store.fields: any)


def require_count(name: str, value, least: int = 1) -> int:
    """A reader's whole-number argument (batch_size, group ≥ 1; seed, epoch ≥ 0) as an int,
    else the one-line ConfigError the command line would give."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ConfigError(f"{name} must be a whole number ≥ {least}, got {value!r}")
    return int(value)


def epoch_blocks(sizes: list[int], seed: int, epoch: int = 0,
                 group: int = GROUP) -> list[np.ndarray]:
    """Pass ``epoch`` over files of ``sizes``: per group of shards, an (n, 2) int64 array of
    (file index, row) in the order its samples are read (each pass a new seeded order)."""
    group = require_count("group", group)
    seed, epoch = require_count("seed", seed, 0), require_count("epoch", epoch, 0)
    rng = np.random.default_rng([seed, epoch])
    files = rng.permutation(len(sizes))
    blocks = []
    for start in range(0, len(files), group):
        pairs = np.concatenate([np.stack([np.full(sizes[f], f), np.arange(sizes[f])], axis=1)
                                for f in files[start:start + group]]).astype(np.int64)
        blocks.append(pairs[rng.permutation(len(pairs))])
    return blocks


def epoch_order(sizes: list[int], seed: int, epoch: int = 0, group: int = GROUP) -> np.ndarray:
    """(N, 2): every sample's (file index, row), in the order of :func:`epoch_blocks`."""
    return np.concatenate(epoch_blocks(sizes, seed, epoch, group))


def gather(rows: np.ndarray, shard, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``fields`` of the samples ``rows`` ((file, row) pairs, in that order), each read from
    ``shard(file)`` (field → array): one fancy index per shard and field, however a group's
    shards interleave in the order."""
    out = {}
    for file in np.unique(rows[:, 0]):
        arrays, here = shard(int(file)), rows[:, 0] == file
        for name in fields:
            values = arrays[name]
            if name not in out:
                out[name] = np.empty((len(rows),) + values.shape[1:], values.dtype)
            out[name][here] = values[rows[here, 1]]
    return out


@njit(cache=True)
def encode_into(out, positions, downsample):
    """Four-warm encodings of positions (B, T, 2) into a zeroed ``out`` (B, T, G, G) float32:
    bit for bit :func:`~pipeline.physics.encoding.encode_positions` (weights made in
    float64, then rounded), writing only the four cells of each step."""
    n_cells = out.shape[-1]
    cells = np.zeros((n_cells, n_cells))
    for b in range(positions.shape[0]):
        for t in range(positions.shape[1]):
            x, y = positions[b, t, 0], positions[b, t, 1]
            four_warm_into(cells, x, y, downsample)
            col = min(int(np.floor(to_grid(x, downsample, n_cells))), n_cells - 2)
            row = min(int(np.floor(to_grid(y, downsample, n_cells))), n_cells - 2)
            for r in range(row, row + 2):
                for c in range(col, col + 2):
                    out[b, t, r, c] = cells[r, c]
                    cells[r, c] = 0.0


class Transform:
    """What every reader does to a sample's stored fields: ψ standardised with the train
    statistics (as the tf.data loader does) when ``normalise``, and the four-warm encoding
    of the observed positions added when ``encode`` (bit for bit the stored ``encoding``)."""

    def __init__(self, store, normalise: bool, encode: bool):
        self.mean = np.float32(store.statistics["potential"]["mean"])
        self.std = np.float32(store.statistics["potential"]["std"])
        self.downsample, self.grid = store.params.physics.downsample, store.params.physics.grid
        self.normalise, self.encode = normalise, encode

    def __call__(self, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Fields of one sample or of a batch (leading axis), transformed alike."""
        out = dict(fields)
        if "potential" in out:
            psi = out["potential"].astype(np.float32)
            out["potential"] = (psi - self.mean) / self.std if self.normalise else psi
        if self.encode and "positions" in out:
            positions = out["positions"]
            if positions.ndim == 2:
                out["encoding"] = encode_positions(positions, self.downsample, self.grid)
            else:
                out["encoding"] = np.zeros(positions.shape[:2] + (self.grid, self.grid),
                                           np.float32)
                encode_into(out["encoding"], np.ascontiguousarray(positions, np.float64),
                            self.downsample)
        return out
