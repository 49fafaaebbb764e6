"""Write docs/results.md's tables from the experiments' committed results.

    python experiments/render.py

Each experiment's ``summarize`` stage writes its ``results/`` files; this puts the same
tables, made by the same functions, between docs/results.md's markers, and the task
family's headroom between README's (tests/test_repository.py checks that they match).
Never edit those tables by hand.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "results.md"
README = HERE.parent / "README.md"


def _summarize(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_summarize", HERE / name / "summarize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tables() -> dict[str, str]:
    """Marker name → the table its experiment's results give."""
    ablations, curve, coarse, noise, tasks, noise_range = map(_summarize, (
        "ablations", "learning_curve", "coarse_graining", "observation_noise", "tasks",
        "noise_range"))
    metrics = json.loads((HERE / "learning_curve/results/metrics.json").read_text())
    per_task = _per_task(tasks)
    return {"ablations": ablations.table(*ablations.load(HERE / "ablations/results",
                                                         HERE.parent / "data")).rstrip(),
            "learning-curve": curve.table(metrics).rstrip(),
            "coarse-graining": coarse.table(coarse.rows(HERE / "coarse_graining/results")).rstrip(),
            "observation-noise": noise.doc_tables(*noise.load(HERE / "observation_noise/results")),
            "tasks": tasks.table(per_task).rstrip(),
            "noise-range": noise_range.table(
                *noise_range.load(HERE / "noise_range/results")).rstrip()}


def readme_tables() -> dict[str, str]:
    """README's one experiment table: each task's headroom (docs/results.md has the rest)."""
    tasks = _summarize("tasks")
    return {"tasks-headroom": tasks.headroom(_per_task(tasks)).rstrip()}


def _per_task(tasks) -> dict[str, dict]:
    """Each task's metrics from the task family experiment's results."""
    return {task: json.loads((HERE / f"tasks/results/{task}.json").read_text())
            for task in tasks.TASKS}


def render(text: str, made: dict[str, str] | None = None, where: Path = DOC) -> str:
    for name, table in (tables() if made is None else made).items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        if begin not in text or end not in text:
            raise SystemExit(f"{where}: no {begin} … {end} markers")
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                      lambda _, b=begin, e=end, t=table: f"{b}\n{t}\n{e}", text, flags=re.S)
    return text


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text()))
    README.write_text(render(README.read_text(), readme_tables(), README))
    print(f"wrote {DOC} and {README}")
