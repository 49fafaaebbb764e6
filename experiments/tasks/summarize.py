"""The task family's headroom table and figure from the experiment's metrics: per task and
hidden parameter, both physics references, the best model's test R² at each training
size and its 90 % coverage, and the issue's headroom criteria.

    python summarize.py results      (run by the `summary` stage; experiments/render.py
                                      puts the same table into docs/results.md)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib
import numpy as np

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


REFERENCES = (("physics_inversion_fine_field", "φ fit"), ("physics_inversion", "ψ fit"))


def references(metrics: dict) -> dict[str, dict[str, float | None]]:
    """parameter → {"φ fit": R², "ψ fit": R²}: the task's likelihood fits (no learning)."""
    found: dict[str, dict] = {}
    for key, label in REFERENCES:
        baseline = metrics["baselines"][key]
        for name, values in {"mass": baseline, **(baseline.get("targets") or {})}.items():
            found.setdefault(name, {})[label] = values["r2"]
    return found


def best_models(metrics: dict) -> dict[str, dict[int, tuple[str, float, float, list]]]:
    """parameter → size → (model, R², coverage, by third) of the best model at that size."""
    best: dict[str, dict] = {}
    for (model, parameter), runs in points(metrics).items():
        for size, r2, coverage, thirds in runs:
            if r2 > best.setdefault(parameter, {}).get(size, ("", -np.inf))[1]:
                best[parameter][size] = (model, r2, coverage, thirds)
    return best


def _r2(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _sizes(results: dict[str, dict]) -> list[int]:
    return sorted({size for metrics in results.values() for runs in points(metrics).values()
                   for size, *_ in runs})


def table(results: dict[str, dict]) -> str:
    """:func:`headroom`, then the criteria on each task's hardest parameter."""
    return headroom(results) + criteria(results)


def headroom(results: dict[str, dict]) -> str:
    """Per task and parameter: both references, the best model at each training size, and
    its 90 % coverage at the largest (README's table)."""
    sizes = _sizes(results)
    lines = ["| task | parameter | φ fit (exact fields) | ψ fit (no learning) | "
             + " | ".join(f"best model at {s // 1000}k" for s in sizes)
             + f" | its 90 % coverage at {sizes[-1] // 1000}k (by third) |",
             "|---|---|---|---|" + "---|" * (len(sizes) + 1)]
    for task, metrics in results.items():
        fits, best = references(metrics), best_models(metrics)
        for parameter in sorted(best, key=lambda name: name != "mass"):
            runs = best[parameter]
            model, _, coverage, thirds = runs[sizes[-1]]
            lines.append(f"| {task} | {parameter} | {_r2(fits[parameter]['φ fit'])} "
                         f"| {_r2(fits[parameter]['ψ fit'])} | "
                         + " | ".join(f"{runs[s][1]:.3f} ({MODEL_LABELS[runs[s][0]]})"
                                      for s in sizes)
                         + f" | {coverage:.3f} ({' / '.join(f'{t:.2f}' for t in thirds)}) |")
    return "\n".join(lines) + "\n"


def criteria(results: dict[str, dict]) -> str:
    """The issue's headroom criteria on each task's hardest parameter (the one whose best
    model scores lowest at the largest size), with the margins."""
    sizes = _sizes(results)
    checks = ["", "| task (hardest parameter) | best − ψ fit ≥ 0.02 | gain "
              f"{sizes[0] // 1000}k → {sizes[-1] // 1000}k ≥ 0.02 | φ fit − best ≥ 0.02 |",
              "|---|---|---|---|"]
    for task, metrics in results.items():
        fits, best = references(metrics), best_models(metrics)
        hardest = min(best, key=lambda name: best[name][sizes[-1]][1])
        top, fit = best[hardest][sizes[-1]][1], fits[hardest]
        margins = (top - fit["ψ fit"], top - best[hardest][sizes[0]][1], fit["φ fit"] - top)
        checks.append(f"| {task} ({hardest}) | "
                      + " | ".join(f"{'yes' if m >= 0.02 else 'no'} ({m:+.3f})"
                                   for m in margins) + " |")
    return "\n".join(checks) + "\n"


def figure(results: dict[str, dict], path: Path) -> None:
    """Per task: each parameter's best-model R² against training size (CRNN solid, RNN
    dashed), its ψ fit (dash-dot) and φ fit (dotted) as levels, in the parameter's colour."""
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.8), squeeze=False)
    for ax, (task, metrics) in zip(axes[0], results.items(), strict=True):
        fits = references(metrics)
        parameters = sorted({p for _, p in points(metrics)}, key=lambda name: name != "mass")
        for colour, parameter in zip(("C0", "C1"), parameters, strict=False):
            for (model, name), runs in sorted(points(metrics).items()):
                if name == parameter:
                    ax.plot([r[0] for r in runs], [r[1] for r in runs],
                            "o-" if model == "crnn" else "s--", color=colour,
                            label=f"{MODEL_LABELS[model]}: {parameter}")
            for label, style in (("ψ fit", "-."), ("φ fit", ":")):
                if fits[parameter][label] is not None:
                    ax.axhline(fits[parameter][label], color=colour, linestyle=style, lw=1,
                               label=f"{label}: {parameter}")
        sizes = sorted({r[0] for runs in points(metrics).values() for r in runs})
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{size // 1000}k" for size in sizes])
        ax.minorticks_off()
        ax.set(title=task, xlabel="training samples", ylabel="test R²", ylim=(-0.05, 1.02))
        ax.legend(fontsize=6)
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
