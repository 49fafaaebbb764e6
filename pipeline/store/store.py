"""A store as one value: its manifest read and checked once, its shards checked on use.

``Store.open(directory)`` parses ``manifest.json`` once and holds what every reader asks
for — the validated params, typed shard entries, the splits, the train statistics and the
checked file list of each split — so that a caller passes the store, not its path.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from pathlib import Path

from ..config import Params, params_from_dict
from ..errors import ConfigError, DataError
from ..tasks import task_of
from .integrity import check_against_entry, remember
from .manifest import MANIFEST, read_manifest, train_statistics
from .schema import SPLITS


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

    @classmethod
    def open(cls, directory: Path) -> Store:
        directory = Path(directory)
        manifest = read_manifest(directory)
        return cls(directory, params_from_dict(manifest["params"], f"{directory}/{MANIFEST}"),
                   tuple(ShardEntry.from_record(r) for r in manifest["shards"]), manifest)

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
            raise DataError(f"{self.directory}: no {split} shards in the manifest; "
                            f"regenerate with more samples or other generate.splits")
        files = []
        for entry in entries:
            path = self.directory / entry.file
            if not path.exists():
                raise DataError(f"{path}: shard listed in the manifest is missing; "
                                f"remake it with `massfield repair {self.directory}`")
            record = {"sha256": entry.sha256, "content_sha256": entry.content_sha256}
            problem = remember(path, lambda p, r=record: check_against_entry(p, r))
            if problem:
                raise DataError(f"{path}: {problem}; remake it with "
                                f"`massfield repair {self.directory}`")
            files.append(path)
        return files
