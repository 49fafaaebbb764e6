"""A PyTorch ``Dataset`` of a store's split: the samples of the NumPy iterator, in its order.

Files are opened lazily, in the process that reads them: an h5py handle made before a
DataLoader forks its workers is shared, corrupted state and all (pytorch #11929), and one
cannot be pickled for spawned workers. Each worker reads a shard's fields whole, in one
read each, the first time it needs one of its samples, and keeps the arrays of the last
few shards it read (the order visits shards ``group`` at a time, so a worker holds about
one group); pickling drops them. Reading a sample at a time from HDF5 instead ran at 0.5×
the CRNN training step (docs/benchmarks.md). Item ``i`` is sample ``i`` of
:func:`~pipeline.readers.order.epoch_order`, so a DataLoader without a sampler, with any
number of workers and either start method, yields the batches of
:func:`~pipeline.readers.batches.numpy_batches` (with ``drop_remainder`` as ``drop_last``).
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np
import torch.utils.data

from ..store.reader import read_shard
from ..store.store import Store
from .order import FIELDS, GROUP, Transform, epoch_order


class ShardDataset(torch.utils.data.Dataset):
    """Samples of ``split`` as dicts of NumPy arrays (the default collate makes tensors)."""

    def __init__(self, store: Store, split: str, *, seed: int = 0, epoch: int = 0,
                 fields: tuple[str, ...] = FIELDS, normalise: bool = False,
                 encode: bool = False, group: int = GROUP):
        self.files = [str(path) for path in store.files(split)]  # checked here, once
        sizes = [entry.n_samples for entry in store.entries(split)]
        self.order = epoch_order(sizes, seed, epoch, group)
        self.fields = tuple(fields)
        self.transform = Transform(store, normalise, encode)
        self.keep = group + 1  # shards held per process: a group, and the next one's first
        self._shards: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()
        self._pid = None

    def __len__(self) -> int:
        return len(self.order)

    def _shard(self, index: int) -> dict[str, np.ndarray]:
        if self._pid != os.getpid():  # a new worker process: nothing read here yet
            self._shards, self._pid = OrderedDict(), os.getpid()
        if index not in self._shards:
            self._shards[index] = dict(zip(self.fields, read_shard(self.files[index],
                                                                   self.fields), strict=True))
            while len(self._shards) > self.keep:
                self._shards.popitem(last=False)
        self._shards.move_to_end(index)
        return self._shards[index]

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        file, row = self.order[i]
        shard = self._shard(int(file))
        return self.transform({name: values[row] for name, values in shard.items()})

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_shards"], state["_pid"] = OrderedDict(), None
        return state
