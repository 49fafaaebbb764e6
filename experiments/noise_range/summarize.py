"""One model for every noise level: the range-trained models' scores at each level.

    python summarize.py results      (run by the `summary` stage; experiments/render.py
                                      puts the same table into docs/results.md)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

LABELS = {"crnn": "CRNN", "cnn": "CNN + scan + fit"}
HONEST = (0.87, 0.93)  # 90 % coverage wanted in each third of the mass range


def load(results: Path) -> tuple[dict, dict]:
    levels = yaml.safe_load((results.parent / "params.yaml").read_text())["levels"]
    return levels, {key: json.loads((results / f"{key}.json").read_text()) for key in levels}


def table(levels: dict, metrics: dict) -> str:
    lines = ["| model (trained on σ ~ U[0, 1) px) | scored at σ | R² | ψ fit R² "
             "| 90 % coverage | by mass third | every third in 0.87–0.93 |",
             "|---|---|---|---|---|---|---|"]
    for model, label in LABELS.items():
        for key, sigma in levels.items():
            scores = metrics[key]["models"][model]
            thirds = scores["coverage_90_by_tercile"]
            honest = all(HONEST[0] <= c <= HONEST[1] for c in thirds)
            lines.append(f"| {label} | {sigma:g} px | {scores['r2']:.3f} "
                         f"| {metrics[key]['baselines']['physics_inversion']['r2']:.3f} "
                         f"| {scores['coverage_90']:.3f} "
                         f"| {' / '.join(f'{c:.3f}' for c in thirds)} "
                         f"| {'yes' if honest else 'no'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    results = Path(sys.argv[1])
    text = table(*load(results))
    (results / "noise_range.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
