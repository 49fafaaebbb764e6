"""What checking shards costs, against the work that reads them, in one run.

    python -m benchmarks.verify_speed [--data data/shards]

Measures on a store: (a) the check every reader makes before using a store's shards (file
SHA-256 against manifest.json), (b) the proof a shard without a manifest record gives
(re-hashing every dataset's values against the checksums it carries), (c) ``inspect
--verify`` (checksums, schema, physical checks), each in seconds per GB of shards; and
the reader check's share of a CRNN training epoch and of ``evaluate`` on the test split.
The files are read from the page cache when the machine has seen them before.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import save


def _seconds(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def checks(data: Path) -> dict:
    from pipeline.store import integrity
    from pipeline.store.reader import store_files
    from pipeline.store.summary import verify_location

    files = sorted(data.glob("shard-*.h5"))
    gigabytes = sum(path.stat().st_size for path in files) / 1e9
    for path in files:  # into the page cache: the checks compete with nothing but themselves
        path.read_bytes()

    def reader_check(split=None):
        integrity._PROVEN.clear()
        return store_files(data, split)

    found = {"gigabytes": gigabytes, "shards": len(files),
             "reader_check_s": _seconds(reader_check),
             "proof_s": _seconds(lambda: [integrity.prove_shard(path) for path in files]),
             "verify_s": _seconds(lambda: verify_location(data))}
    found["reader_check_train_validation_s"] = _seconds(
        lambda: (reader_check("train"), reader_check("validation")))
    found["reader_check_test_s"] = _seconds(lambda: reader_check("test"))
    for key in ("reader_check", "proof", "verify"):
        found[f"{key}_s_per_gb"] = found[f"{key}_s"] / gigabytes
    return found


def epoch_seconds(data: Path, steps: int = 60) -> float:
    """A default CRNN epoch (as ``massfield train`` runs it), from the time of ``steps``."""
    from pipeline.learn import quiet_tensorflow

    quiet_tensorflow()
    from benchmarks import train_steps
    from pipeline.config import load_params
    from pipeline.learn.data import RECURRENT, split_dataset
    from pipeline.learn.models import build_model
    from pipeline.learn.train import compile_model, with_store_params
    from pipeline.readers.order import Normaliser

    params = with_store_params(load_params(Path("params.yaml")), data)
    cfg, normaliser = params.train.crnn, Normaliser.from_store(data)
    per_epoch = 32_000 // cfg.batch_size
    model = build_model("crnn", cfg, params.physics, normaliser)
    compile_model(model, cfg, per_epoch * cfg.epochs)
    dataset = split_dataset(data, "train", RECURRENT, cfg.batch_size, shuffle_seed=0,
                            repeat=True)
    model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # compile
    iterator = iter(dataset)
    train_steps(model, iterator, 10)  # fill the prefetch buffer
    return _seconds(lambda: train_steps(model, iterator, steps)) / steps * per_epoch


def evaluate_seconds(data: Path) -> float:
    """``evaluate`` on the test split with one CRNN (trained a few steps) and both baselines."""
    from pipeline.config import load_params
    from pipeline.evaluate.run import evaluate
    from pipeline.learn.train import train_model, with_store_params

    params = with_store_params(load_params(Path("params.yaml"), (
        "train.crnn.epochs=1", "train.crnn.steps_per_epoch=20")), data)
    with tempfile.TemporaryDirectory() as tmp:
        train_model("crnn", params, data, Path(tmp) / "models" / "crnn", log=lambda line: None)
        return _seconds(lambda: evaluate(data, Path(tmp) / "models", Path(tmp) / "m.json",
                                         Path(tmp) / "p.csv", log=lambda line: None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/shards"))
    args = parser.parse_args()
    found = checks(args.data)
    found["crnn_epoch_s"] = epoch_seconds(args.data)
    found["evaluate_s"] = evaluate_seconds(args.data)
    found["share_of_epoch"] = found["reader_check_train_validation_s"] / found["crnn_epoch_s"]
    found["share_of_evaluate"] = found["reader_check_test_s"] / found["evaluate_s"]
    print(f"{found['shards']} shards, {found['gigabytes']:.3f} GB")
    for key, label in (("reader_check", "reader check (file SHA-256)"),
                       ("proof", "proof by the shard's own checksums"),
                       ("verify", "inspect --verify")):
        print(f"  {label:36s} {found[key + '_s']:7.2f} s = {found[key + '_s_per_gb']:6.2f} s/GB")
    print(f"  train + validation check {found['reader_check_train_validation_s']:.2f} s of a "
          f"{found['crnn_epoch_s']:.0f} s CRNN epoch ({100 * found['share_of_epoch']:.2f} %)")
    print(f"  test check {found['reader_check_test_s']:.2f} s of a {found['evaluate_s']:.0f} s "
          f"evaluate ({100 * found['share_of_evaluate']:.2f} %)")
    save("verify_speed", found, "python -m benchmarks.verify_speed " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
