"""One writer per store: an advisory lock that the kernel drops when its holder dies.

``flock`` rather than a pid file: a ``generate`` killed with SIGKILL leaves no stale
lock to clean up, while a second live ``generate`` on the same directory is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError

LOCK_NAME = ".generate.lock"


@contextlib.contextmanager
def store_lock(directory: Path) -> Iterator[None]:
    path = Path(directory) / LOCK_NAME
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(f"{directory}: another `massfield generate` is writing here "
                            f"(lock {path} is held); wait for it to finish") from None
        yield
    finally:
        os.close(handle)
