"""manifest.json and stats.json: what a store holds, its splits, and its train statistics.

Splits are assigned per shard, so a test sample can never sit in a file training reads.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .. import __version__
from ..config import Params, SplitFractions
from ..errors import DataError
from .atomic import write_json
from .schema import SCHEMA_VERSION, SPLITS

MANIFEST = "manifest.json"
STATS = "stats.json"


def assign_splits(n_shards: int, fractions: SplitFractions) -> list[str]:
    """Shard i → split: consecutive blocks of train, validation, test shards.

    Every split with a non-zero fraction gets at least one shard when there are enough.
    """
    counts = {name: round(getattr(fractions, name) * n_shards) for name in SPLITS}
    for name in ("validation", "test"):
        if getattr(fractions, name) > 0 and counts[name] == 0 and n_shards >= 3:
            counts[name] = 1
    counts["train"] = max(1, n_shards - counts["validation"] - counts["test"])
    counts["validation"] = min(counts["validation"], n_shards - counts["train"])
    counts["test"] = n_shards - counts["train"] - counts["validation"]
    return [name for name in SPLITS for _ in range(counts[name])]


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
    write_json(Path(directory) / STATS, train_statistics(manifest))
    write_json(Path(directory) / MANIFEST, manifest)


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise DataError(f"{path}: no manifest; run `massfield generate --out {directory}` first")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataError(f"{path}: corrupt manifest (not JSON); re-run `massfield generate`") \
            from None
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise DataError(f"{path}: schema version {manifest.get('schema_version')} is not "
                        f"{SCHEMA_VERSION}; regenerate with `massfield generate --overwrite`")
    return manifest


def read_stats(directory: Path) -> dict:
    path = Path(directory) / STATS
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: missing; re-run `massfield generate` to write it") from None
    except json.JSONDecodeError:
        raise DataError(f"{path}: corrupt; re-run `massfield generate`") from None


def split_files(directory: Path, manifest: dict, split: str) -> list[Path]:
    return [Path(directory) / e["file"] for e in manifest["shards"] if e["split"] == split]
