"""A real Dask cluster on localhost, started as users start one: `dask scheduler` and
`dask worker` in processes of their own (default Dask settings, profiler included)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(port: int, workers: int = 2, homes: list[Path] | None = None,
          env: dict | None = None) -> tuple[subprocess.Popen, ...]:
    """A scheduler on ``port`` and `dask worker` processes: one with ``workers`` workers,
    or, with ``homes``, one single-worker process per directory, each started there with
    its own TMPDIR (machines that share no disk), ``env`` added to their environment."""
    dask = str(Path(sys.executable).with_name("dask"))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
             "start_new_session": True}
    scheduler = subprocess.Popen([dask, "scheduler", "--port", str(port), "--no-dashboard"],
                                 **quiet)
    command = [dask, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--no-dashboard"]
    if homes is None:
        return scheduler, subprocess.Popen(command + ["--nworkers", str(workers)], cwd=REPO,
                                           **quiet)
    started = [scheduler]
    for home in homes:
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        started.append(subprocess.Popen(
            command + ["--local-directory", str(home / "dask")], cwd=home,
            env={**os.environ, **(env or {}), "TMPDIR": str(home / "tmp")}, **quiet))
    return tuple(started)


def stop(*processes: subprocess.Popen) -> None:
    """Kill each process with everything it started (its own session)."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_workers(address: str, count: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        deadline = time.time() + timeout
        while len(client.scheduler_info()["workers"]) < count and time.time() < deadline:
            time.sleep(0.2)
