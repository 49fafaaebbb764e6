"""The README's results table, made from metrics.json (never typed by hand)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import DataError
from .run import REPORT_TABLE_1

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
NAMES = {"dnn": "DNN", "cnn": "CNN", "rnn": "RNN", "crnn": "CRNN"}


def results_table(metrics: dict, repeats: dict | None = None, holdout: dict | None = None,
                  every_step: dict | None = None) -> str:
    lines = [f"Held-out samples: {metrics['samples']} ({metrics['scope']}).", "",
             "| model | report R² (Table 1) | our R² | Pearson | MAE | median rel. error "
             "| 90 % coverage | NLL | train time |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, label in NAMES.items():
        m = metrics["models"].get(name)
        if m is None:
            continue
        lines.append(f"| {label} ({m['preset']}) | {REPORT_TABLE_1[name]:.3f} | **{m['r2']:.3f}** "
                     f"| {m['pearson']:.3f} | {m['mae']:.4f} "
                     f"| {100 * m['median_relative_error']:.1f} % "
                     f"| {m['coverage_90']:.3f} | {m['nll']:.2f} | {m['train_seconds']:.0f} s |")
    for key, label in (("physics_inversion", "physics inversion (no learning)"),
                       ("predict_the_mean", "predict the mean")):
        b = metrics["baselines"][key]
        pearson = "–" if b["pearson"] != b["pearson"] else f"{b['pearson']:.3f}"
        lines.append(f"| {label} | – | {b['r2']:.3f} | {pearson} | {b['mae']:.4f} "
                     f"| {100 * b['median_relative_error']:.1f} % | – | – | – |")
    if holdout:
        lines += ["", f"Generalisation: {holdout['samples']} samples of a store generated with "
                  "another `generate.seed` (`evaluate.holdout_seed`):", "",
                  "| model | R² | 90 % coverage |", "|---|---|---|"]
        for name, m in holdout["models"].items():
            lines.append(f"| {NAMES[name]} | {m['r2']:.3f} | {m['coverage_90']:.3f} |")
        b = holdout["baselines"]["physics_inversion"]
        lines.append(f"| physics inversion | {b['r2']:.3f} | – |")
    curves = {f"{NAMES[n]}": m["r2_per_step"] for n, m in metrics["models"].items()
              if "r2_per_step" in m}
    if every_step:
        curves.update({f"{NAMES[n]}, loss at every step": m["r2_per_step"]
                       for n, m in every_step["models"].items() if "r2_per_step" in m})
    if curves:
        steps = len(next(iter(curves.values())))
        lines += ["", "R² of the prediction after t snapshots:", "",
                  "| model | " + " | ".join(f"t={t}" for t in range(1, steps + 1)) + " |",
                  "|---|" + "---|" * steps]
        for label, values in curves.items():
            lines.append(f"| {label} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    if repeats:
        lines += ["", "Repeated runs (`massfield repeat`), R² on the test split:", "",
                  "| model (preset) | runs | median R² | report | within ±0.1 | all runs |",
                  "|---|---|---|---|---|---|"]
        for key, values in repeats.items():
            name, preset = key.split(":")
            median = float(np.median(values))
            within = "yes" if abs(median - REPORT_TABLE_1[name]) <= 0.1 else "no"
            lines.append(f"| {NAMES[name]} ({preset}) | {len(values)} | {median:.3f} | "
                         f"{REPORT_TABLE_1[name]:.3f} | {within} | "
                         + ", ".join(f"{v:.3f}" for v in values) + " |")
    return "\n".join(lines)


def update_readme(readme: Path, table: str) -> None:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise DataError(f"{readme}: no {BEGIN} … {END} markers to put the table between")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{table}\n{END}", text))
