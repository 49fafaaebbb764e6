"""The ``massfield`` command: generate, inspect, train, evaluate, predict, plot.

Every user mistake is one line on stderr naming the file or key and the fix, with a
non-zero exit (2 for parameters, 1 for data). TensorFlow is imported only by the
commands that need it.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from .config import DEFAULT_PARAMS, load_params
from .errors import MassfieldError

SHARDS = Path("data/shards")

params_option = click.option("--params", "params_file", type=click.Path(path_type=Path),
                             default=DEFAULT_PARAMS, show_default=True,
                             help="parameters file")
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                          help="override one parameter for this run, e.g. generate.n_samples=5000")


def user_errors(command):
    """Turn our exceptions into one line and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except MassfieldError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


@click.group()
@click.version_option(package_name="massfield")
def main():
    """massfield: infer a particle's mass from its trajectory through a random force field."""


@main.command()
@params_option
@click.option("--out", type=click.Path(path_type=Path), default=SHARDS, show_default=True,
              help="directory of the shard store")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Dask workers (default: all cores)")
@click.option("--scheduler", default="processes", show_default=True,
              envvar="DASK_SCHEDULER_ADDRESS",
              help="processes | threads | synchronous | tcp://HOST:PORT of a Dask cluster")
@set_option
@click.option("--overwrite", is_flag=True, help="replace a store made with other params")
@user_errors
def generate(params_file, out, workers, scheduler, overrides, overwrite):
    """Simulate samples and write seeded HDF5 shards, one Dask task per shard."""
    from .store.generate import generate_store

    params = load_params(params_file, overrides)
    bar = {}

    def on_plan(todo, total):
        click.echo(f"{out}: {total} shards, {total - todo} present and valid, {todo} to make",
                   err=True)
        bar["bar"] = click.progressbar(length=todo, label="shards", file=sys.stderr)

    def on_shard(entry):
        bar["bar"].update(1)

    manifest = generate_store(params, out, workers=workers, scheduler=scheduler,
                              overwrite=overwrite, on_shard=on_shard, on_plan=on_plan)
    if "bar" in bar:
        bar["bar"].render_finish()
    click.echo(f"{out}: {manifest['n_samples']} samples in {len(manifest['shards'])} shards")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path), default=SHARDS)
@click.option("--verify", is_flag=True, help="check checksums, schema, values; exit 1 on damage")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
              help="draw one sample (report figures 4 and 5) to this PNG")
@click.option("--sample", "sample_index", type=click.IntRange(min=0), default=0,
              show_default=True, help="which sample to --plot")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@user_errors
def inspect(directory, verify, plot_path, sample_index, as_json):
    """Summarise a shard store; --verify checks it, --plot draws a sample."""
    from .store.summary import read_sample, summarize_store, verify_store

    if verify:
        problems = verify_store(directory)
        for name, found in problems.items():
            click.echo(f"{Path(directory) / name}: {'; '.join(found)}")
        if problems:
            sys.exit(1)
        click.echo(f"{directory}: all shards verified")
        return
    if plot_path is not None:
        from .config import params_from_dict
        from .figures.samples import plot_sample

        summary = summarize_store(directory)
        physics = params_from_dict(summary["params"]).physics
        plot_sample(read_sample(directory, sample_index), physics, plot_path)
        click.echo(f"wrote {plot_path}")
        return
    summary = summarize_store(directory)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
    click.echo(f"store     {summary['directory']} (schema v{summary['schema_version']}, "
               f"{'manifest' if summary['has_manifest'] else 'no manifest'})")
    click.echo(f"shards    {summary['shards']}, samples {summary['samples']} ({splits})")
    click.echo(f"size      {summary['bytes'] / 1e6:.1f} MB, "
               f"{summary['bytes_per_sample'] / 1e3:.2f} kB per sample")
    click.echo(f"mass      {summary['mass_min']:.4f} … {summary['mass_max']:.4f}, "
               f"mean {summary['mass_mean']:.4f}")
    click.echo(f"redraws   {summary['redraws']} escaped particles redrawn")
    click.echo("params    " + json.dumps(summary["params"], sort_keys=True))


MODELS_DIR = Path("data/models")


@main.command()
@click.argument("model")
@params_option
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=SHARDS,
              show_default=True, help="shard store to train on")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True, help="where MODEL.keras and MODEL.history.json go")
@set_option
@user_errors
def train(model, params_file, data_dir, out_dir, overrides):
    """Train MODEL (dnn, cnn, rnn or crnn) on the train split, validating on validation."""
    from .learn.models import check_model_name

    check_model_name(model)
    params = load_params(params_file, overrides)
    from .learn.train import train_model

    train_model(model, params, data_dir, out_dir, log=lambda line: click.echo(line, err=True),
                verbose=True)


@main.command()
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=SHARDS,
              show_default=True,
              help="a store (its test split is used) or any directory of shards")
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True, help="where the trained MODEL.keras files are")
@click.option("--train-data", "train_dir", type=click.Path(path_type=Path), default=SHARDS,
              show_default=True, help="the store the models were trained on (its mean mass)")
@click.option("--metrics", "metrics_path", type=click.Path(path_type=Path),
              default=Path("data/metrics.json"), show_default=True)
@click.option("--predictions", "predictions_path", type=click.Path(path_type=Path),
              default=Path("data/predictions.csv"), show_default=True)
@click.option("--all-shards", is_flag=True,
              help="score every shard of --data, not only its test split")
@user_errors
def evaluate(data_dir, models_dir, train_dir, metrics_path, predictions_path, all_shards):
    """Score every trained model and the two baselines on held-out shards."""
    import pipeline.learn  # noqa: F401  (quiet TensorFlow before it loads)
    from .evaluate.run import evaluate as run_evaluation

    run_evaluation(data_dir, models_dir, metrics_path, predictions_path, train_dir,
                   all_shards=all_shards, log=lambda line: click.echo(line, err=True))
    click.echo(f"wrote {metrics_path} and {predictions_path}")


@main.command()
@click.argument("model")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True,
              help="any directory of shards in our schema")
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="write a CSV (sample, mass, sigma, lower_90, upper_90) instead of printing")
@user_errors
def predict(model, data_dir, models_dir, out):
    """Print MODEL's mass ± calibrated σ for every sample of the shards in DIR."""
    import pipeline.learn  # noqa: F401
    from .evaluate.predict import predict_directory

    table = predict_directory(model, data_dir, models_dir)
    if out is None:
        click.echo("sample  mass     ± sigma   90 % interval")
        for row in table:
            click.echo(f"{row['sample']:6d}  {row['mass']:.4f} ± {row['sigma']:.4f}   "
                       f"[{row['lower_90']:.4f}, {row['upper_90']:.4f}]")
        return
    from .evaluate.predict import write_table

    write_table(out, table)
    click.echo(f"wrote {len(table)} predictions to {out}")


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
    import pipeline.learn  # noqa: F401
    from .evaluate.repeat import repeat_training
    from .learn.models import check_model_name

    check_model_name(model)
    params = load_params(params_file, overrides)
    record = repeat_training(model, params, data_dir, out, repeats,
                             log=lambda line: click.echo(line, err=True))
    click.echo(f"{model} ({record['preset']}): R² median {record['median_r2']:.3f} over "
               f"{repeats} runs: {', '.join(f'{r:.3f}' for r in record['r2'])}")


@main.command()
@click.option("--metrics", "metrics_path", type=click.Path(path_type=Path),
              default=Path("data/metrics.json"), show_default=True)
@click.option("--predictions", "predictions_path", type=click.Path(path_type=Path),
              default=Path("data/predictions.csv"), show_default=True)
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=MODELS_DIR,
              show_default=True)
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=SHARDS,
              show_default=True, help="store to draw sample inputs from")
@click.option("--repeats", "repeats_dir", type=click.Path(path_type=Path),
              default=Path("data/repeats"), show_default=True,
              help="results of `massfield repeat`, for the R² distribution (figure 8)")
@click.option("--out", type=click.Path(path_type=Path), default=Path("data/plots"),
              show_default=True)
@params_option
@user_errors
def plot(metrics_path, predictions_path, models_dir, data_dir, repeats_dir, out, params_file):
    """Draw the report's figures from our data, models and metrics."""
    import pipeline.learn  # noqa: F401
    from .errors import DataError
    from .evaluate.run import read_predictions, trained_models
    from .figures.make import make_all, read_repeats
    from .learn.train import read_history

    try:
        metrics = json.loads(Path(metrics_path).read_text())
    except FileNotFoundError:
        raise DataError(f"{metrics_path}: missing; run `massfield evaluate` first") from None
    histories = {name: read_history(path.with_name(f"{name}.history.json"))
                 for name, path in trained_models(models_dir).items()}
    store = data_dir if (Path(data_dir) / "manifest.json").exists() else None
    made = make_all(metrics, read_predictions(predictions_path), histories, store,
                    load_params(params_file).physics, out,
                    read_repeats(repeats_dir) if Path(repeats_dir).exists() else None)
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
    from .errors import DataError
    from .evaluate.table import results_table, update_readme
    from .figures.make import read_repeats

    try:
        metrics = json.loads(Path(metrics_path).read_text())
    except FileNotFoundError:
        raise DataError(f"{metrics_path}: missing; run `dvc repro` or `massfield evaluate`") \
            from None
    optional = {path: json.loads(path.read_text()) if path.exists() else None
                for path in (Path(holdout_path), Path(every_step_path))}
    text = results_table(metrics, read_repeats(repeats_dir) if Path(repeats_dir).exists() else None,
                         optional[Path(holdout_path)], optional[Path(every_step_path)])
    if readme is None:
        click.echo(text)
    else:
        update_readme(readme, text)
        click.echo(f"updated the results table in {readme}")


if __name__ == "__main__":
    main()
