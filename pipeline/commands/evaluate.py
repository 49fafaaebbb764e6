"""``massfield evaluate``: every trained model and the baselines on held-out shards."""

from __future__ import annotations

from pathlib import Path

import click

from ..console import user_errors
from .learning import load_tensorflow
from .options import MODELS_DIR, SHARDS, STORE, shift_option


@click.command()
@click.option("--data", "data_dir", type=STORE, default=SHARDS,
              show_default=True,
              help="a store (its test split), a directory of shards or one shard file")
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True, help="where the trained MODEL.keras files are")
@click.option("--metrics", "metrics_path", type=click.Path(path_type=Path),
              default=Path("data/metrics.json"), show_default=True)
@click.option("--predictions", "predictions_path", type=click.Path(path_type=Path),
              default=Path("data/predictions.csv"), show_default=True)
@click.option("--scores", "scores_dir", type=click.Path(path_type=Path), default=None,
              help="also write DIR/PREDICTOR.json with each model's and baseline's headline "
                   "scalars (the pipeline's DVC metrics)")
@click.option("--only", default=None, metavar="PATTERNS",
              help="score only the models whose names (as in metrics.json: their folders "
                   "under --models joined by '-') match these comma-separated patterns, "
                   "e.g. 'crnn,rnn' or 'pos-*'")
@click.option("--all-shards", is_flag=True,
              help="score every shard of --data, not only its test split")
@click.option("--holdout", "holdout_dir", type=STORE, default=None,
              help="also score every shard of this store (another seed's), in the same run: "
                   "its files are --metrics, --scores and --predictions with '_holdout' "
                   "added to their names")
@shift_option
@user_errors
def evaluate(data_dir, models_dir, metrics_path, predictions_path, scores_dir, only, all_shards,
             holdout_dir, allow_shift):
    """Score every trained model and the two baselines on held-out shards."""
    load_tensorflow()
    from ..evaluate.run import evaluate_scorings, scorings_of

    scorings = scorings_of(data_dir, metrics_path, predictions_path, all_shards, scores_dir,
                           holdout_dir)
    evaluate_scorings(scorings, models_dir, allow_shift,
                      log=lambda line: click.echo(line, err=True), only=only)
    click.echo(f"wrote {', '.join(name for scoring in scorings for name in scoring.written())}")
