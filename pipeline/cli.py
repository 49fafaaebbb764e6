"""The ``massfield`` command: generate, repair, inspect, train, evaluate, predict, repeat,
plot, table.

A store describes itself: every command after ``generate`` takes physics and generation
facts from the store's manifest and shards, and params.yaml only for what the command
decides (``train.<model>``). Each command lives in its own module of
:mod:`pipeline.commands`, imported only when that command runs: TensorFlow is loaded only
by the commands that need it (and those say which extra to install when it is missing),
and a DVC stage depends on its command's code alone.
"""

from __future__ import annotations

import importlib

import click

from .console import OneLineGroup

# command → the module of pipeline.commands that defines it
COMMANDS = {"generate": "generate", "repair": "generate", "inspect": "inspect",
            "train": "train", "evaluate": "evaluate", "predict": "predict",
            "repeat": "repeat", "plot": "plot", "table": "table"}


class LazyGroup(OneLineGroup):
    """Commands imported on first use, from their own modules."""

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str):
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(f"pipeline.commands.{COMMANDS[name]}"), name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="massfield")
def main():
    """massfield: infer a particle's mass from its trajectory through a random force field."""


if __name__ == "__main__":
    main()
