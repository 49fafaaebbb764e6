"""``massfield predict``: one model's mass, σ and interval for every sample of a store."""

from __future__ import annotations

from pathlib import Path

import click

from ..console import user_errors
from .learning import load_tensorflow
from .options import MODELS_DIR, STORE, shift_option


@click.command()
@click.argument("model")
@click.option("--data", "data_dir", type=STORE, required=True,
              help="a store, a directory of shards or one shard file")
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="write a CSV (sample, mass, sigma, lower_90, upper_90) instead of printing")
@shift_option
@user_errors
def predict(model, data_dir, models_dir, out, allow_shift):
    """Print MODEL's mass, calibrated σ and 90 % interval for every sample in DATA (and
    every other hidden parameter of its task)."""
    load_tensorflow()
    from ..evaluate.predict import predict_rows, write_rows

    rows = predict_rows(model, data_dir, models_dir, allow_shift,
                        warn=lambda line: click.echo(f"warning: {line}", err=True))
    if out is not None:
        click.echo(f"wrote {write_rows(out, rows)} predictions to {out}")
        return
    first = next(rows)  # errors surface before the header
    others = [key for key in first if key.endswith("_lower_90")]  # a task's other parameters
    click.echo("sample  mass     ± sigma   90 % interval"
               + "".join(f"      {key[:-9]} ± sigma   90 % interval" for key in others))
    for row in (first, *rows):
        click.echo(f"{row['sample']:6d}  {row['mass']:.4f} ± {row['sigma']:.4f}   "
                   f"[{row['lower_90']:.4f}, {row['upper_90']:.4f}]"
                   + "".join(f"  {row[key[:-9]]:+.4f} ± {row[key[:-9] + '_sigma']:.4f}   "
                             f"[{row[key]:+.4f}, {row[key[:-9] + '_upper_90']:+.4f}]"
                             for key in others))
