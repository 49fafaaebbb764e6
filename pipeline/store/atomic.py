"""Write-then-rename, so that a final name only ever holds a complete file.

A run killed at any instant leaves at worst a ``*.partial`` file, never a truncated
shard or manifest under its real name. Partial names carry the writer's pid and a
random tag: two writers (say, an orphaned worker of a killed run and its re-run)
never write the same partial file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PARTIAL_SUFFIX = ".partial"


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success fsync it and rename it into place."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f"{final.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}")
    try:
        yield partial
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, final)
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
