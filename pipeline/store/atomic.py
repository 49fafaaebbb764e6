"""Write-then-rename, so that a final name only ever holds a complete file.

A run killed at any instant leaves at worst a ``*.partial`` file, never a truncated
shard or manifest under its real name. Partial names carry the writer's pid and a
random tag: two writers (say, an orphaned worker of a killed run and its re-run)
never write the same partial file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PARTIAL_SUFFIX = ".partial"


def is_disk_full(exc: BaseException) -> bool:
    """A full disk or quota, whether the OSError says so by errno or (HDF5's) in words."""
    return (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
            or "No space left on device" in str(exc))


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success fsync it and rename it into place.

    A full disk while writing raises an ``OSError`` that names ``final``, whichever library
    wrote the partial file (and whether or not it said which file it was writing).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f"{final.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}")
    try:
        yield partial
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, final)
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(final)) from None
    finally:
        if partial.exists():
            partial.unlink()


def write_json(final: Path, payload: Any) -> None:
    """Strict JSON (NaN and infinities become null, which every JSON reader accepts)."""
    text = json.dumps(_strict(payload), indent=2, sort_keys=True, allow_nan=False)
    with atomic_path(final) as partial:
        partial.write_text(text + "\n")


def _strict(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    return value


def remove_partials(directory: Path) -> int:
    """Delete leftovers of killed runs; returns how many."""
    removed = 0
    for leftover in Path(directory).glob(f"*{PARTIAL_SUFFIX}"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed
