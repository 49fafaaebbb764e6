"""Generating on a Dask cluster as users run one: `dask scheduler`, two `dask worker`
processes on localhost, `massfield generate --scheduler tcp://…`; the bytes of a local run."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cluster
from conftest import REPO, write_params
from pipeline.config import load_params
from pipeline.store.generate import generate_store
from pipeline.store.manifest import read_manifest

pytestmark = pytest.mark.slow


def test_a_real_cluster_makes_the_bytes_of_a_local_run(tmp_path):
    params = write_params(tmp_path / "params.yaml", generate={"n_samples": 120,
                                                              "shard_size": 20})
    port = cluster.free_port()
    processes = cluster.start(port, workers=2)
    try:
        cluster.wait_for_workers(f"tcp://127.0.0.1:{port}", 2)
        result = subprocess.run([sys.executable, "-m", "pipeline.cli", "generate", "--params",
                                 str(params), "--out", str(tmp_path / "shared"), "--scheduler",
                                 f"tcp://127.0.0.1:{port}"], cwd=REPO, capture_output=True,
                                text=True, timeout=300)
    finally:
        cluster.stop(*processes)
    assert result.returncode == 0, result.stderr
    generate_store(load_params(params), tmp_path / "local", scheduler="synchronous")
    for name in (f"shard-{i:05d}.h5" for i in range(6)):
        assert (tmp_path / "shared" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert read_manifest(tmp_path / "shared") == read_manifest(tmp_path / "local")
