"""The Python API, published as ``import massfield``: open a store, read a split, iterate
shuffled batches, generate a store. The ``massfield`` command uses the same functions.

Every user mistake raises a :class:`MassfieldError` (:class:`ConfigError` for arguments and
params, :class:`DataError` for files) whose message is one line naming the file or key and
the fix, as the command line prints it. Nothing here imports TensorFlow or PyTorch
(``massfield.torch`` is the PyTorch reader).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .config import DEFAULT_PARAMS, Params, load_params
from .errors import ConfigError, DataError, MassfieldError
from .readers.batches import numpy_batches
from .readers.order import FIELDS
from .store.generate import generate_store
from .store.reader import read_arrays
from .store.store import ShardEntry, Store

__all__ = ["FIELDS", "ConfigError", "DataError", "MassfieldError", "Params", "ShardEntry",
           "Store", "batches", "generate", "load_params", "open_store", "read_split"]


def open_store(location: str | Path) -> Store:
    """A complete store — a directory or a URL (``s3://bucket/store``; credentials from the
    backend's environment) — its manifest read and checked once (DataError if it is not).
    A URL's shards are fetched whole when a split is first read (pipeline/store/mirror.py)."""
    return Store.open(location)


def _store(store: Store | str | Path) -> Store:
    return store if isinstance(store, Store) else open_store(store)


def read_split(store: Store | str | Path, split: str | None,
               fields: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Whole datasets of a split (None: every shard), concatenated in shard order; each
    shard checked first. ``fields`` default: ``store.fields``, what the models observe and
    every hidden parameter of the store's task. For splits that fit in memory;
    :func:`batches` streams."""
    store = _store(store)
    fields = store.fields if fields is None else tuple(fields)
    return dict(zip(fields, read_arrays(store.files(split), fields), strict=True))


def batches(store: Store | str | Path, split: str, batch_size: int = 64,
            **options) -> Iterator[dict[str, np.ndarray]]:
    """One seeded pass over ``split`` in NumPy batches (see
    :func:`pipeline.readers.batches.numpy_batches` for ``seed``, ``epoch``, ``normalise``,
    ``encode``, ``drop_remainder``)."""
    return numpy_batches(_store(store), split, batch_size, **options)


def generate(params: Params | str | Path | None = None, out: str | Path = "data/shards", *,
             overrides: tuple[str, ...] = (), workers: int | None = None,
             scheduler: str = "synchronous", overwrite: bool = False,
             on_shard: Callable[[dict], None] | None = None,
             on_plan: Callable[[int, int], None] | None = None,
             on_note: Callable[[str], None] | None = None) -> Store:
    """Make (or resume, or grow) the store of ``params`` — a Params, or a params file
    (default params.yaml) with ``overrides`` — in ``out`` (a directory or a URL); return it
    opened.

    ``scheduler``: "synchronous" (one process, the default here), "processes" (a local
    Dask cluster, the command line's default), "threads" or a scheduler address.
    """
    if not isinstance(params, Params):
        params = load_params(Path(params or DEFAULT_PARAMS), overrides)
    generate_store(params, out, workers=workers, scheduler=scheduler,
                   overwrite=overwrite, on_shard=on_shard, on_plan=on_plan, on_note=on_note)
    return open_store(out)
