"""A store as one value: its manifest read and checked once, its shards checked on use.

``Store.open(location)`` parses ``manifest.json`` once and holds what every reader asks
for — the validated params, typed shard entries, the splits, the train statistics and the
checked file list of each split — so that a caller passes the store, not its path. A
location is a directory or a URL (url.py); a store in object storage is read through its
local mirror (mirror.py), each shard fetched when a split that holds it is first asked for.
"""

from __future__ import annotations

import contextlib
import dataclasses
from functools import cached_property
from pathlib import Path

from ..config import Params, params_from_dict
from ..errors import ConfigError, DataError
from ..tasks import task_of
from .integrity import check_against_entry, remember
from .manifest import MANIFEST, read_manifest, train_statistics
from .mirror import fetch_shards, named_as, open_mirror
from .schema import SPLITS
from .url import is_url, location_of


@dataclasses.dataclass(frozen=True)
class ShardEntry:
    """One shard as the manifest records it."""

    index: int
    file: str
    n_samples: int
    split: str
    sha256: str
    content_sha256: str
    bytes: int

    @classmethod
    def from_record(cls, record: dict) -> ShardEntry:
        return cls(**{field.name: record[field.name] for field in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class Store:
    """A complete shard store (checked manifest; shards checked when their files are asked
    for, once per file version and process)."""

    directory: Path
    params: Params
    shards: tuple[ShardEntry, ...]
    manifest: dict = dataclasses.field(repr=False, compare=False)
    origin: str | None = None  # the URL of a store in object storage (directory: its mirror)

    @classmethod
    def open(cls, location: str | Path) -> Store:
        location = location_of(location)
        origin = location if is_url(location) else None
        directory = open_mirror(origin) if origin else location
        with named_as(origin, directory) if origin else contextlib.nullcontext():
            manifest = read_manifest(directory)
            params = params_from_dict(manifest["params"], f"{directory}/{MANIFEST}")
        return cls(directory, params, tuple(ShardEntry.from_record(r)
                                            for r in manifest["shards"]), manifest, origin)

    @property
    def name(self) -> str:
        """How messages name the store: its URL, else its directory."""
        return self.origin or str(self.directory)

    @property
    def task(self):
        """The task of ``physics.task`` (pipeline/tasks): what is hidden and what is shown."""
        return task_of(self.params.physics)

    @property
    def fields(self) -> tuple[str, ...]:
        """What a reader hands over by default: the fields a model observes (ψ, the task's
        own, the positions) and every hidden parameter, its target."""
        task = self.task
        return task.observed_fields + ("positions",) + task.parameter_names

    @property
    def n_samples(self) -> int:
        return sum(entry.n_samples for entry in self.shards)

    @property
    def splits(self) -> dict[str, int]:
        """Samples per split."""
        return {name: sum(e.n_samples for e in self.shards if e.split == name)
                for name in SPLITS}

    @cached_property
    def statistics(self) -> dict:
        """Mean and standard deviation of ψ and of the mass over the train split (what the
        loaders normalise with; stats.json holds a copy)."""
        return train_statistics(self.manifest)

    def entries(self, split: str | None = None) -> list[ShardEntry]:
        if split is not None and split not in SPLITS:
            raise ConfigError(f"split {split!r} is not one of {', '.join(SPLITS)} (or None: "
                              f"every shard)")
        return [e for e in self.shards if split is None or e.split == split]

    def files(self, split: str | None = None) -> list[Path]:
        """The shards of ``split`` (None: all), each checked against its manifest record."""
        entries = self.entries(split)
        if not entries:
            raise DataError(f"{self.name}: no {split} shards in the manifest; "
                            f"regenerate with more samples or other generate.splits")
        if self.origin:
            with named_as(self.origin, self.directory):
                fetch_shards(self.origin, self.directory, entries)
        files = []
        for entry in entries:
            path = self.directory / entry.file
            if not path.exists():
                raise DataError(f"{path}: shard listed in the manifest is missing; "
                                f"remake it with `massfield repair {self.name}`")
            record = {"sha256": entry.sha256, "content_sha256": entry.content_sha256}
            problem = remember(path, lambda p, r=record: check_against_entry(p, r))
            if problem:
                raise DataError(f"{path}: {problem}; remake it with "
                                f"`massfield repair {self.name}`")
            files.append(path)
        return files
