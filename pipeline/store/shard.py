"""One shard = one HDF5 file, made and written by exactly one task.

The task receives a directory, a shard index and the params; never an open handle
(h5py handles do not survive pickling or a fork). Samples are made and written in
blocks, so a worker's memory is bounded by a block, whatever the shard or run size.
Files hold nothing time-dependent, so identical params give identical bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..config import Params
from ..physics.sample import make_samples, sample_streams
from .atomic import atomic_path, sha256
from .deflate import sparse_zlib_rows
from .schema import SCHEMA_VERSION, expected_datasets, shard_name

BLOCK = 128  # samples made at a time
GATHER_BYTES = 16_384  # datasets up to this size per sample are written once per shard


def generation_params(params: Params) -> dict:
    """The part of params.yaml that decides shard contents (stored in every shard)."""
    return {"physics": params.to_dict()["physics"], "generate": params.to_dict()["generate"]}


def shard_seed(params: Params, index: int) -> np.random.SeedSequence:
    """Child ``index`` of SeedSequence(generate.seed).spawn(n_shards)."""
    return np.random.SeedSequence(params.generate.seed).spawn(params.generate.n_shards)[index]


def _create_datasets(h5: h5py.File, params: Params, n: int) -> dict[str, h5py.Dataset]:
    physics, level = params.physics, params.generate.compression_level
    created = {}
    for spec in expected_datasets(params.generate.store_full_potential):
        shape = (n, *spec.shape(physics))
        options = {}  # uncompressed: contiguous, so any run of samples is one plain read
        if level and spec.compressed:
            options = dict(chunks=(1, *shape[1:]) if spec.per_sample_chunks else shape,
                           compression="gzip", compression_opts=level, shuffle=spec.shuffle)
        dataset = h5.create_dataset(spec.name, shape=shape, dtype=spec.dtype,
                                    track_times=False, **options)
        if spec.sparse and "compression" in options:
            dataset.attrs["sparse_chunks"] = True  # chunks written by store.deflate
        dataset.attrs["units"] = spec.units
        dataset.attrs["description"] = spec.description
        created[spec.name] = dataset
    return created


def write_shard(directory: Path, index: int, params: Params) -> dict:
    """Make shard ``index``, move it into place and return its manifest entry."""
    directory = Path(directory)
    n = params.generate.shard_samples(index)
    seed = shard_seed(params, index)
    streams = sample_streams(seed, n)
    final = directory / shard_name(index)
    with atomic_path(final) as partial:
        with h5py.File(partial, "w", track_order=False) as h5:
            h5.attrs["schema_version"] = SCHEMA_VERSION
            h5.attrs["package_version"] = __version__
            h5.attrs["params"] = json.dumps(generation_params(params), sort_keys=True)
            h5.attrs["shard_index"] = index
            h5.attrs["shard_seed"] = json.dumps(
                {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)})
            h5.attrs["n_samples"] = n
            datasets = _create_datasets(h5, params, n)
            totals = _Totals()
            sparse = {name for name, dataset in datasets.items() if _is_sparse(dataset)}
            gathered = {name: np.empty(dataset.shape, dataset.dtype)  # one h5py call each
                        for name, dataset in datasets.items()
                        if name not in sparse and _sample_bytes(dataset) <= GATHER_BYTES}
            for start in range(0, n, BLOCK):
                stop = min(start + BLOCK, n)
                batch = make_samples(streams[start:stop], params.physics,
                                     params.generate.store_full_potential)
                for name, dataset in datasets.items():
                    values = getattr(batch, name)
                    if name in gathered:
                        gathered[name][start:stop] = values
                    elif name in sparse:
                        _write_sparse(dataset, start, values)
                    else:  # large: written as made
                        dataset[start:stop] = values.astype(dataset.dtype, copy=False)
                totals.add(batch.mass, batch.potential.astype(np.float32), batch.redraws)
            for name, values in gathered.items():
                datasets[name][...] = values
    return totals.entry(final, index)


def _sample_bytes(dataset: h5py.Dataset) -> int:
    return int(np.prod(dataset.shape[1:])) * dataset.dtype.itemsize


def _is_sparse(dataset: h5py.Dataset) -> bool:
    return dataset.compression == "gzip" and dataset.attrs.get("sparse_chunks", False)


def _write_sparse(dataset: h5py.Dataset, start: int, values: np.ndarray) -> None:
    """Write samples start… of a sparse gzip dataset chunk by chunk, pre-deflated."""
    values = np.ascontiguousarray(values, dtype=dataset.dtype)
    streams, offsets = sparse_zlib_rows(values.reshape(values.shape[0], -1).view(np.uint8))
    streams = streams.tobytes()
    zeros = (0,) * (values.ndim - 1)
    with h5py._objects.phil:  # h5py's own lock: its low-level call takes none itself
        for k in range(values.shape[0]):
            dataset.id.write_direct_chunk((start + k, *zeros),
                                          streams[offsets[k]:offsets[k + 1]])


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

    def entry(self, path: Path, index: int) -> dict:
        mass = np.concatenate(self.mass)
        return {
            "index": index, "file": Path(path).name, "n_samples": int(mass.size),
            "sha256": sha256(path), "bytes": Path(path).stat().st_size,
            "mass": {"sum": float(mass.sum()), "sum_sq": float((mass ** 2).sum()),
                     "min": float(mass.min()), "max": float(mass.max())},
            "potential": {"sum": self.psi_sum, "sum_sq": self.psi_sum_sq,
                          "count": self.psi_count},
            "redraws": self.redraws,
        }


def summarize_shard(path: Path) -> dict:
    """The manifest entry of a shard already on disk (one a killed run left behind)."""
    with h5py.File(path, "r") as h5:
        totals = _Totals()
        for start in range(0, h5["mass"].shape[0], BLOCK):  # the writer's blocks: same sums
            block = slice(start, start + BLOCK)
            totals.add(h5["mass"][block], h5["potential"][block], h5["redraws"][block])
        return totals.entry(path, int(h5.attrs["shard_index"]))
