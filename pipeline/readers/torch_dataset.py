"""PyTorch ``Dataset``s of a store's split: the samples of the NumPy iterator, in its order.

Files are opened lazily, in the process that reads them: an h5py handle made before a
DataLoader forks its workers is shared, corrupted state and all (pytorch #11929), and one
cannot be pickled for spawned workers. Each process reads a shard's fields whole, in one
read each, the first time it needs one of its samples, and keeps the arrays of the last
few shards it read (the order visits shards ``group`` at a time, so a process holds about
one group); pickling drops them. Reading a sample at a time from HDF5 instead ran at 0.5×
the CRNN training step (docs/benchmarks.md).

:class:`ShardDataset` is map-style by sample: item ``i`` is sample ``i`` of
:func:`~pipeline.readers.order.epoch_order`, so a DataLoader without a sampler, with any
number of workers and either start method, yields the batches of
:func:`~pipeline.readers.batches.numpy_batches` (with ``drop_remainder`` as ``drop_last``).
:class:`ShardBatches` is map-style by batch — item ``j`` is that iterator's batch ``j``,
gathered in one vectorised step and, in a worker, written straight into shared memory —
for ``DataLoader(..., batch_size=None)``: a worker then hands over one block per field
instead of collating 64 samples, which is what held one worker to 2.5× the CRNN step.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np
import torch.utils.data

from ..store.reader import read_shard
from ..store.store import Store
from .order import GROUP, Transform, epoch_order, gather, require_count


class ShardDataset(torch.utils.data.Dataset):
    """Samples of ``split`` as dicts of NumPy arrays (the default collate makes tensors)."""

    def __init__(self, store: Store, split: str, *, seed: int = 0, epoch: int = 0,
                 fields: tuple[str, ...] | None = None, normalise: bool = False,
                 encode: bool = False, group: int = GROUP) -> None:
        self.files = [str(path) for path in store.files(split)]  # checked here, once
        sizes = [entry.n_samples for entry in store.entries(split)]
        self.order = epoch_order(sizes, seed, epoch, group)
        self.fields = store.fields if fields is None else tuple(fields)
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


class ShardBatches(ShardDataset):
    """Batches of ``split`` as dicts of tensors, for ``DataLoader(…, batch_size=None)``:
    item ``j`` is batch ``j`` of :func:`~pipeline.readers.batches.numpy_batches` with the
    same arguments (the last one short unless ``drop_remainder``)."""

    def __init__(self, store: Store, split: str, batch_size: int, *,
                 drop_remainder: bool = False, **options) -> None:
        self.batch_size = require_count("batch_size", batch_size)
        super().__init__(store, split, **options)
        whole, rest = divmod(len(self.order), self.batch_size)
        self.n_batches = whole + (1 if rest and not drop_remainder else 0)

    def __len__(self) -> int:
        return self.n_batches

    def __getitem__(self, j: int) -> dict[str, torch.Tensor]:
        if not 0 <= j < self.n_batches:
            raise IndexError(f"batch {j} of {self.n_batches}")
        rows = self.order[j * self.batch_size:(j + 1) * self.batch_size]
        return one_block(self.transform(gather(rows, self._shard, self.fields)),
                         shared=torch.utils.data.get_worker_info() is not None)


def one_block(batch: dict[str, np.ndarray], shared: bool) -> dict[str, torch.Tensor]:
    """The arrays of a batch as tensors that are views of one storage — in a DataLoader
    worker, one shared-memory segment: making a segment costs about a millisecond here,
    so one per batch rather than one per field (the default collate's)."""
    offsets, total = {}, 0
    for name, values in batch.items():
        total += -total % 8  # every view 8-byte aligned
        offsets[name] = total
        total += values.nbytes
    storage = (torch.UntypedStorage._new_shared(total) if shared
               else torch.UntypedStorage(total))
    out = {}
    for name, values in batch.items():
        dtype = torch.from_numpy(values[:0].copy()).dtype
        tensor = torch.empty(0, dtype=dtype).set_(storage, offsets[name] // values.itemsize,
                                                  values.shape)
        tensor.numpy()[...] = values
        out[name] = tensor
    return out
