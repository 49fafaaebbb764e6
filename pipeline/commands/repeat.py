"""``massfield repeat``: train one model N times and record each run's test R²."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import load_params
from ..console import user_errors
from .learning import load_tensorflow
from .options import SHARDS, STORE, params_option, set_option


@click.command()
@click.argument("model")
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
@params_option
@click.option("--data", "data_dir", type=STORE, default=SHARDS,
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("data/repeats"),
              show_default=True)
@set_option
@user_errors
def repeat(model, repeats, params_file, data_dir, out, overrides):
    """Train MODEL N times (seeds seed … seed+N−1); R² on test of each (report figure 8)."""
    load_tensorflow()
    from ..learn.models import check_model_name
    from ..learn.repeat import repeat_training
    from ..learn.train import with_store_params
    from ..store.store import Store

    check_model_name(model)
    store = Store.open(data_dir)
    params = with_store_params(load_params(params_file, overrides), store, overrides)
    record = repeat_training(model, params, store, out, repeats,
                             log=lambda line: click.echo(line, err=True))
    click.echo(f"{model} ({record['preset']}): R² median {record['median_r2']:.3f} over "
               f"{repeats} runs: {', '.join(f'{r:.3f}' for r in record['r2'])}")
