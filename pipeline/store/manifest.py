"""manifest.json and stats.json: what a store holds, its splits, and its train statistics.

Splits are assigned per shard, so a test sample can never sit in a file training reads,
and by a rule that ignores the number of shards, so that a store grows in place.
The manifest is written last, once every shard is in place; a store without one is
incomplete or damaged, and ``massfield repair`` rebuilds it from the shards that prove
themselves (integrity.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .. import __version__
from ..config import Params, SplitFractions, params_from_dict
from ..errors import ConfigError, DataError
from .atomic import write_json
from .schema import SCHEMA_VERSION, SPLITS

MANIFEST = "manifest.json"
STATS = "stats.json"
TARGET = "params.json"  # the generation params of the store being made, written first
ENTRY_KEYS = {"index": int, "file": str, "n_samples": int, "sha256": str,
              "content_sha256": str, "bytes": int, "split": str, "mass": dict,
              "potential": dict, "redraws": int}
DISTORTION = 0.05  # a split more than this far from its fraction is worth a warning


def assign_splits(n_shards: int, fractions: SplitFractions) -> list[str]:
    """Shard i → split, by a rule that looks only at i and the fractions, never at the
    number of shards: a grown store keeps every shard in its split, and its test split
    contains the old one.

    The first shards go one to each split with a non-zero fraction (train, validation,
    test), so that a store of three shards already has all three. Every later shard goes to
    the split furthest behind its share, ``fraction × (i + 1) − shards so far`` (ties in
    the order train, validation, test): every prefix of the store is split as closely to
    the fractions as whole shards allow.
    """
    wanted = {name: getattr(fractions, name) for name in SPLITS}
    counts = {name: 0 for name in SPLITS}
    splits = []
    for index in range(n_shards):
        empty = [name for name in SPLITS if wanted[name] > 0 and counts[name] == 0]
        name = empty[0] if empty else max(
            SPLITS, key=lambda s: (wanted[s] * (index + 1) - counts[s], -SPLITS.index(s)))
        counts[name] += 1
        splits.append(name)
    return splits


def split_warning(params: Params) -> str | None:
    """A line naming the sample counts when whole shards distort the requested fractions."""
    gen = params.generate
    splits = assign_splits(gen.n_shards, gen.splits)
    samples = {name: 0 for name in SPLITS}
    for index, name in enumerate(splits):
        samples[name] += gen.shard_samples(index)
    worst = max(abs(samples[name] / gen.n_samples - getattr(gen.splits, name)) for name in SPLITS)
    if worst <= DISTORTION:
        return None
    got = " / ".join(f"{name} {samples[name]}" for name in SPLITS)
    want = "/".join(f"{100 * getattr(gen.splits, name):g}" for name in SPLITS)
    return (f"generate.splits: {gen.n_shards} shards of {gen.shard_size} give {got} samples "
            f"for {want} %; a smaller generate.shard_size splits closer to the fractions")


def build_manifest(params: Params, entries: list[dict], generation_params: dict) -> dict:
    splits = assign_splits(params.generate.n_shards, params.generate.splits)
    shards = sorted(entries, key=lambda e: e["index"])
    for entry in shards:
        entry["split"] = splits[entry["index"]]
    return {
        "schema_version": SCHEMA_VERSION,
        "package_version": __version__,
        "params": generation_params,
        "n_samples": sum(e["n_samples"] for e in shards),
        "shards": shards,
    }


def train_statistics(manifest: dict) -> dict:
    """Mean and standard deviation of ψ (per pixel, pooled) and of mass over train shards."""
    train = [e for e in manifest["shards"] if e["split"] == "train"]

    def moments(total, total_sq, count):
        mean = total / count
        return {"mean": mean, "std": math.sqrt(max(total_sq / count - mean ** 2, 0.0))}

    return {
        "potential": moments(sum(e["potential"]["sum"] for e in train),
                             sum(e["potential"]["sum_sq"] for e in train),
                             sum(e["potential"]["count"] for e in train)),
        "mass": moments(sum(e["mass"]["sum"] for e in train),
                        sum(e["mass"]["sum_sq"] for e in train),
                        sum(e["n_samples"] for e in train)),
        "n_train_samples": sum(e["n_samples"] for e in train),
    }


def write_manifest(directory: Path, manifest: dict) -> None:
    """stats.json (for people and other tools) then manifest.json, the store's seal."""
    write_json(Path(directory) / STATS, train_statistics(manifest))
    write_json(Path(directory) / MANIFEST, manifest)


class OldSchema(DataError):
    """A store or shard written by a massfield of another schema version."""


def _remake(directory: Path) -> str:
    return (f"remake it with `massfield generate --overwrite --out {directory}` (or `dvc "
            f"repro` for the default store)")


def check_shard_schema(path: Path, version) -> None:
    """OldSchema naming the shard, both versions and the fix, unless it is of ours."""
    if version != SCHEMA_VERSION:
        raise OldSchema(f"{path}: a shard of schema version {_plain(version)}; massfield "
                        f"{__version__} reads version {SCHEMA_VERSION} (docs/dataset.md): "
                        f"{_remake(Path(path).parent)}")


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def manifest_problem(manifest) -> str | None:
    """What makes a parsed manifest unusable, or None."""
    if not isinstance(manifest, dict):
        return "not a JSON object"
    if manifest.get("schema_version") != SCHEMA_VERSION:
        return f"schema version {manifest.get('schema_version')!r}, not {SCHEMA_VERSION}"
    try:
        params = params_from_dict(manifest.get("params"), "manifest params")
    except ConfigError as exc:
        return str(exc)
    shards = manifest.get("shards")
    if not isinstance(shards, list) or not all(isinstance(e, dict) for e in shards):
        return "no list of shards"
    for entry in shards:
        for key, kind in ENTRY_KEYS.items():
            if not isinstance(entry.get(key), kind) or isinstance(entry.get(key), bool):
                return f"a shard entry lacks {key}"
    if sorted(e["index"] for e in shards) != list(range(params.generate.n_shards)):
        return (f"lists {len(shards)} shards where its params make "
                f"{params.generate.n_shards}")
    return None


def read_manifest(directory: Path) -> dict:
    """The store's manifest; DataError naming the file and the fix if it is missing or bad."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.exists():
        raise DataError(f"{path}: no manifest, so no complete store here; make one with "
                        f"`massfield generate --out {directory}` (or `massfield repair "
                        f"{directory}` if its shards are here)")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        problem = f"not readable JSON ({str(exc).splitlines()[0][:80]})"
    else:
        version = manifest.get("schema_version") if isinstance(manifest, dict) else None
        if isinstance(version, int) and version != SCHEMA_VERSION and "shards" in manifest:
            raise OldSchema(f"{path}: a store of schema version {version} (massfield "
                            f"{manifest.get('package_version', '?')}); massfield {__version__} "
                            f"reads version {SCHEMA_VERSION} (docs/dataset.md): "
                            f"{_remake(directory)}")
        problem = manifest_problem(manifest)
    if problem:
        raise DataError(f"{path}: damaged manifest ({problem}); rebuild it from the shards "
                        f"with `massfield repair {directory}`")
    return manifest


def read_stats(directory: Path) -> dict:
    """Train statistics, derived from the manifest (stats.json is a copy for people)."""
    return train_statistics(read_manifest(directory))


def manifest_params(directory: Path) -> Params:
    """The physics and generation params a store was made with, from its manifest."""
    return params_from_dict(read_manifest(directory)["params"], f"{directory}/{MANIFEST}")
