"""What ``massfield inspect DIR`` reports: shards, splits, sizes, masses, params."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..errors import DataError
from .manifest import MANIFEST, read_manifest
from .reader import store_files
from .verify import verify_shard


def summarize_store(directory: Path) -> dict:
    directory = Path(directory)
    files = store_files(directory, None)
    if (directory / MANIFEST).exists():
        manifest = read_manifest(directory)
        shards = manifest["shards"]
        params = manifest["params"]
    else:
        shards, params = [], None
        for path in files:
            with h5py.File(path, "r") as h5:
                mass, redraws = h5["mass"][()], h5["redraws"][()]
                params = params or json.loads(h5.attrs["params"])
            shards.append({"file": path.name, "n_samples": int(mass.size), "split": "?",
                           "bytes": path.stat().st_size, "redraws": int(redraws.sum()),
                           "mass": {"sum": float(mass.sum()), "min": float(mass.min()),
                                    "max": float(mass.max())}})
    n = sum(s["n_samples"] for s in shards)
    size = sum(s["bytes"] for s in shards)
    splits: dict[str, int] = {}
    for s in shards:
        splits[s["split"]] = splits.get(s["split"], 0) + s["n_samples"]
    return {
        "directory": str(directory), "shards": len(shards), "samples": n, "splits": splits,
        "bytes": size, "bytes_per_sample": size / max(n, 1),
        "mass_min": min(s["mass"]["min"] for s in shards),
        "mass_max": max(s["mass"]["max"] for s in shards),
        "mass_mean": sum(s["mass"]["sum"] for s in shards) / max(n, 1),
        "redraws": sum(s["redraws"] for s in shards),
        "schema_version": _schema_version(files[0]), "params": params,
        "has_manifest": (directory / MANIFEST).exists(),
    }


def _schema_version(path: Path):
    try:
        with h5py.File(path, "r") as h5:
            return int(h5.attrs["schema_version"])
    except (OSError, KeyError):
        return None


def verify_store(directory: Path) -> dict[str, list[str]]:
    """Problems per file name (only files with problems); manifest checksums when present."""
    directory = Path(directory)
    files = store_files(directory, None)
    entries: dict[str, dict] = {}
    problems: dict[str, list[str]] = {}
    if (directory / MANIFEST).exists():
        try:
            entries = {e["file"]: e for e in read_manifest(directory)["shards"]}
        except DataError as exc:
            problems[MANIFEST] = [str(exc)]
        for name in sorted(set(entries) - {f.name for f in files}):
            problems[name] = ["listed in the manifest but missing"]
    for path in files:
        found = verify_shard(path, entries.get(path.name) if entries else None)
        if entries and path.name not in entries:
            found.append("not listed in the manifest")
        if found:
            problems[path.name] = found
    return problems


def read_sample(directory: Path, index: int) -> dict:
    """Sample ``index`` counted across shards in file order, as a dict of arrays."""
    for path in store_files(directory, None):
        with h5py.File(path, "r") as h5:
            n = h5["mass"].shape[0]
            if index < n:
                return {name: np.asarray(h5[name][index]) for name in h5.keys()}
            index -= n
    raise DataError(f"{directory}: --sample is beyond the last sample")
