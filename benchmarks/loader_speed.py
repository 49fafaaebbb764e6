"""The tf.data loader against the CRNN training step it must feed, in one run.

    python -m benchmarks.loader_speed [--data data/shards] [--steps 150]

Prints samples/s of (a) the loader alone (shards → batches of the recurrent view),
(b) CRNN training from in-memory arrays and (c) CRNN training from the shards, with
the ratios that matter: loader / training step (want ≥ 3) and shards / memory
(want ≥ 0.9).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pipeline.learn  # noqa: F401  (quiet TensorFlow)
import tensorflow as tf

from pipeline.config import load_params
from pipeline.learn.data import RECURRENT, Normaliser, make_view, split_dataset
from pipeline.learn.losses import MassLoss
from pipeline.learn.models import build_model
from pipeline.store.reader import read_arrays, store_files


def loader_rate(data: Path, batch: int, steps: int) -> float:
    dataset = iter(split_dataset(data, "train", RECURRENT, batch, shuffle_seed=0, repeat=True))
    next(dataset)
    start = time.perf_counter()
    for _ in range(steps):
        next(dataset)
    return steps * batch / (time.perf_counter() - start)


def training_rate(dataset: tf.data.Dataset, params, batch: int, steps: int) -> float:
    cfg = params.train.crnn
    model = build_model("crnn", cfg, params.physics)
    model.compile("adam", MassLoss(cfg.loss))
    model.fit(dataset, steps_per_epoch=5, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/shards"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    params = load_params(args.params)
    batch = params.train.crnn.batch_size
    normaliser = Normaliser.from_store(args.data)
    psi, encoding, mass = read_arrays(store_files(args.data, "train")[:4])
    in_memory = (tf.data.Dataset.from_tensor_slices(
        (make_view(psi, encoding, normaliser, RECURRENT), tf.cast(mass, tf.float32)))
        .shuffle(2048, seed=0).repeat().batch(batch, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE))
    from_shards = split_dataset(args.data, "train", RECURRENT, batch, shuffle_seed=0, repeat=True)
    loader = loader_rate(args.data, batch, args.steps * 2)
    memory = training_rate(in_memory, params, batch, args.steps)
    shards = training_rate(from_shards, params, batch, args.steps)
    print(f"loader alone               : {loader:8.0f} samples/s")
    print(f"CRNN training, in memory   : {memory:8.0f} samples/s")
    print(f"CRNN training, from shards : {shards:8.0f} samples/s")
    print(f"loader / training step     : {loader / memory:8.1f}x")
    print(f"shards / in memory         : {shards / memory:8.2f}")


if __name__ == "__main__":
    main()
