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
    """Seconds per stage and in total of one ``dvc repro --force``, as it runs."""
    started = time.perf_counter()
    marks: list[tuple[str, float]] = []
    with subprocess.Popen(["dvc", "repro", "--force"], cwd=repo, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as run:
        for line in run.stdout:
            found = STAGE_LINE.search(line)
            if found:
                marks.append((found.group(1), time.perf_counter()))
                if len(marks) > 1:
                    _print_stage(marks[-2], marks[-1][1])
    if run.returncode:
        raise SystemExit(f"dvc repro failed in {repo} (exit {run.returncode})")
    ended = time.perf_counter()
    _print_stage(marks[-1], ended)
    seconds = {stage: round(end - start, 1) for (stage, start), (_, end)
               in zip(marks, [*marks[1:], ("", ended)], strict=True)}
    return seconds, round(ended - started, 1)


def _print_stage(mark: tuple[str, float], end: float) -> None:
    print(f"{mark[0]:32s} {end - mark[1]:7.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    repo = parser.parse_args().repo.resolve()
    seconds, total = run_pipeline(repo)
    print(f"{'total':32s} {total:7.1f} s ({total / BUDGET_S:.2f} of the {BUDGET_S:.0f} s "
          f"budget) on {machine()['processor']}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                            capture_output=True, text=True).stdout.strip()
    save("pipeline_time", {"stages": seconds, "total_s": total, "budget_s": BUDGET_S,
                           "of_budget": round(total / BUDGET_S, 3), "measured_commit": commit},
         "python -m benchmarks.pipeline_time --repo FRESH_CLONE")


if __name__ == "__main__":
    main()
