"""Faults end cleanly: a full disk, a read-only target, Ctrl-C, a lost worker, a killed
scheduler. Each gives one line with what was kept and exit 1, leaves nothing partial under
a final name, and a re-run resumes to the bytes of an undisturbed run.

The disk is a real tmpfs the test mounts (skipped where mounting is not allowed)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

import cluster
from conftest import REPO, write_params
from pipeline.config import load_params
from pipeline.store.generate import generate_store

pytestmark = pytest.mark.slow
SHARD_BYTES = 130_000  # a 20-sample shard of the default physics is ~128 kB


def _bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("shard-*.h5"))}


def _mount(path: Path, size: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of room for about three shards; unmounted afterwards."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    if shutil.which("mount") is None or not _mount(mount, 3 * SHARD_BYTES + 40_000):
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture
def fault_params(tmp_path):
    return write_params(tmp_path / "params.yaml", generate={"n_samples": 200, "shard_size": 20})


@pytest.fixture
def reference(fault_params, tmp_path):
    generate_store(load_params(fault_params), tmp_path / "reference", scheduler="synchronous")
    return _bytes(tmp_path / "reference")


def _generate(params: Path, out: Path, *extra, env=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipeline.cli", "generate", "--params", str(params),
               "--out", str(out), *extra]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=env)


def _one_error_line(result, *fragments):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def _whole(directory: Path) -> None:
    """Nothing partial: no leftovers, and every shard under a final name proves itself."""
    from pipeline.store.integrity import prove_shard

    assert not list(directory.glob("*.partial"))
    for path in directory.glob("shard-*.h5"):
        assert prove_shard(path)[0] is not None, path


@pytest.mark.parametrize("scheduler", ["synchronous", "processes"])
def test_a_full_disk_keeps_what_is_complete_and_resumes(scheduler, small_disk, fault_params,
                                                        reference):
    out = small_disk / "store"
    result = _generate(fault_params, out, "--scheduler", scheduler, "--workers", "2")
    line = _one_error_line(result, "disk full while writing shard-", "free space and re-run")
    kept = len(list(out.glob("shard-*.h5")))
    assert f"{kept} of 10 shards complete" in line and 1 <= kept < 10
    _whole(out)
    assert not (out / "manifest.json").exists()
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    assert _generate(fault_params, out, "--scheduler", scheduler).returncode == 0
    assert _bytes(out) == reference


def test_a_read_only_target_is_one_line(small_disk, fault_params):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = _generate(fault_params, small_disk / "store", "--scheduler", "synchronous")
    _one_error_line(result, "Read-only file system", "choose another --out")


def _started(params: Path, out: Path, *extra, shards: int = 2, env=None) -> subprocess.Popen:
    """A generate run in its own process group, returned once ``shards`` shards exist."""
    command = [sys.executable, "-m", "pipeline.cli", "generate", "--params", str(params),
               "--out", str(out), *extra]
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, start_new_session=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("shard-*.h5"))) < shards:
        time.sleep(0.02)
    return run


@pytest.fixture
def slow_params(tmp_path):
    """Shards that take a while (a 512-pixel field), so that a fault lands mid-run."""
    return write_params(tmp_path / "slow.yaml", physics={"size": 512, "downsample": 16},
                        generate={"n_samples": 3000, "shard_size": 100})


def _workers(pid: int) -> list[int]:
    """The Dask worker processes a local cluster spawned (not multiprocessing's tracker)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        return [child.pid for child in psutil.Process(pid).children(recursive=True)
                if "spawn_main" in " ".join(child.cmdline())]
    return []


def test_ctrl_c_stops_the_workers(slow_params, tmp_path):
    out = tmp_path / "store"
    run = _started(slow_params, out, "--workers", "2")
    workers = _workers(run.pid)
    assert workers, "the Dask workers should be running"
    os.killpg(run.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    stdout, stderr = run.communicate(timeout=120)
    result = subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)
    line = _one_error_line(result, "interrupted:", "re-run `massfield generate` to resume")
    assert f"{len(list(out.glob('shard-*.h5')))} of 30 shards complete" in line
    time.sleep(1)
    assert not [pid for pid in workers if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    _whole(out)


def test_a_worker_killed_mid_run_is_replaced_and_the_store_is_whole(slow_params, tmp_path):
    out = tmp_path / "store"
    run = _started(slow_params, out, "--workers", "2")
    worker = _workers(run.pid)[-1]
    os.kill(worker, signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert "Traceback" not in stderr
    reference = tmp_path / "reference"
    generate_store(load_params(slow_params), reference, scheduler="synchronous")
    assert _bytes(out) == _bytes(reference)


def test_a_worker_dying_too_often_is_one_line(slow_params, tmp_path):
    out = tmp_path / "store"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    run = _started(slow_params, out, "--workers", "2", env=env)
    os.kill(_workers(run.pid)[-1], signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=300)
    line = _one_error_line(subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr),
                           "a Dask worker died", "re-run to resume")
    assert "KilledWorker" in line
    _whole(out)


def test_a_killed_scheduler_is_one_line_and_a_new_cluster_resumes(slow_params, tmp_path):
    port = cluster.free_port()
    scheduler, workers = cluster.start(port)
    out = tmp_path / "store"
    try:
        run = _started(slow_params, out, "--scheduler", f"tcp://127.0.0.1:{port}")
        cluster.stop(scheduler)
        stdout, stderr = run.communicate(timeout=120)
        _one_error_line(subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr),
                        "lost the Dask scheduler", "re-run to resume")
    finally:
        cluster.stop(scheduler, workers)
    scheduler, workers = cluster.start(port)
    try:
        result = _generate(slow_params, out, "--scheduler", f"tcp://127.0.0.1:{port}")
        assert result.returncode == 0, result.stderr
    finally:
        cluster.stop(scheduler, workers)
    _whole(out)
    reference = tmp_path / "reference"
    generate_store(load_params(slow_params), reference, scheduler="synchronous")
    assert _bytes(out) == _bytes(reference)
