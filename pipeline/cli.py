"""The ``massfield`` command: generate, repair, inspect, train, evaluate, predict, plot.

A store describes itself: every command after ``generate`` takes physics and generation
facts from the store's manifest and shards, and params.yaml only for what the command
decides (``train.<model>``). TensorFlow is loaded only by the commands that need it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .config import DEFAULT_PARAMS, load_params
from .console import OneLineGroup, shard_text, store_text, user_errors

SHARDS = Path("data/shards")
MODELS_DIR = Path("data/models")

params_option = click.option("--params", "params_file", type=click.Path(path_type=Path),
                             default=DEFAULT_PARAMS, show_default=True,
                             help="parameters file")
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                          help="override one parameter for this run, e.g. generate.n_samples=5000")
workers_option = click.option("--workers", type=click.IntRange(min=1), default=None,
                              help="Dask workers (default: all cores)")
scheduler_option = click.option(
    "--scheduler", default="processes", show_default=True, envvar="DASK_SCHEDULER_ADDRESS",
    help="processes | threads | synchronous | tcp://HOST:PORT of a Dask cluster")
shift_option = click.option("--allow-shift", is_flag=True,
                            help="score models on stores whose field statistics differ from "
                                 "their training store's (the grid, snapshots, start and mass "
                                 "range must still match)")


def _load_tensorflow() -> None:
    from .learn import quiet_tensorflow

    quiet_tensorflow()


@click.group(cls=OneLineGroup)
@click.version_option(package_name="massfield")
def main():
    """massfield: infer a particle's mass from its trajectory through a random force field."""


def _generate(params, out, workers, scheduler, overwrite=False) -> dict:
    from .store.cluster import quiet_dask_logs
    from .store.generate import generate_store

    if scheduler != "synchronous":
        quiet_dask_logs()
    bar = {}

    def on_plan(todo, total):
        click.echo(f"{out}: {total} shards, {total - todo} present and valid, {todo} to make",
                   err=True)
        bar["bar"] = click.progressbar(length=todo, label="shards", file=sys.stderr)

    def on_note(note):
        click.echo(f"note: {note}", err=True)

    manifest = generate_store(params, out, workers=workers, scheduler=scheduler,
                              overwrite=overwrite, on_shard=lambda entry: bar["bar"].update(1),
                              on_plan=on_plan, on_note=on_note)
    if "bar" in bar:
        bar["bar"].render_finish()
    click.echo(f"{out}: {manifest['n_samples']} samples in {len(manifest['shards'])} shards")
    return manifest


@main.command()
@params_option
@click.option("--out", type=click.Path(path_type=Path), default=SHARDS, show_default=True,
              help="directory of the shard store")
@workers_option
@scheduler_option
@set_option
@click.option("--overwrite", is_flag=True, help="replace a store made with other params")
@user_errors
def generate(params_file, out, workers, scheduler, overrides, overwrite):
    """Simulate samples and write seeded HDF5 shards, one Dask task per shard."""
    _generate(load_params(params_file, overrides), out, workers, scheduler, overwrite)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@workers_option
@scheduler_option
@user_errors
def repair(directory, workers, scheduler):
    """Remake a store's missing or damaged shards and its manifest, with the params its
    shards carry (no params file needed)."""
    from .store.generate import store_params

    _generate(store_params(directory), directory, workers, scheduler)


@main.command()
@click.argument("location", type=click.Path(path_type=Path), default=SHARDS)
@click.option("--verify", is_flag=True, help="check checksums, schema, values; exit 1 on damage")
@click.option("--resimulate", type=click.IntRange(min=0), default=0, metavar="N",
              help="with --verify: remake the first N samples of each shard and compare")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
              help="draw one sample (report figures 4 and 5) to this PNG")
@click.option("--sample", "sample_index", type=click.IntRange(min=0), default=0,
              show_default=True, help="which sample to --plot")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@user_errors
def inspect(location, verify, resimulate, plot_path, sample_index, as_json):
    """Summarise a shard store or one shard file; --verify checks it, --plot draws a sample."""
    from .store import summary

    if verify:
        problems, line = summary.verify_location(location, resimulate)
        for name, found in problems.items():
            click.echo(f"{Path(location) / name if Path(location).is_dir() else location}: "
                       f"{'; '.join(found)}")
        fix = (f"remake them with `massfield repair {location}`" if Path(location).is_dir()
               else "remake its store with `massfield repair DIR`")
        click.echo(line + ("" if not problems else f"; {len(problems)} with problems: {fix}"))
        if problems:
            sys.exit(1)
        return
    if plot_path is not None:
        _plot_sample(location, sample_index, plot_path)
        return
    found = (summary.describe_shard(location) if Path(location).is_file()
             else summary.summarize_store(location))
    if as_json:
        click.echo(json.dumps(found, indent=2))
    else:
        click.echo(shard_text(found) if Path(location).is_file() else store_text(found))


def _plot_sample(location: Path, index: int, path: Path) -> None:
    from .config import params_from_dict
    from .figures.samples import plot_sample
    from .store.reader import shard_files, shard_params
    from .store.summary import read_sample

    sample = read_sample(location, index)
    physics = params_from_dict(shard_params(shard_files(location)[0])).physics
    plot_sample(sample, physics, path)
    click.echo(f"wrote {path}")


@main.command()
@click.argument("model")
@params_option
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=SHARDS,
              show_default=True, help="shard store to train on (its physics is used)")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True, help="where MODEL.keras and MODEL.history.json go")
@set_option
@user_errors
def train(model, params_file, data_dir, out_dir, overrides):
    """Train MODEL (dnn, cnn, rnn or crnn) on the train split, validating on validation."""
    _load_tensorflow()
    from .learn.models import check_model_name
    from .learn.train import train_model, with_store_params

    check_model_name(model)

    params = with_store_params(load_params(params_file, overrides), data_dir, overrides)
    train_model(model, params, data_dir, out_dir, log=lambda line: click.echo(line, err=True),
                verbose=True)


@main.command()
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=SHARDS,
              show_default=True,
              help="a store (its test split), a directory of shards or one shard file")
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True, help="where the trained MODEL.keras files are")
@click.option("--metrics", "metrics_path", type=click.Path(path_type=Path),
              default=Path("data/metrics.json"), show_default=True)
@click.option("--predictions", "predictions_path", type=click.Path(path_type=Path),
              default=Path("data/predictions.csv"), show_default=True)
@click.option("--all-shards", is_flag=True,
              help="score every shard of --data, not only its test split")
@shift_option
@user_errors
def evaluate(data_dir, models_dir, metrics_path, predictions_path, all_shards, allow_shift):
    """Score every trained model and the two baselines on held-out shards."""
    _load_tensorflow()
    from .evaluate.run import evaluate as run_evaluation

    run_evaluation(data_dir, models_dir, metrics_path, predictions_path, all_shards=all_shards,
                   allow_shift=allow_shift, log=lambda line: click.echo(line, err=True))
    click.echo(f"wrote {metrics_path} and {predictions_path}")


@main.command()
@click.argument("model")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True,
              help="a store, a directory of shards or one shard file")
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="write a CSV (sample, mass, sigma, lower_90, upper_90) instead of printing")
@shift_option
@user_errors
def predict(model, data_dir, models_dir, out, allow_shift):
    """Print MODEL's mass, calibrated σ and 90 % interval for every sample in DATA."""
    _load_tensorflow()
    from .evaluate.predict import predict_rows, write_rows

    rows = predict_rows(model, data_dir, models_dir, allow_shift)
    if out is not None:
        click.echo(f"wrote {write_rows(out, rows)} predictions to {out}")
        return
    first = next(rows)  # errors surface before the header
    click.echo("sample  mass     ± sigma   90 % interval")
    for row in (first, *rows):
        click.echo(f"{row['sample']:6d}  {row['mass']:.4f} ± {row['sigma']:.4f}   "
                   f"[{row['lower_90']:.4f}, {row['upper_90']:.4f}]")


@main.command()
@click.argument("model")
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
@params_option
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=SHARDS,
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("data/repeats"),
              show_default=True)
@set_option
@user_errors
def repeat(model, repeats, params_file, data_dir, out, overrides):
    """Train MODEL N times (seeds seed … seed+N−1); R² on test of each (report figure 8)."""
    _load_tensorflow()
    from .evaluate.repeat import repeat_training
    from .learn.models import check_model_name
    from .learn.train import with_store_params

    check_model_name(model)
    params = with_store_params(load_params(params_file, overrides), data_dir, overrides)
    record = repeat_training(model, params, data_dir, out, repeats,
                             log=lambda line: click.echo(line, err=True))
    click.echo(f"{model} ({record['preset']}): R² median {record['median_r2']:.3f} over "
               f"{repeats} runs: {', '.join(f'{r:.3f}' for r in record['r2'])}")


def _read_json(path: Path, fix: str) -> dict:
    from .errors import DataError

    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: missing; {fix}") from None
    except (OSError, ValueError):
        raise DataError(f"{path}: damaged (not JSON); {fix}") from None


@main.command()
@click.option("--metrics", "metrics_path", type=click.Path(path_type=Path),
              default=Path("data/metrics.json"), show_default=True)
@click.option("--predictions", "predictions_path", type=click.Path(path_type=Path),
              default=Path("data/predictions.csv"), show_default=True)
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True)
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=SHARDS,
              show_default=True, help="the store the models were scored on (its physics)")
@click.option("--repeats", "repeats_dir", type=click.Path(path_type=Path),
              default=Path("data/repeats"), show_default=True,
              help="results of `massfield repeat`, for the R² distribution (figure 8)")
@click.option("--out", type=click.Path(path_type=Path), default=Path("data/plots"),
              show_default=True)
@user_errors
def plot(metrics_path, predictions_path, models_dir, data_dir, repeats_dir, out):
    """Draw the report's figures from our data, models and metrics."""
    _load_tensorflow()
    from .config import params_from_dict
    from .evaluate.repeat import read_repeats
    from .evaluate.run import read_predictions, trained_models
    from .evaluate.table import check_metrics
    from .figures.make import make_all
    from .learn.train import read_history
    from .store.reader import shard_files, shard_params

    metrics = check_metrics(_read_json(metrics_path, "run `massfield evaluate` first"),
                            metrics_path)
    histories = {key: read_history(path.with_name(f"{path.stem}.history.json"))
                 for key, path in trained_models(models_dir).items()}
    physics = params_from_dict(shard_params(shard_files(data_dir)[0])).physics
    made = make_all(metrics, read_predictions(predictions_path), histories, data_dir, physics,
                    out, read_repeats(repeats_dir) if Path(repeats_dir).exists() else None)
    click.echo(f"wrote {len(made)} figures to {out}")


@main.command()
@click.option("--metrics", "metrics_path", type=click.Path(path_type=Path),
              default=Path("data/metrics.json"), show_default=True)
@click.option("--repeats", "repeats_dir", type=click.Path(path_type=Path),
              default=Path("data/repeats"), show_default=True)
@click.option("--holdout", "holdout_path", type=click.Path(path_type=Path),
              default=Path("data/metrics_holdout.json"), show_default=True,
              help="metrics on a store of another seed, if present")
@click.option("--every-step", "every_step_path", type=click.Path(path_type=Path),
              default=Path("data/metrics_every_step.json"), show_default=True,
              help="metrics of recurrent models trained with a loss at every step, if present")
@click.option("--readme", type=click.Path(path_type=Path), default=None,
              help="replace the table between the results markers of this file")
@user_errors
def table(metrics_path, repeats_dir, holdout_path, every_step_path, readme):
    """The results table (Markdown) from metrics.json, beside the report's Table 1."""
    from .evaluate.repeat import read_repeats
    from .evaluate.table import check_metrics, results_table, update_readme

    metrics = check_metrics(_read_json(metrics_path, "run `dvc repro` or `massfield evaluate`"),
                            metrics_path)
    optional = {path: check_metrics(_read_json(path, "re-run `dvc repro`"), path)
                if path.exists() else None for path in (Path(holdout_path), Path(every_step_path))}
    text = results_table(metrics, read_repeats(repeats_dir) if Path(repeats_dir).exists() else None,
                         optional[Path(holdout_path)], optional[Path(every_step_path)])
    if readme is None:
        click.echo(text)
    else:
        update_readme(readme, text)
        click.echo(f"updated the results table in {readme}")


if __name__ == "__main__":
    main()
