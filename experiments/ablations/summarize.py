"""What each ablation costs: its scores beside the default model it changes.

    python summarize.py results ../../data     (run by the `summary` stage;
                                                experiments/render.py puts the same tables
                                                into docs/results.md)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

LABELS = {"dnn": "DNN + mass scan + physics fit", "cnn": "CNN + mass scan + physics fit",
          "rnn": "RNN", "dnn-no-scan": "DNN, no simulator", "cnn-no-scan": "CNN, no simulator",
          "rnn-every-step": "RNN, loss at every step"}


def load(results: Path, default: Path) -> tuple[dict, dict, dict]:
    """(ablation → its default model, scores by key on the test split, on the other seed)."""
    ablations = yaml.safe_load((results.parent / "params.yaml").read_text())["ablations"]
    test, other = {}, {}
    for name, scores in (("metrics", test), ("metrics_holdout", other)):
        for folder in (default, results):
            scores.update(json.loads((folder / f"{name}.json").read_text())["models"])
    return {key: spec["model"] for key, spec in ablations.items()}, test, other


def _row(key: str, test: dict, other: dict, role: str) -> str:
    scores = test[key]
    thirds = " / ".join(f"{c:.2f}" for c in scores["coverage_90_by_tercile"])
    return (f"| {LABELS.get(key, key)} | {role} | {scores['r2']:.3f} | {other[key]['r2']:.3f} "
            f"| {scores['coverage_90']:.3f} | {thirds} | {scores['train_seconds']:.0f} s |")


def table(changes: dict, test: dict, other: dict) -> str:
    lines = ["| model | as trained | R² | R² other seed | 90 % coverage | by mass third "
             "| train time |", "|---|---|---|---|---|---|---|"]
    for ablation, model in changes.items():
        lines += [_row(model, test, other, "default"), _row(ablation, test, other, "ablation")]
    per_step = [key for ablation, model in changes.items() for key in (model, ablation)
                if test[key].get("r2_per_step") is not None]
    if per_step:
        steps = len(test[per_step[0]]["r2_per_step"])
        lines += ["", "R² of the prediction after t snapshots:", "",
                  "| model | " + " | ".join(f"t={t}" for t in range(1, steps + 1)) + " |",
                  "|---|" + "---|" * steps]
        lines += [f"| {LABELS.get(key, key)} | "
                  + " | ".join(f"{v:.3f}" for v in test[key]["r2_per_step"]) + " |"
                  for key in dict.fromkeys(per_step)]
    return "\n".join(lines) + "\n"


def main() -> None:
    results, default = Path(sys.argv[1]), Path(sys.argv[2])
    text = table(*load(results, default))
    (results / "ablations.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
