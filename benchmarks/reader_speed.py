"""Every reader against the CRNN training step it would feed, in one run.

    python -m benchmarks.reader_speed [--data data/shards] [--batches 150]

Samples/s of the tf.data loader, the NumPy iterator (``massfield.batches``) and a PyTorch
DataLoader with 0, 1 and 2 workers over ``massfield.torch.ShardDataset`` (by sample, the
default collate) and over ``massfield.torch.ShardBatches`` (by batch) — each giving
the CRNN's inputs (ψ standardised, four-warm encodings of the observed positions, mass)
from checked shards — and of CRNN training (its step as `massfield train` compiles it)
from batches made in advance. The ratio reader / step is what matters (want ≥ 3).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pipeline.learn import quiet_tensorflow

quiet_tensorflow()  # before TensorFlow loads

import massfield
from benchmarks import save
from benchmarks.loader_speed import in_memory_batches, loader_rate, training_rates
from pipeline.config import load_params
from pipeline.learn.train import with_store_params
from pipeline.readers.order import Normaliser

OPTIONS = dict(normalise=True, encode=True)  # the CRNN's inputs


def _rate(batches, batch: int, n: int) -> float:
    iterator = batches()
    next(iterator)  # start-up (workers, files, JIT) is not the steady rate
    start, done = time.perf_counter(), 0
    while done < n:
        try:
            next(iterator)
        except StopIteration:
            iterator = batches()
            continue
        done += 1
    return n * batch / (time.perf_counter() - start)


def numpy_rate(store, batch: int, n: int) -> float:
    epochs = iter(range(10**6))
    return _rate(lambda: massfield.batches(store, "train", batch, epoch=next(epochs),
                                           drop_remainder=True, **OPTIONS), batch, n)


def torch_rate(store, batch: int, n: int, workers: int, by_batch: bool) -> float:
    import torch.utils.data

    from massfield.torch import ShardBatches, ShardDataset

    if by_batch:
        dataset, options = (ShardBatches(store, "train", batch, drop_remainder=True, **OPTIONS),
                            dict(batch_size=None))
    else:
        dataset, options = (ShardDataset(store, "train", **OPTIONS),
                            dict(batch_size=batch, drop_last=True))
    loader = torch.utils.data.DataLoader(dataset, num_workers=workers,
                                         persistent_workers=workers > 0, **options)
    return _rate(lambda: iter(loader), batch, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/shards"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--batches", type=int, default=150)
    args = parser.parse_args()
    params = with_store_params(load_params(args.params), args.data)
    batch = params.train.crnn.batch_size
    normaliser = Normaliser.from_store(args.data)
    store = massfield.open_store(args.data)
    step = training_rates({"memory": in_memory_batches(args.data, batch)}, params,
                          normaliser, 60, 3)["memory"]
    readers = {"tf.data loader": loader_rate(args.data, batch, args.batches),
               "NumPy iterator": numpy_rate(store, batch, args.batches)}
    for by_batch, kind in ((False, "by sample"), (True, "by batch")):
        for workers in (0, 1, 2):
            readers[f"PyTorch DataLoader {kind}, {workers} workers"] = torch_rate(
                store, batch, args.batches, workers, by_batch)
    print(f"CRNN training step: {step:8.0f} samples/s")
    for name, rate in readers.items():
        print(f"{name:40s}: {rate:8.0f} samples/s, {rate / step:5.1f}x the step")
    save("reader_speed", {"step_per_s": step, "batch": batch, "batches": args.batches,
                          "readers": {name: {"per_s": rate, "over_step": rate / step}
                                      for name, rate in readers.items()}},
         "python -m benchmarks.reader_speed " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
