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


if __name__ == "__main__":
    main()
