"""End-to-end ``generate`` throughput: 1 and 2 Dask workers, and HDF5's cost, in one run.

    python -m benchmarks.generate_speed [--samples 16000] [--shard-size 2000]

Prints samples/s (a) in memory, one process, no files; (b) writing shards, one
process; (c) a local Dask cluster with 1 worker and (d) with 2 workers, all on the
default physics. Cluster start-up is excluded (clusters are started before the clock);
the ratios are what to compare across machines.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.config import GenerateConfig, Params, load_params
from pipeline.physics.sample import make_samples, sample_streams
from pipeline.store.generate import generate_store, local_cluster
from pipeline.store.shard import BLOCK, shard_seed


def in_memory(params: Params) -> float:
    start = time.perf_counter()
    for index in range(params.generate.n_shards):
        streams = sample_streams(shard_seed(params, index), params.generate.shard_samples(index))
        for first in range(0, len(streams), BLOCK):
            make_samples(streams[first:first + BLOCK], params.physics)
    return time.perf_counter() - start


def timed_store(params: Params, root: Path, name: str, scheduler: str) -> float:
    start = time.perf_counter()
    generate_store(params, root / name, scheduler=scheduler)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=16000)
    parser.add_argument("--shard-size", type=int,
                        default=load_params(Path("params.yaml")).generate.shard_size)
    args = parser.parse_args()
    params = Params(generate=dataclasses.replace(GenerateConfig(), n_samples=args.samples,
                                                 shard_size=args.shard_size))
    n = args.samples
    make_samples(sample_streams(np.random.SeedSequence(0), 4), params.physics)  # warm the JIT
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # interleaved, best of three: the machine's noise hits both alike
        memory, written = float("inf"), float("inf")
        for repeat in range(3):
            memory = min(memory, in_memory(params))
            written = min(written, timed_store(params, root, f"sync{repeat}", "synchronous"))
        size = sum(p.stat().st_size for p in (root / "sync0").glob("shard-*.h5"))
        rates = {}
        for workers in (1, 2):
            with local_cluster(workers) as cluster:
                warm = params.generate.__class__(n_samples=workers, shard_size=1)
                generate_store(dataclasses.replace(params, generate=warm), root / f"warm{workers}",
                               scheduler=cluster.scheduler_address)  # workers compile/load JIT
                rates[workers] = n / timed_store(params, root, f"w{workers}",
                                                 cluster.scheduler_address)
    print(f"samples {n}, shards {params.generate.n_shards} of {args.shard_size}")
    print(f"in memory, 1 process      : {n / memory:8.0f} samples/s")
    print(f"HDF5 shards, 1 process    : {n / written:8.0f} samples/s  "
          f"(writing costs {100 * (written / memory - 1):+.1f} %)")
    print(f"Dask, 1 worker            : {rates[1]:8.0f} samples/s")
    print(f"Dask, 2 workers           : {rates[2]:8.0f} samples/s  "
          f"(scaling efficiency {100 * rates[2] / (2 * rates[1]):.0f} %)")
    print(f"bytes per sample on disk  : {size / n:8.0f}")


if __name__ == "__main__":
    main()
