"""Peak memory of every command on a store and on one ten times larger, in one run.

    python -m benchmarks.memory [--samples 4000] [--shard-size 400] [--scale 10]

Makes two stores of the default physics (``samples`` and ``scale`` × ``samples``), trains
a CRNN for a fixed 100 steps on each, and runs each command on each store in a process of
its own, recording its peak resident memory (the largest process of the command's tree:
Dask workers included). The same work on a store ten times larger should need the same
memory: shards are streamed, and only predictions (a few floats a sample) grow.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks import measured, save


def commands(store: Path, work: Path) -> dict[str, list[str]]:
    """The same work on any store: what each command is measured doing."""
    models = work / "models"
    return {
        "generate": [],  # filled in by the caller: it makes the store
        "inspect --verify": ["inspect", "--verify", str(store)],
        "train crnn (100 steps)": ["train", "crnn", "--data", str(store), "--out",
                                   str(models / "crnn"), "--set", "train.crnn.epochs=1",
                                   "--set", "train.crnn.steps_per_epoch=100",
                                   "--set", "train.crnn.xla=never"],
        "evaluate (test split)": ["evaluate", "--data", str(store), "--models", str(models),
                                  "--metrics", str(work / "metrics.json"), "--predictions",
                                  str(work / "predictions.csv")],
        "predict (every sample)": ["predict", "crnn", "--data", str(store), "--models",
                                   str(models), "--out", str(work / "rows.csv")],
        "plot": ["plot", "--metrics", str(work / "metrics.json"), "--predictions",
                 str(work / "predictions.csv"), "--models", str(models), "--data", str(store),
                 "--out", str(work / "plots"), "--repeats", str(work / "none")],
    }


def measure(samples: int, shard_size: int, root: Path) -> dict[str, float]:
    store, work = root / f"store{samples}", root / f"work{samples}"
    found = {"generate": measured("generate", "--out", str(store), "--set",
                                  f"generate.n_samples={samples}", "--set",
                                  f"generate.shard_size={shard_size}")[1]}
    for name, command in commands(store, work).items():
        if command:
            found[name] = measured(*command)[1]
            print(f"{samples:8d} samples  {name:24s} {found[name]:7.0f} MiB", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--shard-size", type=int, default=400)
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(args.samples, args.shard_size, Path(tmp))
        large = measure(args.samples * args.scale, args.shard_size, Path(tmp))
    rows = [{"command": name, "small_mib": small[name], "large_mib": large[name],
             "ratio": large[name] / small[name]} for name in small]
    print(f"\npeak RSS, {args.samples} against {args.samples * args.scale} samples "
          f"(shards of {args.shard_size}):")
    for row in rows:
        print(f"  {row['command']:24s} {row['small_mib']:7.0f} → {row['large_mib']:7.0f} MiB "
              f"({row['ratio']:.2f}x)")
    save("memory", {"samples": args.samples, "scale": args.scale,
                    "shard_size": args.shard_size, "rows": rows},
         "python -m benchmarks.memory " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
