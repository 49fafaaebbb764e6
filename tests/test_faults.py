"""Faults end cleanly: a full disk, a store too large for its disk, a read-only target,
Ctrl-C, SIGTERM and SIGHUP, a lost worker, a killed scheduler. Each gives one line with
what was kept and exit 1 (a stop signal: 128 + its number), leaves nothing partial under a
final name, and a re-run resumes to the bytes of an undisturbed run.

The disk is a real tmpfs the test mounts (skipped where mounting is not allowed); signals
are real, sent to the command's whole process group as SLURM and a terminal send them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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
# A 20-sample shard of the default physics: 146,631 bytes (36 pages of tmpfs), of which
# 117,120 are stored raw (ψ, trajectory, positions): generate's lower bound.


def _bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("shard-*.h5"))}


def _mount(path: Path, size: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of 320 pages: room for eight of the ten shards of ``fault_params`` (1.47 MB)
    but more than their raw datasets (1.17 MB), so that generate starts and the disk fills
    mid-run; unmounted afterwards."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    if shutil.which("mount") is None or not _mount(mount, 320 * 4096):
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


def _one_error_line(result, *fragments, code=1):
    assert result.returncode == code, result.stderr
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


def _stopped(run: subprocess.Popen, signum: int, timeout: float = 120):
    """Send ``signum`` to the run's whole process group (as SLURM, Kubernetes and a
    terminal do) and wait for it to end."""
    os.killpg(run.pid, signum)
    stdout, stderr = run.communicate(timeout=timeout)
    return subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)


@pytest.mark.parametrize("signum,scheduler", [(signal.SIGINT, "processes"),
                                              (signal.SIGTERM, "processes"),
                                              (signal.SIGHUP, "synchronous")],
                         ids=["ctrl-c", "sigterm", "sighup"])
def test_stop_signals_stop_the_workers_and_say_what_was_kept(signum, scheduler, slow_params,
                                                              tmp_path):
    out = tmp_path / "store"
    run = _started(slow_params, out, "--workers", "2", "--scheduler", scheduler)
    workers = _workers(run.pid)
    assert bool(workers) == (scheduler == "processes"), "Dask workers only for processes"
    result = _stopped(run, signum)
    line = _one_error_line(result, f"interrupted by {signal.Signals(signum).name}:",
                           "re-run `massfield generate` to resume", code=128 + signum)
    assert f"{len(list(out.glob('shard-*.h5')))} of 30 shards complete" in line
    assert "leaked" not in result.stderr and "Warning" not in result.stderr, result.stderr
    time.sleep(1)
    assert not [pid for pid in workers if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    _whole(out)
    if signum == signal.SIGHUP:  # and repair, which resumes the same way, stops the same way
        before = len(list(out.glob("shard-*.h5")))
        command = [sys.executable, "-m", "pipeline.cli", "repair", str(out), "--scheduler",
                   "synchronous"]
        run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline and len(list(out.glob("shard-*.h5"))) <= before:
            time.sleep(0.02)
        _one_error_line(_stopped(run, signal.SIGTERM), "interrupted by SIGTERM:",
                        "shards complete", code=143)
        _whole(out)


def _handles(pid: int, signum: int) -> bool:
    """Whether the process has a handler for ``signum`` (the kernel's SigCgt mask): the
    command has started and Python's default (die at once) no longer applies."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def _terminated(*args: str, when=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``massfield ARGS`` sent SIGTERM once it handles it (or once ``when(stderr so far)``)."""
    log = Path(tempfile.mkstemp(suffix=".log")[1])
    with open(log, "w") as stderr:
        run = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=stderr, text=True,
                               start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline and run.poll() is None and not (
                _handles(run.pid, signal.SIGTERM) if when is None else when(log.read_text())):
            time.sleep(0.01)
        os.killpg(run.pid, signal.SIGTERM)
        try:
            stdout, _ = run.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:  # a hang is a failure, and leaves no process behind
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()
            raise
    result = subprocess.CompletedProcess(run.args, run.returncode, stdout, log.read_text())
    log.unlink()
    return result


@pytest.fixture(scope="module")
def slow_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("slow")
    params = write_params(root / "slow.yaml", physics={"size": 512, "downsample": 16},
                          generate={"n_samples": 3000, "shard_size": 100})
    generate_store(load_params(params), root / "store", scheduler="synchronous")
    return root / "store"


def test_sigterm_ends_every_long_command_in_one_line(tiny_store, tiny_models, slow_store,
                                                     tmp_path):
    """train, evaluate, repeat and inspect --verify: exit 143, one line, nothing written."""
    runs = {
        "train": ("train", "rnn", "--params", str(tiny_store.parent / "params.yaml"),
                  "--data", str(tiny_store), "--out", str(tmp_path / "models")),
        "evaluate": ("evaluate", "--data", str(tiny_store), "--models", str(tiny_models),
                     "--metrics", str(tmp_path / "m.json"), "--predictions",
                     str(tmp_path / "p.csv")),
        "repeat": ("repeat", "rnn", "--params", str(tiny_store.parent / "params.yaml"),
                   "--data", str(tiny_store), "--out", str(tmp_path / "repeats")),
        "inspect": ("inspect", "--verify", "--resimulate", "50", str(slow_store)),
    }
    for name, args in runs.items():
        result = _terminated(*args)
        _one_error_line(result, "interrupted by SIGTERM", code=143)
        assert "leaked" not in result.stderr, (name, result.stderr)
    assert not list(tmp_path.rglob("*.keras")) and not list(tmp_path.rglob("*.json"))
    assert not list(tmp_path.rglob("*.partial")) and not (tmp_path / "p.csv").exists()


def test_sigterm_during_training_names_the_model_and_the_epochs(tiny_store, tmp_path):
    params = write_params(tmp_path / "long.yaml",
                          train={"rnn": {"epochs": 50, "steps_per_epoch": 2000}})
    out = tmp_path / "models"
    result = _terminated("train", "rnn", "--params", str(params), "--data", str(tiny_store),
                         "--out", str(out), when=lambda log: "rnn: preset" in log)
    _one_error_line(result, f"{out / 'rnn.keras'}: training interrupted by SIGTERM after 0 "
                    "of 50 epochs; nothing written", "re-run `massfield train rnn`", code=143)
    assert not list(out.glob("*.keras")) and not list(out.glob("*.json"))


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / f"tiny-{uuid.uuid4().hex[:6]}"
    if shutil.which("mount") is None or not _mount(mount, 64 * 1024):
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_store_that_cannot_fit_is_refused_before_the_first_shard(tiny_disk, fault_params):
    out = tiny_disk / "store"
    result = _generate(fault_params, out, "--scheduler", "synchronous", "--set",
                       "generate.n_samples=100000000", "--set", "generate.shard_size=2000")
    _one_error_line(result, f"{out}: the 50000 shards to make need at least 585.6 GB "
                    "(5856 bytes a sample stored raw", "but only 65.5 kB are free there",
                    "make fewer generate.n_samples")
    assert not list(out.glob("shard-*")) and not list(out.glob("*.partial"))


def test_a_full_disk_while_saving_a_model_names_the_file(tiny_disk, tiny_store):
    params = write_params(tiny_disk.parent / "p.yaml",
                          train={"rnn": {"epochs": 1, "steps_per_epoch": 1}})
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "train", "rnn", "--params",
                             str(params), "--data", str(tiny_store), "--out",
                             str(tiny_disk / "models")], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    _one_error_line(result, f"{tiny_disk / 'models' / 'rnn.keras'}: disk full",
                    "free space there and re-run")
    assert not list((tiny_disk / "models").iterdir())


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
