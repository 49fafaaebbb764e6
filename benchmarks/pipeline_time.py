"""Where the default pipeline's time goes: one `dvc repro` of a fresh clone, timed by stage.

    python -m benchmarks.pipeline_time [--repo DIR]

    python -m benchmarks.pipeline_time --repo FRESH_CLONE --baseline CLONE_OF_AN_EARLIER_COMMIT

Runs ``dvc repro --force`` once in ``--repo`` (default: this checkout; use a fresh clone,
where Numba compiles as a newcomer's would), as a newcomer runs it: one DVC process for
every stage, so DVC's own start-up is paid once, as in the README's command. A stage's
seconds run from DVC's "Running stage" line to the next one (the last to DVC's exit), so
they add up to the total. Ratios: against the total the README promises (600 s), and with
``--baseline`` against another clone's pipeline timed first in the same run (machines of
one name differ: the same pipeline code took 783 s on one 2-core EPYC, 435 s on another).
The package that runs is the one installed: install each clone (``pip install -e CLONE
--no-deps``) before timing it — this script re-installs each before its run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import machine, save

BUDGET_S = 600.0
STAGE_LINE = re.compile(r"Running stage '([^']+)'")
HERE = Path(__file__).resolve().parents[1]


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


def _commit(repo: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                          capture_output=True, text=True).stdout.strip()


def _timed(repo: Path, installed: bool) -> tuple[dict[str, float], float]:
    """One clone's pipeline, its own code installed first (a baseline's, then ours)."""
    if installed:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e",
                        str(repo)], check=True)
    print(f"{repo} at {_commit(repo)}:", flush=True)
    seconds, total = run_pipeline(repo)
    print(f"{'total':32s} {total:7.1f} s ({total / BUDGET_S:.2f} of the {BUDGET_S:.0f} s "
          f"budget) on {machine()['processor']}", flush=True)
    return seconds, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a clone of an earlier commit, timed first in the same run")
    args = parser.parse_args()
    repo = args.repo.resolve()
    figures: dict = {}
    if args.baseline is not None:
        base_seconds, base_total = _timed(args.baseline.resolve(), installed=True)
        figures["baseline"] = {"stages": base_seconds, "total_s": base_total,
                               "measured_commit": _commit(args.baseline)}
    seconds, total = _timed(repo, installed=args.baseline is not None or repo != HERE)
    if repo != HERE:  # the checkout's own code installed again
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e",
                        str(HERE)], check=True)
    figures.update({"stages": seconds, "total_s": total, "budget_s": BUDGET_S,
                    "of_budget": round(total / BUDGET_S, 3), "measured_commit": _commit(repo),
                    "fresh_clone": repo != HERE})
    if "baseline" in figures:
        figures["of_baseline"] = round(total / figures["baseline"]["total_s"], 3)
        print(f"{total:.1f} s against the baseline's {figures['baseline']['total_s']:.1f} s: "
              f"{figures['of_baseline']:.2f}×")
    save("pipeline_time", figures, "python -m benchmarks.pipeline_time"
         + ("" if repo == HERE else " --repo FRESH_CLONE")
         + ("" if args.baseline is None else " --baseline CLONE_OF_AN_EARLIER_COMMIT"))


if __name__ == "__main__":
    main()
