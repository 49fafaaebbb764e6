"""``massfield generate`` and ``massfield repair``: make, resume, grow or mend a store."""

from __future__ import annotations

import sys

import click

from ..config import load_params
from ..console import user_errors
from .options import SHARDS, STORE, params_option, scheduler_option, set_option, workers_option


def run_generate(params, out, workers, scheduler, overwrite=False) -> None:
    """Generate with a progress bar. A stop signal only sets a flag, checked between
    shards (a Dask run checks its own): raised at an arbitrary point, inside a library's
    own code (OmegaConf's, seen under load), it could come out as that library's error."""
    from ..interrupts import stop_signals_flag
    from ..store.cluster import quiet_dask_logs
    from ..store.generate import generate_store
    from ..store.store import Store

    if scheduler != "synchronous":
        quiet_dask_logs()
    bar = {}

    with stop_signals_flag() as stop:
        def on_plan(todo, total):
            stop.check()
            click.echo(f"{out}: {total} shards, {total - todo} present and valid, {todo} to "
                       f"make", err=True)
            bar["bar"] = click.progressbar(length=todo, label="shards", file=sys.stderr)

        def on_shard(entry):
            bar["bar"].update(1)
            stop.check()

        def on_note(note):
            click.echo(f"note: {note}", err=True)

        generate_store(params, out, workers=workers, scheduler=scheduler, overwrite=overwrite,
                       on_shard=on_shard, on_plan=on_plan, on_note=on_note)
        stop.check()
    store = Store.open(out)  # what massfield.generate returns
    if "bar" in bar:
        bar["bar"].render_finish()
    click.echo(f"{out}: {store.n_samples} samples in {len(store.shards)} shards")


@click.command()
@params_option
@click.option("--out", type=STORE, default=SHARDS, show_default=True,
              help="directory of the shard store")
@workers_option
@scheduler_option
@set_option
@click.option("--overwrite", is_flag=True, help="replace a store made with other params")
@user_errors
def generate(params_file, out, workers, scheduler, overrides, overwrite):
    """Simulate samples and write seeded HDF5 shards, one Dask task per shard."""
    run_generate(load_params(params_file, overrides), out, workers, scheduler, overwrite)


@click.command()
@click.argument("directory", type=STORE)
@workers_option
@scheduler_option
@user_errors
def repair(directory, workers, scheduler):
    """Remake a store's missing or damaged shards and its manifest, with the params its
    shards carry (no params file needed)."""
    from ..store.generate import store_params

    run_generate(store_params(directory), directory, workers, scheduler)
