"""Where the default pipeline's time goes: one `dvc repro` of a fresh clone, timed by stage.

    python -m benchmarks.pipeline_time [--repo DIR]

Runs ``dvc repro --force`` once in ``--repo`` (default: this checkout; use a fresh clone,
where Numba compiles as a newcomer's would), as a newcomer runs it: one DVC process for
every stage, so DVC's own start-up is paid once, as in the README's command. A stage's
seconds run from DVC's "Running stage" line to the next one (the last to DVC's exit), so
they add up to the total. The baseline is the total the README promises (600 s): the
ratio says how far inside or outside it the run stayed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from pathlib import Path

from benchmarks import machine, save

BUDGET_S = 600.0
STAGE_LINE = re.compile(r"Running stage '([^']+)'")


def run_pipeline(repo: Path) -> tuple[dict[str, float], float]:
    """Seconds per stage and in total of one ``dvc repro --force``, printed as it runs."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    stage, since = None, started

    def close(now: float) -> None:
        if stage is not None:
            seconds[stage] = round(now - since, 1)
            print(f"{stage:32s} {seconds[stage]:7.1f} s", flush=True)

    with subprocess.Popen(["dvc", "repro", "--force"], cwd=repo, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as run:
        for line in run.stdout:
            if found := STAGE_LINE.search(line):
                now = time.perf_counter()
                close(now)
                stage, since = found.group(1), now
    if run.returncode:
        raise SystemExit(f"dvc repro failed in {repo} (exit {run.returncode})")
    ended = time.perf_counter()
    close(ended)
    return seconds, round(ended - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    repo = parser.parse_args().repo.resolve()
    seconds, total = run_pipeline(repo)
    print(f"{'total':32s} {total:7.1f} s ({total / BUDGET_S:.2f} of the {BUDGET_S:.0f} s "
          f"budget) on {machine()['processor']}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                            capture_output=True, text=True).stdout.strip()
    this_checkout = repo == Path(__file__).resolve().parents[1]
    save("pipeline_time", {"stages": seconds, "total_s": total, "budget_s": BUDGET_S,
                           "of_budget": round(total / BUDGET_S, 3), "measured_commit": commit,
                           "fresh_clone": not this_checkout},
         "python -m benchmarks.pipeline_time" + ("" if this_checkout else " --repo FRESH_CLONE"))


if __name__ == "__main__":
    main()
