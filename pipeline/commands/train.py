"""``massfield train``: fit one model on a store's train split."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import load_params
from ..console import user_errors
from .learning import load_tensorflow
from .options import MODELS_DIR, SHARDS, STORE, params_option, set_option


@click.command()
@click.argument("model")
@params_option
@click.option("--data", "data_dir", type=STORE, default=SHARDS,
              show_default=True, help="shard store to train on (its physics is used)")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True, help="where MODEL.keras and MODEL.history.json go")
@set_option
@user_errors
def train(model, params_file, data_dir, out_dir, overrides):
    """Train MODEL (dnn, cnn, rnn or crnn) on the train split, validating on validation."""
    load_tensorflow()
    from ..learn.models import check_model_name
    from ..learn.train import train_model, with_store_params
    from ..store.store import Store

    check_model_name(model)
    store = Store.open(data_dir)  # the one read of its manifest this command makes
    params = with_store_params(load_params(params_file, overrides), store, overrides)
    train_model(model, params, store, out_dir, log=lambda line: click.echo(line, err=True),
                verbose=True)
