"""Speed and memory benchmarks. Each measures its own baseline in the same run, prints
ratios, and saves its figures to ``benchmarks/results/NAME.json``; ``python -m
benchmarks.render`` writes docs/benchmarks.md from those files."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """What the figures were measured on."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 1024 for line in
                   Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), None)
    return {"processor": model, "cores": len(os.sched_getaffinity(0)),
            "memory_mib": memory, "python": platform.python_version()}


def save(name: str, figures: dict, command: str) -> Path:
    """Write one benchmark run's figures, with the machine, date and code version."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=RESULTS.parent.parent).stdout.strip()
    record = {"benchmark": name, "command": command, "machine": machine(),
              "date": datetime.date.today().isoformat(), "commit": commit, "figures": figures}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"saved {path}")
    return path


PEAK = ("import resource, subprocess, sys, time; start = time.perf_counter(); "
        "code = subprocess.run(sys.argv[1:]).returncode; "
        "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)"
        ".ru_maxrss); sys.exit(code)")


def measured(*command: str) -> tuple[float, float]:
    """Run ``massfield COMMAND`` in a fresh process: (seconds, peak RSS in MiB of the
    largest process of its tree, Dask workers included)."""
    result = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "pipeline.cli",
                             *command], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"massfield {' '.join(command)} failed:\n{result.stderr}")
    seconds, kib = result.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


def train_steps(model, iterator, n: int) -> None:
    """``n`` training steps of a compiled Keras ``model`` on ``iterator``, waited for."""
    for _ in range(n):
        logs = model.train_function(iterator)
    if hasattr(logs, "get_value"):  # some Keras versions wrap the logs in an Optional
        logs = logs.get_value()
    float(logs["loss"])  # wait for the last step
