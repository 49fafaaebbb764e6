"""Training steps with and without XLA, for each model, in one run.

    python -m benchmarks.train_speed [--data data/shards] [--models dnn cnn rnn crnn]
                                     [--steps 40] [--rounds 3]

For each model, two instances built alike (same preset, seed and batch size as
params.yaml, with the physics fit's inputs where the model takes them) train from the
first train shards through the real loader, one compiled by XLA, one
not, taking turns each round. Prints, per model, the time to the first steps (tracing
and compiling), the median wall and CPU milliseconds per step, and plain / XLA ratios.
Each instance's first call traces on the shard iterator, as ``massfield train`` does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from pipeline.learn import quiet_tensorflow

quiet_tensorflow()  # before TensorFlow loads

from benchmarks import save, train_steps
from pipeline.config import MODEL_NAMES, load_params
from pipeline.learn.data import files_dataset
from pipeline.learn.models import VIEWS, build_model, uses_physics_fit
from pipeline.learn.physics_fit import PhysicsFit
from pipeline.learn.train import compile_model, split_files, with_store_params
from pipeline.readers.order import Normaliser
from pipeline.store.store import Store

WARM_UP = 3


def step_times(name: str, params, data: Path, steps: int, rounds: int) -> dict[str, dict]:
    cfg = params.train.model(name)
    normaliser = Normaliser.from_store(data)
    files, sizes = split_files(Store.open(data), "train", 4000)  # enough for the steps timed
    fit = PhysicsFit.measure(files, params.physics) if uses_physics_fit(name, cfg) else None
    features = fit.shard_features(files) if fit else None  # as train computes them, once
    runs = {}
    for label, xla in (("plain", False), ("xla", True)):
        model = build_model(name, cfg, params.physics, normaliser)
        compile_model(model, cfg, total_steps=10_000, xla=xla)
        dataset = files_dataset(files, VIEWS[name], cfg.batch_size, sizes=sizes,
                                shuffle_seed=0, repeat=True, fit=fit, features=features)
        started = time.perf_counter()
        model.fit(dataset, steps_per_epoch=WARM_UP, shuffle=False, verbose=0)  # trace, compile
        runs[label] = {"model": model, "iterator": iter(dataset), "wall": [], "cpu": [],
                       "first": time.perf_counter() - started}
    for run in runs.values():
        train_steps(run["model"], run["iterator"], 1)
    for _ in range(rounds):
        for run in runs.values():
            wall, cpu = time.perf_counter(), time.process_time()
            train_steps(run["model"], run["iterator"], steps)
            run["wall"].append((time.perf_counter() - wall) / steps * 1000)
            run["cpu"].append((time.process_time() - cpu) / steps * 1000)
    return {label: {"first": run["first"], "wall": statistics.median(run["wall"]),
                    "cpu": statistics.median(run["cpu"])} for label, run in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/shards"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    params = with_store_params(load_params(args.params), args.data)
    rows = {}
    print(f"{'model':5} {'first steps s':>15} {'wall ms/step':>15} {'CPU ms/step':>15} "
          f"{'plain/XLA wall':>15} {'CPU':>5}")
    print(f"{'':5} {'plain / XLA':>15} {'plain / XLA':>15} {'plain / XLA':>15}")
    for name in args.models:
        rows[name] = t = step_times(name, params, args.data, args.steps, args.rounds)
        plain, xla = t["plain"], t["xla"]
        print(f"{name:5} {plain['first']:7.1f} / {xla['first']:5.1f} "
              f"{plain['wall']:7.1f} / {xla['wall']:5.1f} {plain['cpu']:7.1f} / {xla['cpu']:5.1f} "
              f"{plain['wall'] / xla['wall']:14.2f}x {plain['cpu'] / xla['cpu']:4.2f}x", flush=True)
    save("train_speed", {"steps": args.steps, "rounds": args.rounds, "models": rows},
         "python -m benchmarks.train_speed " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
