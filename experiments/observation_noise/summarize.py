"""The observation-noise sweep's tables and figure, from each store's metrics.

    python summarize.py results             (run by the `summarize` stage)
    python summarize.py results ../../docs/results.md   (also docs/results.md's tables)

Models are keyed LEVEL-MODEL (trained on store LEVEL); each store's metrics hold every
model of its kind scored on it, so a store's own models are the diagonal of the matrix.
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

MODELS = {"crnn": "CRNN", "rnn": "RNN", "cnn": "CNN + scan + fit", "dnn": "DNN + scan + fit"}
PHYSICS = "physics inversion"
HONEST = (0.87, 0.93)  # 90 % coverage wanted in each third of the mass range
FLOOR = 0.6  # lowest R² drawn; lower ones are drawn on it, with their value


def load(results: Path) -> tuple[dict, dict]:
    stores = yaml.safe_load((results.parent / "params.yaml").read_text())["stores"]
    return stores, {key: json.loads((results / f"{key}.json").read_text()) for key in stores}


def kind(store: dict) -> str:
    return "ψ" if store["potential_noise"] > 0 else "positions" if store[
        "position_noise"] > 0 else "none"


def label(key: str, store: dict) -> str:
    if kind(store) == "none":
        return "exact"
    if kind(store) == "positions":
        return f"positions σ = {store['position_noise']:g} px"
    return f"ψ σ = {store['potential_noise']:g}"


def own(metrics: dict, key: str, model: str) -> dict:
    return metrics[key]["models"][f"{key}-{model}"]


def best_learned(metrics: dict, key: str) -> tuple[str, float]:
    r2 = {model: own(metrics, key, model)["r2"] for model in MODELS}
    best = max(r2, key=r2.get)
    return best, r2[best]


def accuracy_table(stores: dict, metrics: dict) -> str:
    lines = ["| observation (models trained on it) | " + " | ".join(MODELS.values())
             + f" | {PHYSICS} |", "|---|" + "---|" * (len(MODELS) + 1)]
    for key, store in stores.items():
        cells = [own(metrics, key, model) for model in MODELS]
        cells.append(metrics[key]["baselines"]["physics_inversion"])
        lines.append(f"| {label(key, store)} | " + " | ".join(
            f"{c['r2']:.3f} ({100 * c['median_relative_error']:.1f} %)" for c in cells) + " |")
    return "\n".join(lines)


def coverage_table(stores: dict, metrics: dict) -> str:
    lines = ["| observation | " + " | ".join(MODELS.values()) + " |",
             "|---|" + "---|" * len(MODELS)]
    for key, store in stores.items():
        cells = ["/".join(f"{c:.2f}" for c in own(metrics, key, model)[
            "coverage_90_by_tercile"]) for model in MODELS]
        lines.append(f"| {label(key, store)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def checks(stores: dict, metrics: dict) -> list[str]:
    """Per level: are the intervals honest in every third, does learning beat physics?"""
    lines = []
    for key, store in stores.items():
        thirds = [c for model in MODELS
                  for c in own(metrics, key, model)["coverage_90_by_tercile"]]
        model, r2 = best_learned(metrics, key)
        physics = metrics[key]["baselines"]["physics_inversion"]["r2"]
        honest = HONEST[0] <= min(thirds) and max(thirds) <= HONEST[1]
        lines.append(f"- {label(key, store)}: coverage by third {min(thirds):.3f}–"
                     f"{max(thirds):.3f} ({'within' if honest else 'OUTSIDE'} "
                     f"{HONEST[0]}–{HONEST[1]}); best learned {MODELS[model]} R² {r2:.3f} "
                     f"{'≥' if r2 >= physics else '<'} physics {physics:.3f}")
    return lines


def matrix(stores: dict, metrics: dict) -> str:
    """Every model scored at every level of its kind: R² (90 % coverage)."""
    out = []
    for group in ("positions", "ψ"):
        keys = [k for k, s in stores.items() if kind(s) in ("none", group)]
        for model, name in MODELS.items():
            out += [f"\n{name}, noise on {group} — rows: trained on, columns: scored on "
                    "(R², 90 % coverage)\n", "| trained \\ scored | " + " | ".join(
                        label(k, stores[k]) for k in keys) + " |", "|---|" + "---|" * len(keys)]
            for trained in keys:
                cells = []
                for scored in keys:
                    m = metrics[scored]["models"][f"{trained}-{model}"]
                    cells.append(f"{m['r2']:.3f} ({m['coverage_90']:.2f})")
                out.append(f"| {label(trained, stores[trained])} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def figure(stores: dict, metrics: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, group, noise, unit in ((axes[0], "positions", "position_noise", "px"),
                                     (axes[1], "ψ", "potential_noise", "")):
        keys = sorted((k for k, s in stores.items() if kind(s) in ("none", group)),
                      key=lambda k: stores[k][noise])
        x = [stores[k][noise] for k in keys]
        for i, (model, name) in enumerate(MODELS.items()):
            colour = f"C{i}"
            axis.plot(x, [own(metrics, k, model)["r2"] for k in keys], "o-", color=colour,
                      label=f"{name}, trained at the level")
            untrained = [metrics[k]["models"][f"exact-{model}"]["r2"] for k in keys]
            axis.plot(x, [max(r2, FLOOR) for r2 in untrained], "x:", color=colour, alpha=0.7,
                      label=f"{name}, trained on exact data")
            for value, r2 in zip(x, untrained, strict=True):  # off the scale: say the value
                if r2 < FLOOR:
                    axis.annotate(f"{r2:.2f}", (value, FLOOR), textcoords="offset points",
                                  xytext=(4, 4 + 9 * i), fontsize=7, color=colour)
        axis.plot(x, [metrics[k]["baselines"]["physics_inversion"]["r2"] for k in keys],
                  "s--", color="black", label=PHYSICS)
        axis.set_xscale("symlog", linthresh=min(v for v in x if v > 0))
        axis.set(xlabel=f"noise σ on the observed {group}" + (f" ({unit})" if unit else ""))
        axis.set_ylim(FLOOR - 0.01, 1.0)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("test R²")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("What observation noise costs")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def doc_tables(stores: dict, metrics: dict) -> str:
    """The tables docs/results.md shows: accuracy, then coverage by mass third."""
    return (accuracy_table(stores, metrics) + "\n\n90 % coverage in each third of the mass "
            "range (light/middle/heavy), models at their own level:\n\n"
            + coverage_table(stores, metrics))


def main() -> None:
    results = Path(sys.argv[1])
    stores, metrics = load(results)
    figure(stores, metrics, results / "observation_noise.png")
    tables = doc_tables(stores, metrics)
    text = (tables + "\n\n" + "\n".join(checks(stores, metrics)) + "\n"
            + matrix(stores, metrics) + "\n")
    (results / "observation_noise.md").write_text(text)
    if len(sys.argv) > 2:
        update_readme(Path(sys.argv[2]), tables, "<!-- observation-noise:begin -->",
                      "<!-- observation-noise:end -->")
    print(text)


if __name__ == "__main__":
    main()
