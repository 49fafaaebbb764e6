"""Opening files that have not proven themselves, where a hang cannot take the command.

HDF5 parses a file's metadata in C. Some damage — 64 zero bytes over an object header —
sends it into a loop that never returns, holds Python's GIL and so lets no signal handler
run. A shard whose SHA-256 equals its manifest record holds the bytes we wrote and is
opened in this process. Any other file — bytes that differ from their record, a loose
shard, one a killed run left — is opened only through :func:`call`: in a child process of
this one, a file at a time, each under a time limit. A file that runs past it, or crashes
the child, is reported as damage (:class:`Unreadable`) and the child is replaced.

The child arms ``alarm`` before each file, so it ends by itself even if this process is
killed first. One child serves a process (re-made after a fork, as in a DataLoader worker)
and ends with it. Why not treat every checksum mismatch as damage: a shard rewritten by
another HDF5 build holds the same values in other bytes, and a store whose manifest was
lost is rebuilt from the shards that prove themselves.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import DataError

# Seconds a child may spend on one file: a fixed allowance plus one per LIMIT_RATE bytes
# (a default 2,000-sample shard, 12.9 MB, proved itself in 0.4 s, 0.65 s with the child's
# start; its limit is 11 s). The environment variable replaces the fixed part.
LIMIT_BASE_S = 5.0
LIMIT_RATE = 2e6
LIMIT_ENV = "MASSFIELD_OPEN_LIMIT_S"
_IN_CHILD = False  # set in the child: calls run directly there


class Unreadable(DataError):
    """A file that hung or crashed the HDF5 library reading it: damaged."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.problem = problem


def time_limit(path: Path) -> float:
    base = float(os.environ.get(LIMIT_ENV, LIMIT_BASE_S))
    try:
        size = Path(path).stat().st_size
    except OSError:
        size = 0
    return base + size / LIMIT_RATE


def call(function: Callable, path: Path, *args):
    """``function(path, *args)`` in the child, its JSON-able result returned here;
    :class:`Unreadable` if it does not return within :func:`time_limit` or crashes."""
    if _IN_CHILD:
        return function(path, *args)
    with _LOCK:  # one request at a time on the one pipe
        return _child().run(f"{function.__module__}:{function.__qualname__}",
                            str(path), list(args), time_limit(path))


class _Child:
    """A child process (:func:`serve`) answering one JSON line per request."""

    def __init__(self):
        self.pid = os.getpid()
        root = str(Path(__file__).resolve().parents[2])  # this package's, not the cwd's
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r}); "
             f"import {__name__} as sandbox; sandbox.serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True)  # signals to our process group are ours to answer
        self.buffer = b""

    def run(self, function: str, path: str, args: list, limit: float):
        request = json.dumps({"function": function, "path": path, "args": args,
                              "limit": limit})
        try:
            self.process.stdin.write(request.encode() + b"\n")
            self.process.stdin.flush()
            line = self._line(time.monotonic() + limit + 1.0)
        except BrokenPipeError:
            line = None
        if line is None:
            self.close()
            code = self.process.returncode
            if code in (-signal.SIGALRM, -signal.SIGKILL):  # its alarm, or our kill
                raise Unreadable(path, f"HDF5 did not finish reading it within {limit:.0f} s "
                                       f"(damaged metadata)")
            raise Unreadable(path, f"the HDF5 library crashed reading it (exit {code}: "
                                   f"damaged)")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{path}: {reply['error']}")  # a bug: keep it loud
        return reply["result"]

    def _line(self, deadline: float) -> bytes | None:
        """The next reply line, or None if the child hangs past ``deadline`` or dies."""
        out = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([out], [], [], remaining)[0]:
                return None
            chunk = os.read(out, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


_CHILD: _Child | None = None
_LOCK = threading.Lock()


def _child() -> _Child:
    global _CHILD
    if _CHILD is None or _CHILD.pid != os.getpid() or _CHILD.process.poll() is not None:
        _CHILD = _Child()
    return _CHILD


@atexit.register
def _close() -> None:
    if _CHILD is not None and _CHILD.pid == os.getpid():
        _CHILD.close()


def serve() -> None:
    """The child: answer requests until stdin closes."""
    global _IN_CHILD
    _IN_CHILD = True
    for line in sys.stdin.buffer:
        request = json.loads(line)
        module, name = request["function"].split(":")
        signal.alarm(int(request["limit"]) + 2)  # default action: end this process
        try:
            result = {"result": getattr(importlib.import_module(module), name)(
                Path(request["path"]), *request["args"])}
        except Exception as exc:  # noqa: BLE001  (reported to the parent, which raises it)
            result = {"error": f"{type(exc).__name__}: {exc}"}
        signal.alarm(0)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
