"""NumPy batches of a store's split: checked shards, seeded shuffling, bounded memory.

Shards are checked against the manifest before they are read; a pass visits them in the
order of :mod:`pipeline.readers.order`, reading each group of shards whole (one read per
dataset) and holding at most that group and one batch in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..store.reader import read_shard
from ..store.store import Store
from .order import GROUP, Transform, epoch_blocks, gather, require_count


def numpy_batches(store: Store, split: str, batch_size: int, *, seed: int = 0,
                  epoch: int = 0, fields: tuple[str, ...] | None = None, normalise: bool = False,
                  encode: bool = False, drop_remainder: bool = False,
                  group: int = GROUP) -> Iterator[dict[str, np.ndarray]]:
    """One pass over ``split``: dicts of arrays (field → (batch, …)), shuffled across shards.

    ``normalise`` standardises ψ with the store's train statistics, as the tf.data loader
    does; ``encode`` adds the four-warm ``encoding`` of the observed positions.
    """
    batch_size = require_count("batch_size", batch_size)
    fields = store.fields if fields is None else tuple(fields)
    files = store.files(split)
    sizes = [entry.n_samples for entry in store.entries(split)]
    transform = Transform(store, normalise, encode)
    carried: dict[str, np.ndarray] | None = None
    for block in epoch_blocks(sizes, seed, epoch, group):
        loaded = {int(f): dict(zip(fields, read_shard(str(files[f]), fields), strict=True))
                  for f in np.unique(block[:, 0])}
        rows = gather(block, loaded.__getitem__, fields)
        if carried is not None:
            rows = {name: np.concatenate([carried[name], rows[name]]) for name in fields}
        count = len(rows[fields[0]])
        whole = count - count % batch_size
        for start in range(0, whole, batch_size):
            yield transform({name: values[start:start + batch_size]
                             for name, values in rows.items()})
        carried = {name: values[whole:] for name, values in rows.items()}
    if carried is not None and len(carried[fields[0]]) and not drop_remainder:
        yield transform(carried)
