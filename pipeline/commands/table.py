"""``massfield table``: the README's results tables, from evaluate's files."""

from __future__ import annotations

from pathlib import Path

import click

from ..console import user_errors
from .learning import require_learn


@click.command()
@click.option("--metrics", "metrics_path", type=click.Path(path_type=Path),
              default=Path("data/metrics.json"), show_default=True)
@click.option("--repeats", "repeats_dir", type=click.Path(path_type=Path),
              default=Path("data/repeats"), show_default=True)
@click.option("--holdout", "holdout_path", type=click.Path(path_type=Path),
              default=Path("data/metrics_holdout.json"), show_default=True,
              help="metrics on a store of another seed, if present")
@click.option("--readme", type=click.Path(path_type=Path), default=None,
              help="replace the table between the results markers of this file")
@user_errors
def table(metrics_path, repeats_dir, holdout_path, readme):
    """The results table (Markdown) from metrics.json, beside the report's Table 1."""
    require_learn()
    from ..evaluate.metrics_record import Metrics
    from ..evaluate.table import results_table, update_readme
    from ..learn.repeat import read_repeats

    metrics = Metrics.read(metrics_path, "run `dvc repro` or `massfield evaluate`")
    holdout = (Metrics.read(holdout_path, "re-run `dvc repro`") if Path(holdout_path).exists()
               else None)
    text = results_table(metrics, read_repeats(repeats_dir) if Path(repeats_dir).exists() else None,
                         holdout)
    if readme is None:
        click.echo(text)
    else:
        update_readme(readme, text)
        click.echo(f"updated the results table in {readme}")
