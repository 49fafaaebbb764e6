"""Where the default pipeline's time goes: every stage of dvc.yaml run on its own, timed.

    python -m benchmarks.pipeline_time [--repo DIR]

Runs ``dvc repro --single-item STAGE`` for each stage in the order ``dvc repro --dry``
gives, in ``--repo`` (default: this checkout; use a fresh clone, since every stage is
forced to run), and saves the seconds per stage and in total. The baseline is the total
the README promises (600 s): the ratio says how far inside it the run stayed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from pathlib import Path

from benchmarks import machine, save

BUDGET_S = 600.0


def stage_order(repo: Path) -> list[str]:
    """Every stage, in the order `dvc repro` would run them."""
    dry = subprocess.run(["dvc", "repro", "--dry", "--force"], cwd=repo, capture_output=True,
                         text=True, check=True).stdout
    return re.findall(r"Running stage '([^']+)'", dry)


def run_stages(repo: Path) -> dict[str, float]:
    seconds = {}
    for stage in stage_order(repo):
        start = time.perf_counter()
        subprocess.run(["dvc", "repro", "--single-item", "--force", stage], cwd=repo,
                       check=True, stdout=subprocess.DEVNULL)
        seconds[stage] = round(time.perf_counter() - start, 1)
        print(f"{stage:32s} {seconds[stage]:7.1f} s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    repo = parser.parse_args().repo.resolve()
    seconds = run_stages(repo)
    total = round(sum(seconds.values()), 1)
    print(f"{'total':32s} {total:7.1f} s ({total / BUDGET_S:.2f} of the {BUDGET_S:.0f} s "
          f"budget) on {machine()['processor']}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                            capture_output=True, text=True).stdout.strip()
    save("pipeline_time", {"stages": seconds, "total_s": total, "budget_s": BUDGET_S,
                           "of_budget": round(total / BUDGET_S, 3), "measured_commit": commit},
         "python -m benchmarks.pipeline_time --repo FRESH_CLONE")


if __name__ == "__main__":
    main()
