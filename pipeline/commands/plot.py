"""``massfield plot``: the report's figures and ours, from evaluate's files."""

from __future__ import annotations

from pathlib import Path

import click

from ..console import user_errors
from .learning import load_tensorflow
from .options import MODELS_DIR, SHARDS, STORE


@click.command()
@click.option("--metrics", "metrics_path", type=click.Path(path_type=Path),
              default=Path("data/metrics.json"), show_default=True)
@click.option("--predictions", "predictions_path", type=click.Path(path_type=Path),
              default=Path("data/predictions.csv"), show_default=True)
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True)
@click.option("--data", "data_dir", type=STORE, default=SHARDS,
              show_default=True, help="the store the models were scored on (its physics)")
@click.option("--repeats", "repeats_dir", type=click.Path(path_type=Path),
              default=Path("data/repeats"), show_default=True,
              help="results of `massfield repeat`, for the R² distribution (figure 8)")
@click.option("--out", type=click.Path(path_type=Path), default=Path("data/plots"),
              show_default=True)
@user_errors
def plot(metrics_path, predictions_path, models_dir, data_dir, repeats_dir, out):
    """Draw the report's figures from our data, models and metrics."""
    load_tensorflow()
    from ..evaluate.metrics_record import Metrics
    from ..evaluate.run import read_predictions, trained_models
    from ..figures.common import headless
    from ..figures.make import make_all
    from ..learn.record import TrainingRecord
    from ..learn.repeat import read_repeats
    from ..store.reader import location_physics

    headless()
    metrics = Metrics.read(metrics_path, "run `massfield evaluate` first")
    histories = {key: TrainingRecord.read(path.with_name(f"{path.stem}.history.json"))
                 for key, path in trained_models(models_dir).items()}
    physics = location_physics(data_dir)
    made = make_all(metrics, read_predictions(predictions_path), histories, data_dir, physics,
                    out, read_repeats(repeats_dir) if Path(repeats_dir).exists() else None)
    click.echo(f"wrote {len(made)} figures to {out}")
