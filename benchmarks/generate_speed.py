"""``generate`` throughput by worker count, and where scaling is lost, in one run.

    python -m benchmarks.generate_speed [--workers 1,2,4,8,16] [--shard-size 2000]

For each worker count N it measures samples/s of (a) N plain processes making samples
in memory — no HDF5, no Dask: what the processor itself allows — and (b) ``generate`` on
a local Dask cluster of N workers writing HDF5 shards. Efficiency is rate(N) / (N ×
rate(1)) for each: a loss in (a) too is the hardware's (shared memory bandwidth, clock
speed falling as more cores run); a loss only in (b) is ours (HDF5, scheduler, task size).
Every run makes 4 × max(N) shards, so every worker gets the same number of tasks;
cluster start-up is excluded. Also: the cost of writing HDF5 in one process.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import save
from pipeline.config import GenerateConfig, Params, load_params
from pipeline.physics.sample import make_samples, sample_streams
from pipeline.store.cluster import local_cluster
from pipeline.store.generate import generate_store
from pipeline.store.shard import BLOCK, shard_image, shard_seed


def _make_shards(args: tuple[Params, list[int]]) -> None:
    params, indices = args
    for index in indices:
        streams = sample_streams(shard_seed(params, index), params.generate.shard_samples(index))
        for first in range(0, len(streams), BLOCK):
            make_samples(streams[first:first + BLOCK], params.physics)


def in_memory_rate(params: Params, workers: int) -> float:
    """Samples/s of ``workers`` processes making the store's samples in memory."""
    shards = list(range(params.generate.n_shards))
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        pool.map(_make_shards, [(params, [0])] * workers)  # compile or load the JIT cache
        start = time.perf_counter()
        pool.map(_make_shards, [(params, shards[w::workers]) for w in range(workers)])
        return params.generate.n_samples / (time.perf_counter() - start)


def dask_rate(params: Params, workers: int, root: Path) -> float:
    """Samples/s of ``generate`` on a local cluster of ``workers`` (started beforehand)."""
    with local_cluster(workers) as cluster:
        warm = dataclasses.replace(params, generate=GenerateConfig(
            n_samples=workers, shard_size=1))
        generate_store(warm, root / f"warm{workers}", scheduler=cluster.scheduler_address)
        start = time.perf_counter()
        generate_store(params, root / f"dask{workers}", scheduler=cluster.scheduler_address)
        return params.generate.n_samples / (time.perf_counter() - start)


def hdf5_cost(params: Params) -> dict:
    """One process: making samples in memory against making and writing whole shards."""
    one = dataclasses.replace(params, generate=dataclasses.replace(
        params.generate, n_samples=4 * params.generate.shard_size))
    memory, written = float("inf"), float("inf")
    for _ in range(3):  # interleaved, best of three: the machine's noise hits both alike
        start = time.perf_counter()
        _make_shards((one, list(range(one.generate.n_shards))))
        memory = min(memory, time.perf_counter() - start)
        start = time.perf_counter()
        size = sum(len(shard_image(i, one)[0]) for i in range(one.generate.n_shards))
        written = min(written, time.perf_counter() - start)
    return {"samples": one.generate.n_samples, "in_memory_per_s": one.generate.n_samples / memory,
            "hdf5_per_s": one.generate.n_samples / written, "bytes_per_sample":
            size / one.generate.n_samples, "writing_costs": written / memory - 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--shard-size", type=int,
                        default=load_params(Path("params.yaml")).generate.shard_size)
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.workers.split(",")} | {1})
    n_shards = 4 * max(counts)
    params = Params(generate=dataclasses.replace(GenerateConfig(),
                                                 n_samples=n_shards * args.shard_size,
                                                 shard_size=args.shard_size))
    make_samples(sample_streams(np.random.SeedSequence(0), 4), params.physics)  # warm the JIT
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in counts:
            rows.append({"workers": workers, "in_memory_per_s": in_memory_rate(params, workers),
                         "dask_hdf5_per_s": dask_rate(params, workers, Path(tmp))})
            print(f"{workers:3d} workers: in memory {rows[-1]['in_memory_per_s']:8.0f}/s, "
                  f"Dask + HDF5 {rows[-1]['dask_hdf5_per_s']:8.0f}/s", flush=True)
    base = rows[0]
    for row in rows:
        for key in ("in_memory", "dask_hdf5"):
            row[f"{key}_efficiency"] = row[f"{key}_per_s"] / (row["workers"] * base[f"{key}_per_s"])
    cost = hdf5_cost(params)
    print(f"\nsamples per run {params.generate.n_samples} ({n_shards} shards of "
          f"{args.shard_size}); writing HDF5 costs {100 * cost['writing_costs']:+.1f} % in one "
          f"process; {cost['bytes_per_sample']:.0f} bytes per sample")
    print("workers  in-memory/s  efficiency  Dask+HDF5/s  efficiency")
    for row in rows:
        print(f"{row['workers']:7d}  {row['in_memory_per_s']:11.0f}  "
              f"{row['in_memory_efficiency']:10.2f}  {row['dask_hdf5_per_s']:11.0f}  "
              f"{row['dask_hdf5_efficiency']:10.2f}")
    save("generate_speed", {"samples": params.generate.n_samples, "shards": n_shards,
                            "shard_size": args.shard_size, "workers": rows, "hdf5": cost},
         "python -m benchmarks.generate_speed " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
