"""``massfield inspect``: summarise, verify or draw a store or one shard."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..console import shard_text, store_text, user_errors
from .learning import require_learn
from .options import SHARDS, STORE


@click.command()
@click.argument("location", type=STORE, default=SHARDS)
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
    """Summarise a shard store (a directory or URL) or one shard file; --verify checks it,
    --plot draws a sample."""
    from ..store.mirror import named_as
    from ..store.store import Store
    from ..store.url import is_url

    if not is_url(location):
        return _inspect(location, verify, resimulate, plot_path, sample_index, as_json,
                        click.echo)
    url, store = location, Store.open(location)
    mirror = store.directory
    with named_as(url, mirror):
        store.files()  # every shard fetched (and checked against the manifest) into the mirror
        return _inspect(mirror, verify, resimulate, plot_path, sample_index, as_json,
                        lambda text="": click.echo(str(text).replace(str(mirror), url)))


def _inspect(location, verify, resimulate, plot_path, sample_index, as_json, echo):
    from ..store import summary

    if verify:
        problems, line = summary.verify_location(location, resimulate)
        for name, found in problems.items():
            echo(f"{Path(location) / name if Path(location).is_dir() else location}: "
                 f"{'; '.join(found)}")
        fix = (f"remake them with `massfield repair {location}`" if Path(location).is_dir()
               else "remake its store with `massfield repair DIR`")
        echo(line + ("" if not problems else f"; {len(problems)} with problems: {fix}"))
        if problems:
            sys.exit(1)
        return
    if plot_path is not None:
        require_learn()
        plot_sample_png(location, sample_index, plot_path)
        return
    found = (summary.describe_shard(location) if Path(location).is_file()
             else summary.summarize_store(location))
    if as_json:
        echo(json.dumps(found, indent=2))
    else:
        echo(shard_text(found) if Path(location).is_file() else store_text(found))


def plot_sample_png(location: Path, index: int, path: Path) -> None:
    from ..figures.common import headless
    from ..figures.samples import plot_sample
    from ..store.reader import location_physics
    from ..store.summary import read_sample

    headless()
    sample = read_sample(location, index)
    physics = location_physics(location)
    plot_sample(sample, physics, path)
    click.echo(f"wrote {path}")
