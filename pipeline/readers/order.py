"""The reader core: one seeded order of a split's samples, one ψ normalisation and one
four-warm encoder, shared by every reader — tf.data (pipeline/learn/data.py), NumPy
batches and the PyTorch datasets.

The order visits the shards in a seeded permutation, ``group`` at a time, and shuffles the
samples of each group together: samples mix across shards while a reader holds at most
``group`` shards in memory, whatever the store's size. Without a seed, it is file order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..errors import ConfigError
from ..physics.encoding import encode_batch_into
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


def pass_rows(load: Callable[[int], dict[str, np.ndarray]], sizes: list[int],
              seed: int | None, epoch: int = 0, group: int = GROUP
              ) -> Iterator[dict[str, np.ndarray]]:
    """One pass over shards of ``sizes`` samples, a block of rows at a time (field → array):
    with ``seed``, the blocks of :func:`epoch_blocks`, each a group of shards shuffled
    together; without, each shard whole, in file order. ``load(f)`` reads shard ``f``'s
    fields whole; a block's shards are let go before the next block's are read."""
    if seed is None:
        yield from (load(f) for f in range(len(sizes)))
        return
    for block in epoch_blocks(sizes, seed, epoch, group):
        shards = {int(f): load(int(f)) for f in np.unique(block[:, 0])}
        yield gather(block, shards.__getitem__, tuple(next(iter(shards.values()))))


def rebatched(blocks: Iterable[dict[str, np.ndarray]], batch_size: int,
              drop_remainder: bool = False) -> Iterator[dict[str, np.ndarray]]:
    """Blocks of rows cut into batches of ``batch_size``, rows carried across blocks; the
    last batch short unless ``drop_remainder``."""
    carried: dict[str, np.ndarray] | None = None
    for rows in blocks:
        if carried is not None:
            rows = {name: np.concatenate([carried[name], values])
                    for name, values in rows.items()}
        count = len(next(iter(rows.values())))
        whole = count - count % batch_size
        for start in range(0, whole, batch_size):
            yield {name: values[start:start + batch_size] for name, values in rows.items()}
        carried = {name: values[whole:] for name, values in rows.items()}
    if carried is not None and len(next(iter(carried.values()))) and not drop_remainder:
        yield carried


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


@dataclasses.dataclass(frozen=True)
class Normaliser:
    """ψ → (ψ − mean) / std, with the train split's statistics: the constants a model's
    first layer standardises ψ with (:class:`~pipeline.learn.layers.StandardisePotential`),
    and what the NumPy and PyTorch readers apply when asked to normalise."""

    mean: float
    std: float

    @classmethod
    def from_store(cls, location) -> Normaliser:
        from ..store.store import Store

        return cls.from_statistics(Store.open(location).statistics)

    @classmethod
    def from_statistics(cls, statistics: dict) -> Normaliser:
        """From a store's train statistics (``Store.statistics``)."""
        stats = statistics["potential"]
        return cls(mean=float(stats["mean"]), std=float(stats["std"]) or 1.0)

    def __call__(self, potential: np.ndarray) -> np.ndarray:
        """Standardised ψ, float32, computed in float32 as the model's layer does."""
        return (potential.astype(np.float32) - np.float32(self.mean)) / np.float32(self.std)


def encode(positions: np.ndarray, downsample: int, grid: int) -> np.ndarray:
    """Four-warm encodings of positions (…, T, 2) → (…, T, G, G) float32: bit for bit the
    stored ``encoding`` (:func:`~pipeline.physics.encoding.encode_batch_into`)."""
    steps = np.ascontiguousarray(positions, np.float64).reshape(-1, *positions.shape[-2:])
    out = np.zeros(steps.shape[:2] + (grid, grid), np.float32)
    encode_batch_into(out, steps, downsample)
    return out.reshape(positions.shape[:-1] + (grid, grid))


class Transform:
    """What every reader does to a sample's stored fields: ψ standardised with the train
    statistics (:class:`Normaliser`, as a model does inside) when ``normalise``, and the
    four-warm encoding of the observed positions added when ``encode``."""

    def __init__(self, store, normalise: bool, encode: bool):
        self.normaliser = Normaliser.from_statistics(store.statistics)
        self.downsample, self.grid = store.params.physics.downsample, store.params.physics.grid
        self.normalise, self.encode = normalise, encode

    def __call__(self, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Fields of one sample or of a batch (leading axis), transformed alike."""
        out = dict(fields)
        if "potential" in out:
            psi = out["potential"]
            out["potential"] = self.normaliser(psi) if self.normalise else psi.astype(np.float32)
        if self.encode and "positions" in out:
            out["encoding"] = encode(out["positions"], self.downsample, self.grid)
        return out
