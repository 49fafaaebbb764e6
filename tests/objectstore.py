"""A real S3-compatible server on localhost for the tests: moto's server mode, started as
its own process (`moto_server`), as s3fs's, Zarr's and Dask's own suites do."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cluster


def credentials(port: int) -> dict[str, str]:
    """The environment a user sets to reach the server: endpoint and (any) credentials."""
    return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "massfield",
            "AWS_SECRET_ACCESS_KEY": "massfield-secret", "AWS_DEFAULT_REGION": "us-east-1"}


@contextlib.contextmanager
def s3_server(**env: str) -> Iterator[int]:
    """A moto server on a free port (``env`` added to its environment: say,
    INITIAL_NO_AUTH_ACTION_COUNT=0 for one that checks credentials); yields the port."""
    port = cluster.free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-p",
                               str(port)], env={**os.environ, **env}, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _wait_for(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"moto_server did not listen on {port} within {timeout} s")


def make_bucket(name: str) -> None:
    """Create a bucket with the user's own client (the environment must reach the server)."""
    import s3fs

    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(name)


def names(url: str) -> list[str]:
    """The objects' names under ``url``, without reading them: safe while a writer runs (an
    object listed may be gone, renamed into place, before it could be read)."""
    import s3fs

    root = url.split("://", 1)[1]
    return [key.rsplit("/", 1)[1] for key in s3fs.S3FileSystem(skip_instance_cache=True).find(root)]


def objects(url: str) -> dict[str, bytes]:
    """Every object under ``url``, by name (the store's bytes as a bucket holds them)."""
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    root = url.split("://", 1)[1]
    return {key.rsplit("/", 1)[1]: fs.cat_file(key) for key in fs.find(root)}
