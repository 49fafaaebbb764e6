"""Options and defaults that several commands share."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import DEFAULT_PARAMS

SHARDS = Path("data/shards")


class StoreLocation(click.ParamType):
    """A store's directory (a Path) or URL (a str: s3://, gs://, az://, memory://); a
    ``file://`` URL is a directory."""

    name = "DIR|URL"

    def convert(self, value, param, ctx):
        from ..store.url import location_of

        return location_of(value)


STORE = StoreLocation()
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

