"""NumPy batches of a store's split: checked shards, seeded shuffling, bounded memory.

Shards are checked against the manifest before they are read; a pass visits them in the
order of the reader core (:mod:`pipeline.readers.order`, the order tf.data trains in),
reading each group of shards whole (one read per dataset) and holding at most that group
and one batch in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..store.reader import read_shard
from ..store.store import Store
from .order import GROUP, Transform, pass_rows, rebatched, require_count


def numpy_batches(store: Store, split: str, batch_size: int, *, seed: int = 0,
                  epoch: int = 0, fields: tuple[str, ...] | None = None, normalise: bool = False,
                  encode: bool = False, drop_remainder: bool = False,
                  group: int = GROUP) -> Iterator[dict[str, np.ndarray]]:
    """One pass over ``split``: dicts of arrays (field → (batch, …)), shuffled across shards.

    ``normalise`` standardises ψ with the store's train statistics, as the tf.data loader
    does; ``encode`` adds the four-warm ``encoding`` of the observed positions.
    """
    batch_size = require_count("batch_size", batch_size)
    seed, epoch = require_count("seed", seed, 0), require_count("epoch", epoch, 0)
    fields = store.fields if fields is None else tuple(fields)
    files = store.files(split)
    sizes = [entry.n_samples for entry in store.entries(split)]
    transform = Transform(store, normalise, encode)

    def load(f: int) -> dict[str, np.ndarray]:
        return dict(zip(fields, read_shard(str(files[f]), fields), strict=True))

    for batch in rebatched(pass_rows(load, sizes, seed, epoch, group), batch_size,
                           drop_remainder):
        yield transform(batch)
