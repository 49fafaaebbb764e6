"""A million samples on one machine: generate, verify, train, evaluate, timed, in one run.

    python -m benchmarks.scale --out /big/disk [--samples 1000000] [--reference 40000]
                               [--steps 1000]

Makes a ``reference``-sample store and a ``samples``-sample store (same physics and shard
size, ~6.4 kB a sample: 6.4 GB for a million) under ``--out``, then on the large one runs
``inspect --verify``, trains a CRNN for a fixed number of steps and evaluates it (with
both baselines) on the test split, each command in a process of its own. Prints time per
sample of generating both stores (want within 5 %), verification throughput, and each
command's time and peak memory. The stores stay under ``--out``; delete them after.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import measured, save


def generate(out: Path, samples: int) -> dict:
    seconds, peak = measured("generate", "--out", str(out), "--set",
                             f"generate.n_samples={samples}")
    return {"samples": samples, "seconds": seconds, "per_sample_ms": 1000 * seconds / samples,
            "peak_mib": peak, "gigabytes": sum(p.stat().st_size for p in
                                               out.glob("shard-*.h5")) / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=40_000)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    reference = generate(args.out / "reference", args.reference)
    large_store = args.out / "store"
    large = generate(large_store, args.samples)
    print(f"generate: {reference['per_sample_ms']:.3f} ms/sample ({args.reference}), "
          f"{large['per_sample_ms']:.3f} ms/sample ({args.samples}): "
          f"{large['per_sample_ms'] / reference['per_sample_ms']:.3f}x", flush=True)
    steps = {}
    for name, command in (
            ("inspect --verify", ["inspect", "--verify", str(large_store)]),
            (f"train crnn ({args.steps} steps)", [
                "train", "crnn", "--data", str(large_store), "--out",
                str(args.out / "models" / "crnn"), "--set", "train.crnn.epochs=1",
                "--set", f"train.crnn.steps_per_epoch={args.steps}"]),
            ("evaluate (test split)", ["evaluate", "--data", str(large_store), "--models",
                                       str(args.out / "models"), "--metrics",
                                       str(args.out / "metrics.json"), "--predictions",
                                       str(args.out / "predictions.csv")])):
        seconds, peak = measured(*command)
        steps[name] = {"seconds": seconds, "peak_mib": peak}
        print(f"{name:24s} {seconds:8.1f} s, peak {peak:6.0f} MiB", flush=True)
    verify = steps["inspect --verify"]
    verify["mb_per_s"] = 1000 * large["gigabytes"] / verify["seconds"]
    print(f"verification {verify['mb_per_s']:.0f} MB/s over {large['gigabytes']:.2f} GB")
    save("scale", {"reference": reference, "large": large, "steps": steps,
                   "per_sample_ratio": large["per_sample_ms"] / reference["per_sample_ms"]},
         "python -m benchmarks.scale " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
