"""Writing a store to object storage: whole objects, the manifest last, one writer.

Object stores have no rename, but a PUT is atomic: an object is there whole or not at all.
So a worker builds its shard in a directory of its own (the same code and the same bytes
as on disk) and puts it as one object under its final key; the manifest is put last and
is the store's commit point. A run keeps the same local mirror as a reader
(mirror.py), filled with what the bucket holds, and plans, proves and resumes there with
the disk store's own rules (generate.py); only what it changes is put or deleted.

One writer per store: a lock object created only if absent (S3's conditional PUT), which
its holder rewrites every ``HEARTBEAT_S``; a lock not rewritten for ``MASSFIELD_LOCK_STALE_S``
(default 60 s) was left by a killed run and is taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError
from .manifest import MANIFEST, STATS, TARGET
from .url import filesystem, is_missing_bucket, join, remote_errors

LOCK_NAME = ".generate.lock"
HEARTBEAT_S = 10.0
STALE_ENV = "MASSFIELD_LOCK_STALE_S"
SHARD_PREFIX = "shard-"


class Publisher:
    """The bucket side of a store being written: put, delete, list, fetch whole objects."""

    def __init__(self, url: str):
        self.url = url
        self.fs, self.root = filesystem(url)

    def key(self, name: str) -> str:
        return join(self.root, name)

    def put(self, local: Path, name: str | None = None) -> None:
        with remote_errors(self.url):
            self.fs.put_file(str(local), self.key(name or Path(local).name))

    def remove(self, *names: str) -> None:
        with remote_errors(self.url):
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm_file(self.key(name))

    def names(self) -> list[str]:
        """Object names directly under the store's prefix."""
        with remote_errors(self.url):
            self.fs.invalidate_cache(self.root)
            try:
                listing = self.fs.ls(self.root, detail=False)
            except FileNotFoundError as exc:
                if is_missing_bucket(exc):
                    raise
                return []
        return sorted(name.rstrip("/").rsplit("/", 1)[-1] for name in listing)

    def pull_into(self, mirror: Path) -> None:
        """Make ``mirror`` hold exactly the store's objects (shards, manifest, params)."""
        mirror.mkdir(parents=True, exist_ok=True)
        for old in [*mirror.glob(f"{SHARD_PREFIX}*.h5"), *(mirror / n for n in
                                                            (MANIFEST, STATS, TARGET))]:
            old.unlink(missing_ok=True)
        wanted = [name for name in self.names()
                  if name.startswith(SHARD_PREFIX) and name.endswith(".h5")
                  or name in (MANIFEST, STATS, TARGET)]
        if wanted:
            with remote_errors(self.url):
                self.fs.get([self.key(n) for n in wanted], [str(mirror / n) for n in wanted])

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's lock object while the body runs (see the module docstring)."""
        key, token = self.key(LOCK_NAME), uuid.uuid4().hex
        self._acquire(key, token)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(key, token, stop), daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            with contextlib.suppress(Exception):
                self.fs.rm_file(key)

    def _record(self, token: str) -> bytes:
        return json.dumps({"token": token, "host": socket.gethostname(), "pid": os.getpid(),
                           "time": time.time()}).encode()

    def _acquire(self, key: str, token: str) -> None:
        stale_after = float(os.environ.get(STALE_ENV) or 60)
        for _ in range(2):
            with remote_errors(self.url):
                try:
                    self.fs.pipe_file(key, self._record(token), mode="create")
                    return
                except FileExistsError:
                    pass
                except (TypeError, NotImplementedError):
                    raise DataError(f"{self.url}: this backend cannot create an object only "
                                    f"if absent, so one writer per store cannot be ensured; "
                                    f"use a backend with conditional writes (S3, GCS, "
                                    f"memory://)") from None
                try:
                    held = json.loads(self.fs.cat_file(key))
                except (FileNotFoundError, ValueError):
                    continue
            age = time.time() - float(held.get("time", 0))
            if age <= stale_after:
                raise DataError(f"{self.url}: another `massfield generate` is writing here "
                                f"(lock {join(self.url, LOCK_NAME)} held by "
                                f"{held.get('host')}:{held.get('pid')}, renewed {age:.0f} s "
                                f"ago); wait for it to finish")
            with remote_errors(self.url), contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(key)  # a killed run's: taken over
        raise DataError(f"{self.url}: could not take the lock {join(self.url, LOCK_NAME)}; "
                        f"another run is starting here: wait for it, then re-run")

    def _heartbeat(self, key: str, token: str, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_S):
            with contextlib.suppress(Exception):
                self.fs.pipe_file(key, self._record(token))


def put_shard(url: str, make) -> dict:
    """Run ``make(directory) -> entry`` in a temporary directory of this worker, then put
    the shard it wrote as one object under ``url``; the entry, as on disk."""
    staging = Path(tempfile.mkdtemp(prefix="massfield-shard-"))
    try:
        entry = make(staging)
        if "failed" not in entry:
            Publisher(url).put(staging / entry["file"])
        return entry
    finally:
        shutil.rmtree(staging, ignore_errors=True)
