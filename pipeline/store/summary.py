"""What ``massfield inspect`` reports: a store's shards, splits and params, or one shard's
datasets; and ``--verify`` over either."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np

from ..errors import DataError
from ..tasks import DEFAULT as DEFAULT_TASK
from ..tasks import task_named
from .integrity import DATASET_DIGEST, examine
from .manifest import MANIFEST, read_manifest
from .reader import SHARD_GLOB, shard_files
from .schema import recorded_params
from .verify import resimulate, verify_shard


def _present_problems(directory: Path, shards: list[dict]) -> list[str]:
    """Shards the manifest lists that are gone or have another size (a cheap stat each)."""
    found = []
    for entry in shards:
        path = directory / entry["file"]
        if not path.exists():
            found.append(f"{entry['file']} missing")
        elif path.stat().st_size != entry["bytes"]:
            found.append(f"{entry['file']} changed size")
    return found


def summarize_store(directory: Path) -> dict:
    """The store summary from its manifest; without one (or with a damaged one), from
    the shards present, each proven by the checksums it carries."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory; pass a shard store or a shard file")
    note = None
    try:
        manifest = read_manifest(directory)
        shards, params = manifest["shards"], manifest["params"]
        absent = _present_problems(directory, shards)
    except DataError as exc:
        if not list(directory.glob(SHARD_GLOB)):
            raise
        note = str(exc) if (directory / MANIFEST).exists() else "no manifest"
        shards, params = _shards_without_manifest(directory)
        absent = []
    n = sum(s["n_samples"] for s in shards)
    size = sum(s["bytes"] for s in shards)
    splits: dict[str, int] = {}
    for s in shards:
        splits[s["split"]] = splits.get(s["split"], 0) + s["n_samples"]
    task = task_named((params.get("physics") or {}).get("task", DEFAULT_TASK))
    return {
        "directory": str(directory), "shards": len(shards), "samples": n, "splits": splits,
        "task": f"{task.name}: {task.summary}",
        "bytes": size, "bytes_per_sample": size / max(n, 1),
        "mass_min": min(s["mass"]["min"] for s in shards),
        "mass_max": max(s["mass"]["max"] for s in shards),
        "mass_mean": sum(s["mass"]["sum"] for s in shards) / max(n, 1),
        "redraws": sum(s["redraws"] for s in shards), "params": params,
        "has_manifest": note is None, "note": note, "problems": absent,
    }


def _shards_without_manifest(directory: Path) -> tuple[list[dict], dict]:
    shards, params = [], None
    for path in shard_files(directory):
        with h5py.File(path, "r") as h5:
            mass, redraws = h5["mass"][()], h5["redraws"][()]
            params = params or recorded_params(h5)
        shards.append({"file": path.name, "n_samples": int(mass.size), "split": "?",
                       "bytes": path.stat().st_size, "redraws": int(redraws.sum()),
                       "mass": {"sum": float(mass.sum()), "min": float(mass.min()),
                                "max": float(mass.max())}})
    return shards, params


def describe_shard(path: Path) -> dict:
    """One shard: root attributes and every dataset's layout, size on disk, units, meaning.
    The file is opened here only once it has proven itself in the sandbox (a loose file)."""
    problem = examine(path)["problem"]
    if problem:
        raise DataError(f"{path}: {problem}; check it with `massfield inspect --verify {path}`")
    try:
        with h5py.File(path, "r") as h5:
            attributes = {k: _plain(v) for k, v in h5.attrs.items()}
            if isinstance(attributes.get("params"), str):  # JSON in the file: shown as a mapping
                attributes["params"] = recorded_params(h5)
            datasets = [_describe_dataset(h5[name]) for name in sorted(h5.keys())]
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file ({str(exc).splitlines()[0]}); "
                        f"check it with `massfield inspect --verify {path}`") from None
    return {"file": str(path), "bytes": Path(path).stat().st_size, "attributes": attributes,
            "datasets": datasets}


def _describe_dataset(dataset: h5py.Dataset) -> dict:
    return {"name": dataset.name.lstrip("/"), "shape": list(dataset.shape),
            "dtype": str(dataset.dtype), "chunks": list(dataset.chunks or []) or None,
            "compression": (f"{dataset.compression} {dataset.compression_opts}"
                            if dataset.compression else None),
            "shuffle": bool(dataset.shuffle),
            "bytes_on_disk": int(dataset.id.get_storage_size()),
            "bytes_raw": int(dataset.size * dataset.dtype.itemsize),
            "units": _plain(dataset.attrs.get("units")),
            "description": _plain(dataset.attrs.get("description")),
            "sha256": _plain(dataset.attrs.get(DATASET_DIGEST))}


def _plain(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def verify_location(location: Path, resimulate_samples: int = 0) -> tuple[dict, str]:
    """(problems per file name, a summary line) for a store, a directory or one shard."""
    location = Path(location)
    if location.is_file():
        problems = verify_shard(location)
        found = {location.name: problems} if problems else {}
        checked = "against the checksums it carries"
        files = [location]
    elif location.is_dir():
        found, files, checked = _verify_directory(location)
    else:
        raise DataError(f"{location}: no such shard store, directory or .h5 file")
    summary = f"{location}: {len(files)} shard{'s' * (len(files) != 1)} checked {checked}"
    if resimulate_samples and not found:
        outcomes = {path.name: resimulate(path, resimulate_samples) for path in files}
        for name, outcome in outcomes.items():
            if outcome.startswith("does not match"):
                found[name] = [outcome]
        kinds = sorted({outcome.split(":")[0] for outcome in outcomes.values()})
        summary += f"; remade samples: {', '.join(kinds)}"
    return found, summary


def _verify_directory(directory: Path) -> tuple[dict, list[Path], str]:
    found: dict[str, list[str]] = {}
    files = sorted(directory.glob(SHARD_GLOB))
    entries: dict[str, dict] = {}
    checked = "against the checksums each carries (no manifest)"
    if (directory / MANIFEST).exists():
        try:
            entries = {e["file"]: e for e in read_manifest(directory)["shards"]}
            checked = f"against {MANIFEST}"
        except DataError as exc:
            found[MANIFEST] = [str(exc).split(": ", 1)[1]]
            checked = "against the checksums each carries (manifest damaged)"
        for name in sorted(set(entries) - {f.name for f in files}):
            found[name] = ["listed in the manifest but missing"]
    if not files and not entries:
        raise DataError(f"{directory}: holds no shard-*.h5 files and no manifest")
    last = max(map(_index, entries), default=None)
    beyond = [path for path in files if last is not None and _index(path.name) > last]
    files = [path for path in files if path not in beyond]
    for path in files:
        problems = verify_shard(path, entries.get(path.name))
        if entries and path.name not in entries:
            problems.append("not listed in the manifest")
        if problems:
            found[path.name] = problems
    return found, files, checked + ", schema and values" + _beyond_note(beyond)


def _index(name: str) -> int:
    """A shard file's index from its name (-1 for a name not of the pattern)."""
    match = re.fullmatch(r"shard-(\d+)\.h5", name)
    return int(match.group(1)) if match else -1


def _beyond_note(beyond: list[Path]) -> str:
    """Shard files past the last one the manifest lists: left by a run that grew the store
    and was stopped (or by a larger store re-made smaller). Not part of the store: no
    reader sees them, and a growth that reaches them keeps those that prove themselves."""
    if not beyond:
        return ""
    span = beyond[0].name + (f" … {beyond[-1].name}" if len(beyond) > 1 else "")
    return (f"; {len(beyond)} shard file{'s' * (len(beyond) > 1)} past the store's end "
            f"({span}), left by a larger run that was stopped, are not part of it: grow the "
            f"store (`massfield generate` with a larger generate.n_samples) to use them, or "
            f"delete them")


def read_sample(location: Path, index: int) -> dict:
    """Sample ``index`` counted across the (checked) shards in file order, as arrays."""
    for path in shard_files(location):
        with h5py.File(path, "r") as h5:
            n = h5["mass"].shape[0]
            if index < n:
                return {name: np.asarray(h5[name][index]) for name in h5.keys()}
            index -= n
    raise DataError(f"{location}: --sample is beyond the last sample")

