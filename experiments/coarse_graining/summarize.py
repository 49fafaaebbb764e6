"""The coarse-graining sweep's table and figure, from each configuration's metrics.

    python summarize.py results             (run by the `summary` stage)
    python summarize.py results ../../docs/results.md   (also docs/results.md's table)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pipeline.evaluate.table import update_readme  # noqa: E402

COLUMNS = (("CRNN", lambda m: m["models"]["crnn"]),
           ("physics inversion from ψ", lambda m: m["baselines"]["physics_inversion"]),
           ("physics inversion from φ", lambda m: m["baselines"]["physics_inversion_fine_field"]))
# every cell: test R² (median relative error)


def rows(results: Path) -> list[dict]:
    configs = yaml.safe_load((results.parent / "params.yaml").read_text())["configs"]
    found = []
    for key, config in configs.items():
        metrics = json.loads((results / f"{key}.json").read_text())
        grid = 256 // config["downsample"]
        found.append({"key": key, "psi": f"{grid} × {grid}", **config,
                      "samples": metrics["samples"],
                      **{label: pick(metrics) for label, pick in COLUMNS}})
    return found


def table(found: list[dict]) -> str:
    lines = ["| ψ | persistence | " + " | ".join(label for label, _ in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for row in found:
        cells = [f"{row[label]['r2']:.3f} ({100 * row[label]['median_relative_error']:.1f} %)"
                 for label, _ in COLUMNS]
        lines.append(f"| {row['psi']} | {row['persistence']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figure(found: list[dict], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    by_k = sorted((r for r in found if r["persistence"] == 0.5), key=lambda r: r["downsample"])
    by_p = sorted((r for r in found if r["downsample"] == 8), key=lambda r: r["persistence"])
    for label, _ in COLUMNS:
        left.plot([r["downsample"] for r in by_k], [r[label]["r2"] for r in by_k], "o-",
                  label=label)
        right.plot([r["persistence"] for r in by_p], [r[label]["r2"] for r in by_p], "o-",
                   label=label)
    left.set_xscale("log")
    left.set_xticks([4, 8, 16], ["4 (ψ 64²)", "8 (ψ 32²)", "16 (ψ 16²)"])
    left.minorticks_off()
    left.set(xlabel="down-sampling factor k (persistence 0.5)", ylabel="test R²")
    right.set(xlabel="persistence (k = 8)")
    left.legend(fontsize=8)
    fig.suptitle("How much does coarse-graining hide?")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    results = Path(sys.argv[1])
    found = rows(results)
    figure(found, results / "coarse_graining.png")
    (results / "coarse_graining.md").write_text(table(found))
    if len(sys.argv) > 2:
        update_readme(Path(sys.argv[2]), table(found).rstrip(),
                      "<!-- coarse-graining:begin -->", "<!-- coarse-graining:end -->")
    print(table(found))


if __name__ == "__main__":
    main()
