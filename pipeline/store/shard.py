"""One shard = one HDF5 file, made and written by exactly one task.

The task receives a directory, a shard index and the params; never an open handle
(h5py handles do not survive pickling or a fork). The shard is built in memory (HDF5's
core driver) and written to disk in one plain write: a full disk or a read-only target
then raises an ordinary ``OSError`` in Python, where HDF5 writing to a full disk failed
inside its own flush and crashed the process at exit. A worker's memory is therefore
one shard (``generate.shard_size`` × ~6.4 kB by default). Files hold nothing
time-dependent, so identical params give identical bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import h5py
import numpy as np
from h5py._objects import phil

from .. import __version__
from ..config import Params
from ..physics.sample import sample_streams
from ..tasks import make_samples, recorded_physics
from .atomic import atomic_path
from .deflate import sparse_zlib_rows
from .integrity import (
    CONTENT_DIGEST,
    DATASET_DIGEST,
    content_digest,
    dataset_record,
    file_sha256,
    update_digest,
)
from .schema import SCHEMA_VERSION, expected_datasets, params_attribute, shard_name

BLOCK = 128  # samples made at a time


def generation_params(params: Params) -> dict:
    """The part of params.yaml that decides a store (its manifest records it)."""
    plain = params.to_dict()
    return {"physics": recorded_physics(plain["physics"]), "generate": plain["generate"]}


def shard_params(params: Params) -> dict:
    """The part that decides one shard's contents (stored in every shard): all of
    :func:`generation_params` but ``generate.n_samples``, which only says how many shards
    there are. A shard is therefore the same in a store of any size, and a store grows by
    adding shards."""
    plain = generation_params(params)
    plain["generate"] = {k: v for k, v in plain["generate"].items() if k != "n_samples"}
    return plain


def shard_seed(params: Params, index: int) -> np.random.SeedSequence:
    """Child ``index`` of SeedSequence(generate.seed): the same whatever the shard count."""
    return np.random.SeedSequence(params.generate.seed, spawn_key=(index,))


def _dataset_options(spec, shape: tuple[int, ...], level: int) -> dict:
    if not (level and spec.compressed):
        return {}  # uncompressed: contiguous, so any run of samples is one plain read
    return dict(chunks=(1, *shape[1:]) if spec.per_sample_chunks else shape,
                compression="gzip", compression_opts=level, shuffle=spec.shuffle)


def _root_attributes(params: Params, index: int, n: int, seed: np.random.SeedSequence) -> dict:
    return {"schema_version": SCHEMA_VERSION, "package_version": __version__,
            "params": params_attribute(shard_params(params)),
            "shard_index": index, "n_samples": n,
            "shard_seed": json.dumps({"entropy": seed.entropy,
                                      "spawn_key": list(seed.spawn_key)})}


class _Contents:
    """A shard's datasets as made, block by block: dense arrays, or for sparse datasets
    the deflated chunk of each sample (~1 % of the raw bytes)."""

    def __init__(self, params: Params, n: int):
        self.specs = expected_datasets(params)
        self.shapes = {s.name: (n, *s.shape(params.physics)) for s in self.specs}
        self.deflated = {s.name for s in self.specs
                         if s.sparse and s.compressed and params.generate.compression_level}
        self.dense = {s.name: np.empty(self.shapes[s.name], s.dtype)
                      for s in self.specs if s.name not in self.deflated}
        self.chunks: dict[str, list[bytes]] = {name: [] for name in self.deflated}
        self.digests = {s.name: hashlib.sha256() for s in self.specs}

    def add(self, start: int, batch) -> None:
        for spec in self.specs:
            values = np.ascontiguousarray(batch.field(spec.name), dtype=spec.dtype)
            update_digest(self.digests[spec.name], values, spec.dtype)
            if spec.name in self.deflated:
                streams, offsets = sparse_zlib_rows(values.reshape(len(values), -1).view(np.uint8))
                streams = streams.tobytes()
                self.chunks[spec.name] += [streams[offsets[k]:offsets[k + 1]]
                                           for k in range(len(values))]
            else:
                self.dense[spec.name][start:start + len(values)] = values


# HDF5 is not thread-safe: h5py takes its global lock (``phil``) in each call, but under
# the threads scheduler two threads building shards still crashed HDF5 (1 run in 6, "Can't
# decrement id ref count"). Only the HDF5 part of a shard is serialised; simulating is not.
# ``write_direct_chunk`` skips ``phil`` in h5py 3.14 (fixed by h5py #2764), so a profiler
# thread freeing an h5py object could run HDF5 beside it ("Can't write unprocessed chunk
# data (no VOL object wrap context?)", once in a real-cluster test): it is taken here.
_HDF5 = threading.Lock()


def _file_image(contents: _Contents, attributes: dict, level: int, name: str) -> tuple[bytes, str]:
    """The shard as HDF5 file bytes (built in memory) and its content checksum."""
    with _HDF5, h5py.File(name, "w", driver="core", backing_store=False,
                          track_order=False) as h5:
        h5.attrs.update(attributes)
        records = {}
        for spec in contents.specs:
            shape = contents.shapes[spec.name]
            dataset = h5.create_dataset(spec.name, shape=shape, dtype=spec.dtype,
                                        track_times=False,
                                        **_dataset_options(spec, shape, level))
            if spec.name in contents.deflated:  # pre-deflated by store.deflate
                zeros = (0,) * (len(shape) - 1)
                with phil:  # h5py 3.14 calls HDF5 here without its own lock (h5py #2764)
                    for k, chunk in enumerate(contents.chunks[spec.name]):
                        dataset.id.write_direct_chunk((k, *zeros), chunk)
            else:
                dataset[...] = contents.dense[spec.name]
            dataset.attrs["units"] = spec.units
            dataset.attrs["description"] = spec.description
            dataset.attrs[DATASET_DIGEST] = contents.digests[spec.name].hexdigest()
            records[spec.name] = dataset_record(dataset.attrs[DATASET_DIGEST], dataset.attrs)
            # Chunks wait in HDF5's chunk cache until the dataset is flushed or closed, and
            # where they land in the file depends on when that happens: a profiler holding
            # the Dataset object (Dask's does) moved them. Flush now: the layout is fixed.
            dataset.id.flush()
        content = content_digest(attributes, records)
        h5.attrs[CONTENT_DIGEST] = content
        h5.flush()
        return h5.id.get_file_image(), content


def shard_image(index: int, params: Params) -> tuple[bytes, dict]:
    """Make shard ``index`` in memory: (the HDF5 file's bytes, the sums of its manifest entry)."""
    n = params.generate.shard_samples(index)
    seed = shard_seed(params, index)
    streams = sample_streams(seed, n)
    contents, totals = _Contents(params, n), _Totals()
    for start in range(0, n, BLOCK):
        batch = make_samples(streams[start:start + BLOCK], params.physics,
                             params.generate.store_full_potential)
        contents.add(start, batch)
        totals.add(batch.mass, batch.potential.astype(np.float32), batch.redraws)
    image, content = _file_image(contents, _root_attributes(params, index, n, seed),
                                 params.generate.compression_level, f"shard-{index}.h5")
    return image, totals.sums(content)


def write_shard(directory: Path, index: int, params: Params) -> dict:
    """Make shard ``index``, move it into place and return its manifest entry."""
    image, sums = shard_image(index, params)
    final = Path(directory) / shard_name(index)
    with atomic_path(final) as partial:
        with open(partial, "wb") as handle:
            handle.write(image)
            handle.flush()
            os.fsync(handle.fileno())
    return _entry(final, index, hashlib.sha256(image).hexdigest(), sums)


class _Totals:
    """The sums a manifest entry records, accumulated block by block."""

    def __init__(self):
        self.mass: list[np.ndarray] = []
        self.psi_sum = self.psi_sum_sq = 0.0
        self.psi_count = self.redraws = 0

    def add(self, mass: np.ndarray, psi: np.ndarray, redraws: np.ndarray) -> None:
        psi = psi.astype(np.float64)  # as stored (float32), so resumed shards agree
        self.mass.append(mass)
        self.psi_sum += float(psi.sum())
        self.psi_sum_sq += float((psi ** 2).sum())
        self.psi_count += psi.size
        self.redraws += int(redraws.sum())

    def sums(self, content: str) -> dict:
        mass = np.concatenate(self.mass)
        return {"n_samples": int(mass.size), "content_sha256": content,
                "mass": {"sum": float(mass.sum()), "sum_sq": float((mass ** 2).sum()),
                         "min": float(mass.min()), "max": float(mass.max())},
                "potential": {"sum": self.psi_sum, "sum_sq": self.psi_sum_sq,
                              "count": self.psi_count},
                "redraws": self.redraws}


def _entry(path: Path, index: int, sha256: str, sums: dict) -> dict:
    return {"index": index, "file": Path(path).name, "sha256": sha256,
            "bytes": Path(path).stat().st_size, **sums}


def summarize_shard(path: Path, content: str) -> dict:
    """The manifest entry of a proven shard already on disk (one a killed run left behind)."""
    with h5py.File(path, "r") as h5:
        totals = _Totals()
        for start in range(0, h5["mass"].shape[0], BLOCK):  # the writer's blocks: same sums
            block = slice(start, start + BLOCK)
            totals.add(h5["mass"][block], h5["potential"][block], h5["redraws"][block])
        index = int(h5.attrs["shard_index"])
    return _entry(path, index, file_sha256(path), totals.sums(content))

