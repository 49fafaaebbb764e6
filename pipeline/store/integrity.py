"""Checksums a shard carries itself, and the proof that a file still holds what was written.

Two levels, each cheap where it is used most:

- **File checksum** (SHA-256 of the file's bytes, in manifest.json): one sequential read,
  ~1 GB/s. Every reader checks it before using a shard of a store.
- **Content checksums**, written into the shard: each dataset's ``sha256`` attribute is the
  SHA-256 of its values (C order, stored dtype, as ``dataset[()]`` returns them), and the
  root attribute ``content_sha256`` covers every dataset checksum and every root
  attribute. They prove a shard that has no manifest record (a killed run, a loose file),
  let a damaged manifest be rebuilt, and tell "same data, other bytes" (another HDF5 or
  zlib build wrote the file) from damage. Any HDF5 tool can check a dataset by hashing
  its values.

HDF5's Fletcher-32 filter was considered: it covers only chunked datasets (ψ and the
trajectory are contiguous, for one-read loads), not attributes, and our pre-deflated
encoding chunks bypass the filter pipeline.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import h5py
import numpy as np

from . import sandbox

DATASET_DIGEST = "sha256"
CONTENT_DIGEST = "content_sha256"
ROOT_ATTRIBUTES = ("schema_version", "package_version", "params", "shard_index", "shard_seed",
                   "n_samples")
HASH_BLOCK = 256  # samples hashed at a time: memory bounded by a block, not a shard


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def update_digest(digest, values: np.ndarray, dtype: np.dtype) -> None:
    """Feed values to a dataset digest exactly as the dataset will return them."""
    digest.update(np.ascontiguousarray(values, dtype=dtype).data)


def dataset_digest(dataset: h5py.Dataset) -> str:
    """SHA-256 of a dataset's values, read HASH_BLOCK samples at a time."""
    digest = hashlib.sha256()
    for start in range(0, dataset.shape[0], HASH_BLOCK):
        update_digest(digest, dataset[start:start + HASH_BLOCK], dataset.dtype)
    return digest.hexdigest()


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


DATASET_ATTRIBUTES = ("units", "description")


def content_digest(attributes: dict, datasets: dict[str, dict]) -> str:
    """One SHA-256 over the root attributes and, per dataset, its checksum, units and
    description (``datasets``: name → {"sha256", "units", "description"})."""
    canonical = json.dumps({"attributes": {k: _plain(attributes[k]) for k in ROOT_ATTRIBUTES},
                            "datasets": {name: {k: _plain(v) for k, v in record.items()}
                                         for name, record in datasets.items()}},
                           sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def dataset_record(digest: str, attributes) -> dict:
    return {DATASET_DIGEST: digest, **{k: attributes.get(k) for k in DATASET_ATTRIBUTES}}


def recompute_content(h5: h5py.File) -> tuple[str, list[str]]:
    """(content checksum of what the file holds now, datasets whose own checksum fails)."""
    records, failed = {}, []
    for name in sorted(h5.keys()):
        digest = dataset_digest(h5[name])
        records[name] = dataset_record(digest, h5[name].attrs)
        if h5[name].attrs.get(DATASET_DIGEST) != digest:
            failed.append(name)
    return content_digest(dict(h5.attrs), records), failed


def read_proof(path: Path) -> dict:
    """Whether a shard proves itself, and the facts a re-run needs of it, read in this
    process: call it through :func:`examine` unless the file's bytes are proven.

    ``content``: its content checksum if it proves itself, else None and ``problem``;
    ``schema_version``, ``shard_index``, ``n_samples``, ``params`` and dataset ``shapes``
    as far as they can be read (None where not)."""
    facts = {"content": None, "problem": None, "schema_version": None, "shard_index": None,
             "n_samples": None, "params": None, "shapes": {}}
    try:
        with h5py.File(path, "r") as h5:
            attrs = h5.attrs
            facts["schema_version"] = _plain(attrs.get("schema_version"))
            stored = attrs.get(CONTENT_DIGEST)
            if stored is None:
                facts["problem"] = "carries no content checksum (made by an older massfield?)"
                return facts
            actual, failed = recompute_content(h5)
            facts.update(shard_index=_plain(attrs.get("shard_index")),
                         n_samples=_plain(attrs.get("n_samples")),
                         params=json.loads(attrs["params"]),
                         shapes={name: list(h5[name].shape) for name in h5.keys()})
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        facts["problem"] = f"not a readable HDF5 shard, truncated or corrupt ({_first_line(exc)})"
        return facts
    if failed:
        facts["problem"] = f"dataset {', '.join(failed)} does not match its own checksum (damaged)"
    elif actual != stored:
        facts["problem"] = "root attributes do not match the shard's content checksum (damaged)"
    else:
        facts["content"] = actual
    return facts


def examine(path: Path) -> dict:
    """:func:`read_proof` in the sandbox, where a hang cannot take this process, once per
    file version: a file that hangs or crashes the HDF5 library is damage (its
    ``problem``)."""
    key = _identity(path)
    if key not in _EXAMINED:
        try:
            _EXAMINED[key] = sandbox.call(read_proof, path)
        except sandbox.Unreadable as exc:
            _EXAMINED[key] = {"content": None, "problem": exc.problem, "schema_version": None,
                              "shard_index": None, "n_samples": None, "params": None,
                              "shapes": {}}
    return _EXAMINED[key]


def prove_shard(path: Path) -> tuple[str | None, str | None]:
    """(content checksum, None) if the shard proves itself, else (None, what is wrong);
    read in the sandbox."""
    facts = examine(path)
    return facts["content"], facts["problem"]


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


SAME_CONTENT = ("its bytes differ from manifest.json's checksum, but every value and "
                "attribute is as recorded (rewritten by another HDF5 build, or changed where "
                "no data lies)")


def check_against_entry(path: Path, entry: dict, strict: bool = False) -> str | None:
    """None if ``path`` holds what its manifest ``entry`` recorded, else the problem.

    Equal file checksums prove it at once. A shard whose content checksum still equals
    the recorded one holds the same data in other bytes: readers accept it; ``strict``
    (``inspect --verify``) reports it. Anything else is damage.
    """
    if file_sha256(path) == entry.get("sha256"):
        return None
    content, problem = prove_shard(path)
    if content is not None and content == entry.get("content_sha256"):
        return SAME_CONTENT if strict else None
    return problem or "file changed: its content is not what manifest.json records"


_CHECKED: dict[tuple, str | None] = {}
_EXAMINED: dict[tuple, dict] = {}


def _identity(path: Path) -> tuple:
    stat = os.stat(path)
    return (str(Path(path).resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)


def remember(path: Path, check) -> str | None:
    """``check(path)`` once per file version in this process (readers ask repeatedly, and a
    damaged file may take the sandbox's time limit to condemn)."""
    key = _identity(path)
    if key not in _CHECKED:
        _CHECKED[key] = check(path)
    return _CHECKED[key]
