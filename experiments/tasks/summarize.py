"""The task family's headroom table and figure from the experiment's metrics: per task and
hidden parameter, each model's test R² at each training size and its 90 % coverage.

    python summarize.py results      (run by the `summary` stage; experiments/render.py
                                      puts the same table into docs/results.md)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pipeline.config import MODEL_LABELS  # noqa: E402

TASKS = ("mass-charge", "mass-drag", "moving-field")


def points(metrics: dict) -> dict[tuple[str, str], list[tuple[int, float, float, list]]]:
    """(model, parameter) → [(train samples, R², 90 % coverage, coverage by third)], by size."""
    found: dict[tuple[str, str], list] = {}
    for scores in metrics["models"].values():
        per_parameter = {"mass": scores, **(scores.get("targets") or {})}
        for name, values in per_parameter.items():
            found.setdefault((scores["model"], name), []).append(
                (scores["train_samples"], values["r2"], values["coverage_90"],
                 values["coverage_90_by_tercile"]))
    return {key: sorted(values) for key, values in found.items()}


def table(results: dict[str, dict]) -> str:
    sizes = sorted({size for metrics in results.values() for runs in points(metrics).values()
                    for size, *_ in runs})
    lines = ["| task | parameter | model | " + " | ".join(f"R² at {s // 1000}k" for s in sizes)
             + f" | 90 % coverage at {sizes[-1] // 1000}k (by third) |",
             "|---|---|---|" + "---|" * (len(sizes) + 1)]
    for task, metrics in results.items():
        for (model, parameter), runs in sorted(points(metrics).items(),
                                              key=lambda item: (item[0][1] != "mass", item[0])):
            r2 = {size: value for size, value, _, _ in runs}
            _, _, coverage, thirds = runs[-1]
            lines.append(f"| {task} | {parameter} | {MODEL_LABELS[model]} | "
                         + " | ".join(f"{r2[s]:.3f}" if s in r2 else "–" for s in sizes)
                         + f" | {coverage:.3f} ({' / '.join(f'{t:.2f}' for t in thirds)}) |")
    return "\n".join(lines) + "\n"


def figure(results: dict[str, dict], path: Path) -> None:
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.8), squeeze=False)
    for ax, (task, metrics) in zip(axes[0], results.items(), strict=True):
        for (model, parameter), runs in sorted(points(metrics).items()):
            ax.plot([r[0] for r in runs], [r[1] for r in runs], "o-" if model == "crnn" else "s--",
                    label=f"{MODEL_LABELS[model]}: {parameter}")
        sizes = sorted({r[0] for runs in points(metrics).values() for r in runs})
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{size // 1000}k" for size in sizes])
        ax.minorticks_off()
        ax.set(title=task, xlabel="training samples", ylabel="test R²", ylim=(-0.05, 1.0))
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    directory = Path(sys.argv[1])
    results = {task: json.loads((directory / f"{task}.json").read_text()) for task in TASKS}
    text = table(results)
    (directory / "tasks.md").write_text(text)
    figure(results, directory / "tasks.png")
    print(text)


if __name__ == "__main__":
    main()
