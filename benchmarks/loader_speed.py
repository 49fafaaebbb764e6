"""The tf.data loader against the CRNN training step it must feed, in one run.

    python -m benchmarks.loader_speed [--data data/shards] [--steps 60] [--rounds 5]

Prints samples/s of (a) the loader alone (shards → batches of the recurrent view),
(b) CRNN training (its step compiled as ``massfield train`` compiles it: by XLA) from
in-memory batches made in advance and (c) CRNN training from
the shards — (b) and (c) by one model, medians of rounds in which they take turns —
with the ratios that matter: loader / training step (want ≥ 3) and shards / memory
(want ≥ 0.9); and (d) the loader's view building per batch on one core, compiled by
XLA against plain TensorFlow kernels.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from pipeline.learn import quiet_tensorflow

quiet_tensorflow()  # before TensorFlow loads

import tensorflow as tf

from benchmarks import save, train_steps
from pipeline.config import load_params
from pipeline.learn.data import RECURRENT, make_view, split_dataset, view_builder
from pipeline.learn.models import build_model
from pipeline.learn.train import compile_model, with_store_params
from pipeline.readers.order import Normaliser
from pipeline.store.reader import read_arrays, shard_layout, store_files


def loader_rate(data: Path, batch: int, steps: int) -> float:
    dataset = iter(split_dataset(data, "train", RECURRENT, batch, shuffle_seed=0, repeat=True))
    next(dataset)
    start = time.perf_counter()
    for _ in range(steps):
        next(dataset)
    return steps * batch / (time.perf_counter() - start)


def view_milliseconds(data: Path, batch: int, repeats: int = 200) -> dict[str, float]:
    """Milliseconds to build one batch's recurrent view from ψ and positions inside
    tf.data with one thread per op, as the loader runs it, with and without XLA."""
    files = store_files(data, "train")[:1]
    psi, positions = read_arrays(files, ("potential", "positions"))
    grid, _, downsample, _ = shard_layout(files[0])
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    times = {}
    for name, compiled in (("xla", True), ("plain", False)):
        build = view_builder(RECURRENT, downsample, grid, compiled)
        source = tf.data.Dataset.from_tensors((psi[:batch], positions[:batch]))
        views = source.repeat(repeats).map(build).with_options(options)
        for _ in views.take(2):  # trace and compile
            pass
        rounds = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in views:
                pass
            rounds.append((time.perf_counter() - start) / repeats * 1000)
        times[name] = min(rounds)
    return times


def training_rates(sources: dict[str, tf.data.Dataset], params, normaliser: Normaliser,
                   steps: int, rounds: int) -> dict[str, float]:
    """Median samples/s of CRNN training per source, the sources taking turns each round.

    One model trains from both sources, each read through one iterator kept open for
    the whole run: so a slow spell of this shared machine hits both alike, and neither
    a model instance's speed (on this VM it varies by 1.5× from instance to instance)
    nor a loader's start-up favours one source.
    """
    cfg = params.train.crnn
    model = build_model("crnn", cfg, params.physics, normaliser)
    compile_model(model, cfg, total_steps=10_000)  # as `massfield train` does: XLA
    model.fit(sources["memory"], steps_per_epoch=2, epochs=1, verbose=0)  # build and trace
    iterators = {name: iter(dataset) for name, dataset in sources.items()}

    for iterator in iterators.values():
        train_steps(model, iterator, 5)  # warm up: prefetch buffers filled, every kernel run once
    rates = {name: [] for name in sources}
    for _ in range(rounds):
        for name, iterator in iterators.items():
            start = time.perf_counter()
            train_steps(model, iterator, steps)
            rates[name].append(steps * cfg.batch_size / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def in_memory_batches(data: Path, batch: int) -> tf.data.Dataset:
    """The strictest baseline for a training step: recurrent-view batches made in advance
    from four train shards, repeated."""
    psi, encoding, mass = read_arrays(store_files(data, "train")[:4],
                                     ("potential", "encoding", "mass"))
    n = mass.shape[0] // batch * batch
    views = make_view(psi[:n], encoding[:n], RECURRENT)
    return tf.data.Dataset.from_tensor_slices(
        (tf.reshape(views, (-1, batch, *views.shape[1:])),
         tf.reshape(tf.cast(mass[:n], tf.float32), (-1, batch)))).repeat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/shards"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    params = with_store_params(load_params(args.params), args.data)
    batch = params.train.crnn.batch_size
    normaliser = Normaliser.from_store(args.data)
    in_memory = in_memory_batches(args.data, batch)
    from_shards = split_dataset(args.data, "train", RECURRENT, batch, shuffle_seed=0, repeat=True)
    loader = loader_rate(args.data, batch, args.steps * 2)
    rates = training_rates({"memory": in_memory, "shards": from_shards}, params, normaliser,
                           args.steps, args.rounds)
    views = view_milliseconds(args.data, batch)
    memory, shards = rates["memory"], rates["shards"]
    print(f"loader alone               : {loader:8.0f} samples/s")
    print(f"CRNN training, in memory   : {memory:8.0f} samples/s")
    print(f"CRNN training, from shards : {shards:8.0f} samples/s")
    print(f"loader / training step     : {loader / memory:8.1f}x")
    print(f"shards / in memory         : {shards / memory:8.2f}")
    print(f"view per batch, XLA / plain: {views['xla']:8.2f} / {views['plain']:.2f} ms "
          f"({views['plain'] / views['xla']:.1f}x)")
    save("loader_speed", {"loader_per_s": loader, "memory_per_s": memory,
                          "shards_per_s": shards, "loader_over_step": loader / memory,
                          "shards_over_memory": shards / memory, "view_ms_xla": views["xla"],
                          "view_ms_plain": views["plain"], "steps": args.steps,
                          "rounds": args.rounds},
         "python -m benchmarks.loader_speed " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
