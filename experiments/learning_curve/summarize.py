"""The learning curve from the experiment's metrics: test R² and median relative error
against training-set size, the physics inversion as a flat line.

    python summarize.py results/metrics.json results      (run by the `curve` stage)
    python summarize.py results/metrics.json results ../../docs/results.md   (docs/ too)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pipeline.config import MODEL_LABELS  # noqa: E402
from pipeline.evaluate.table import update_readme  # noqa: E402


def curves(metrics: dict) -> dict[str, list[tuple[int, float, float]]]:
    """Per architecture: (train samples, R², median relative error), by size."""
    found: dict[str, list] = {}
    for scores in metrics["models"].values():
        found.setdefault(scores["model"], []).append(
            (scores["train_samples"], scores["r2"], scores["median_relative_error"]))
    return {model: sorted(points) for model, points in found.items()}


def table(metrics: dict) -> str:
    by_model = curves(metrics)
    sizes = sorted({size for points in by_model.values() for size, _, _ in points})
    physics = metrics["baselines"]["physics_inversion"]
    lines = ["| test R² (median rel. error) | " + " | ".join(
        f"{size // 1000}k samples" for size in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for model, points in by_model.items():
        cells = {size: f"{r2:.3f} ({100 * error:.1f} %)" for size, r2, error in points}
        lines.append(f"| {MODEL_LABELS[model]} | "
                     + " | ".join(cells.get(size, "–") for size in sizes) + " |")
    lines.append(f"| physics inversion, no training | {physics['r2']:.3f} "
                 f"({100 * physics['median_relative_error']:.1f} %) |" + " |" * (len(sizes) - 1))
    return "\n".join(lines) + "\n"


def figure(metrics: dict, path: Path) -> None:
    physics = metrics["baselines"]["physics_inversion"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for model, points in curves(metrics).items():
        sizes = [p[0] for p in points]
        left.plot(sizes, [p[1] for p in points], "o-", label=MODEL_LABELS[model])
        right.plot(sizes, [100 * p[2] for p in points], "o-", label=MODEL_LABELS[model])
    left.axhline(physics["r2"], color="grey", ls="--", label="physics inversion")
    right.axhline(100 * physics["median_relative_error"], color="grey", ls="--",
                  label="physics inversion")
    sizes = sorted({p[0] for points in curves(metrics).values() for p in points})
    for ax, label in ((left, "test R²"), (right, "median relative error (%)")):
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{size // 1000}k" for size in sizes])
        ax.minorticks_off()
        ax.set(xlabel="training samples", ylabel=label)
        ax.legend(fontsize=8)
    fig.suptitle(f"What more data buys ({metrics['samples']} test samples)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    metrics = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    figure(metrics, out / "learning_curve.png")
    (out / "learning_curve.md").write_text(table(metrics))
    if len(sys.argv) > 3:
        update_readme(Path(sys.argv[3]), table(metrics).rstrip(),
                      "<!-- learning-curve:begin -->", "<!-- learning-curve:end -->")
    print(table(metrics))


if __name__ == "__main__":
    main()
