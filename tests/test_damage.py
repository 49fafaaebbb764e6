"""A damaged shard never hangs a command, and a stop signal ends one stuck in native code.

The reproduction of issue 35: 64 zero bytes at offset 4000 of a train shard land on an
HDF5 object header, and reading a root attribute then loops in C for ever, holding the
GIL. Every command and reader must end within seconds with one line naming the shard.
Everything that could hang runs in a child process under a hard time limit, so that a
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import REPO, made_store
from pipeline.watchdog import GRACE_ENV

DAMAGED = "shard-00003.h5"  # a train shard
LIMIT_ENV = {"MASSFIELD_OPEN_LIMIT_S": "2"}  # the sandbox's fixed allowance, for speed
GRACE = 4.0  # the watchdog's grace in the stuck commands below (20 s unless set), for speed


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The issue's store: 320 samples in shards of 40."""
    return made_store(tmp_path_factory.mktemp("damage"), n_samples=320, shard_size=40)


def damaged_copy(pristine: Path, target: Path, offset: int = 4000, data: bytes = bytes(64),
                 truncate: int | None = None) -> Path:
    shutil.copytree(pristine, target)
    path = target / DAMAGED
    content = bytearray(path.read_bytes())
    content[offset:offset + len(data)] = data
    path.write_bytes(bytes(content[:truncate]))
    return target


def _massfield(*args, env=None, timeout=90) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], cwd=REPO,
                            capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    return result, time.monotonic() - start


@pytest.mark.slow
def test_the_reproduction_ends_every_command_in_one_line(pristine, tiny_models, tmp_path):
    """train, evaluate and inspect --verify: exit 1 within seconds, naming the shard; repair
    (manifest removed) remakes it to the undamaged bytes."""
    store = damaged_copy(pristine, tmp_path / "store")
    runs = {
        "train": ("train", "rnn", "--params", pristine.parent / "params.yaml", "--data", store,
                  "--out", tmp_path / "models", "--set", "train.rnn.epochs=1"),
        "evaluate": ("evaluate", "--data", store, "--models", tiny_models, "--metrics",
                     tmp_path / "m.json", "--predictions", tmp_path / "p.csv"),
        "inspect --verify": ("inspect", "--verify", store),
    }
    for name, args in runs.items():
        result, seconds = _massfield(*args)
        assert result.returncode == 1, (name, result.stderr)
        assert seconds < 60, (name, seconds)  # TensorFlow's import included
        assert "Traceback" not in result.stderr, result.stderr
        output = (result.stdout + result.stderr).strip().splitlines()
        named = [line for line in output if DAMAGED in line]
        assert len(named) == 1 and "within 5 s (damaged metadata)" in named[0], (name, output)
    (store / "manifest.json").unlink()
    result, seconds = _massfield("repair", store, "--scheduler", "synchronous")
    assert result.returncode == 0 and seconds < 60, result.stderr
    assert f"note: {DAMAGED}: HDF5 did not finish reading it" in result.stderr
    assert (store / DAMAGED).read_bytes() == (pristine / DAMAGED).read_bytes()


READERS = """
    import sys, time
    import massfield, massfield.torch
    from pipeline.learn.data import split_dataset
    from pipeline.store import integrity
    readers = {
        "files": lambda store: store.files("train"),
        "batches": lambda store: next(massfield.batches(store, "train", 8)),
        "read_split": lambda store: massfield.read_split(store, "train"),
        "tf.data": lambda store: split_dataset(store.directory, "train", "crnn", 8),
        "torch by sample": lambda store: massfield.torch.ShardDataset(store, "train"),
        "torch by batch": lambda store: massfield.torch.ShardBatches(store, "train", 8),
    }
    for name, read in readers.items():
        integrity._CHECKED.clear(); integrity._EXAMINED.clear()  # each reader proves anew
        start = time.monotonic()
        try:
            read(massfield.open_store(sys.argv[1]))
            outcome = "accepted"
        except massfield.MassfieldError as exc:
            outcome = f"refused: {exc}"
        print(f"{name} | {time.monotonic() - start:.1f} | {outcome}", flush=True)
"""


@pytest.mark.slow
def test_every_reader_refuses_the_reproduction_within_seconds(pristine, tmp_path):
    store = damaged_copy(pristine, tmp_path / "store")
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(READERS), str(store)],
                            cwd=REPO, capture_output=True, text=True, timeout=180,
                            env={**os.environ, **LIMIT_ENV})
    lines = [line.split(" | ") for line in result.stdout.splitlines()]
    assert len(lines) == 6, result.stdout + result.stderr
    for name, seconds, outcome in lines:
        assert outcome.startswith(f"refused: {store / DAMAGED}: HDF5 did not finish"), name
        assert float(seconds) < 10, (name, seconds)


FUZZ = """
    import json, os, shutil, sys, time
    from pathlib import Path
    import numpy as np
    from click.testing import CliRunner
    import massfield, massfield.torch
    from pipeline.cli import main
    from pipeline.learn.data import split_dataset
    from pipeline.store import integrity, sandbox

    pristine, work = Path(sys.argv[1]), Path(sys.argv[2])
    original = (pristine / "shard-00003.h5").read_bytes()
    manifest = json.loads((pristine / "manifest.json").read_text())
    recorded = {entry["file"]: entry for entry in manifest["shards"]}
    rng = np.random.default_rng(35)
    cases = [("zeros", 4000, 64, None)]  # the issue's
    for i in range(12):
        metadata = i < 8  # HDF5 keeps headers and attributes in the first ~12 kB
        offset = int(rng.integers(0, 12000 if metadata else len(original)))
        length = int(rng.choice([1, 8, 64, 512]))
        cases.append(("zeros" if i % 2 else "random", offset, length, None))
    cuts = (4000, len(original) // 2, len(original) - 1)
    cases += [("truncated", 0, 0, cut) for cut in cuts]
    runner = CliRunner()
    for kind, offset, length, cut in cases:
        data = bytes(length) if kind == "zeros" else rng.bytes(length)
        content = bytearray(original); content[offset:offset + length] = data
        store = work / "store"
        shutil.rmtree(store, ignore_errors=True); shutil.copytree(pristine, store)
        damaged = bytes(content[:cut])
        (store / "shard-00003.h5").write_bytes(damaged)
        start, outcomes = time.monotonic(), []
        for read in (lambda s: s.files("train"), lambda s: next(massfield.batches(s, "train", 8)),
                     lambda s: split_dataset(s.directory, "train", "crnn", 8),
                     lambda s: massfield.torch.ShardBatches(s, "train", 8)):
            try:
                read(massfield.open_store(store)); outcomes.append("accepted")
            except massfield.MassfieldError as exc:
                assert str(exc).startswith(str(store / "shard-00003.h5")), exc
                outcomes.append("refused")
        assert len(set(outcomes)) == 1, outcomes  # every reader the same answer
        if outcomes[0] == "accepted":  # only if every value still matches its checksum
            proof = sandbox.call(integrity.read_proof, store / "shard-00003.h5")
            assert proof["content"] == recorded["shard-00003.h5"]["content_sha256"], proof
        verify = runner.invoke(main, ["inspect", "--verify", str(store)])
        if damaged == original:  # zeros where zeros were, or the same random byte
            assert verify.exit_code == 0 and outcomes[0] == "accepted", verify.output
        else:  # strict: even the same values in other bytes are reported
            assert verify.exit_code == 1 and "shard-00003.h5:" in verify.output, verify.output
        (store / "manifest.json").unlink()
        repair = runner.invoke(main, ["repair", str(store), "--scheduler", "synchronous"])
        assert repair.exit_code == 0, repair.output
        if (store / "shard-00003.h5").read_bytes() != original:  # kept: it proved itself
            proof = sandbox.call(integrity.read_proof, store / "shard-00003.h5")
            assert proof["content"] == recorded["shard-00003.h5"]["content_sha256"], proof
        print(f"{kind} {offset} {length} {cut} | {outcomes[0]} | {time.monotonic() - start:.1f}",
              flush=True)
"""


@pytest.mark.slow
def test_fuzzed_damage_ends_in_one_line_or_is_proven_harmless(pristine, tmp_path):
    """Seeded damage — zeros and random bytes in metadata and data, truncation — through
    the readers (files, batches, tf.data, PyTorch), inspect --verify and repair."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(FUZZ), str(pristine),
                             str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                            timeout=400, env={**os.environ, **LIMIT_ENV})
    lines = [line.split(" | ") for line in result.stdout.splitlines()]
    assert result.returncode == 0 and len(lines) == 16, result.stdout + result.stderr[-3000:]
    assert max(float(seconds) for *_, seconds in lines) < 20, result.stdout
    refused = [case for case, outcome, _ in lines if outcome == "refused"]
    assert "zeros 4000 64 None" in refused and len(refused) >= len(lines) // 2, result.stdout


STUCK = """
    import sys
    from pipeline.console import user_errors

    import h5py
    from numba import njit

    @njit
    def spin(n):  # a long kernel: compiled code holds the GIL
        x = 1
        for _ in range(n):
            x = (x * 1103515245 + 12345) % 2147483648
        return x

    @user_errors
    def stuck(how, path):
        spin(1)  # compiled before the signal
        print("stuck", flush=True)
        if how == "numba":
            spin(10 ** 13)
        with h5py.File(path, "r") as h5:  # HDF5 on the issue's damaged metadata: loops in C
            [h5.attrs[key] for key in h5.attrs]

    stuck(sys.argv[1], sys.argv[2])
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["numba", "hdf5"])
def test_sigterm_ends_a_command_stuck_in_native_code(how, pristine, tmp_path):
    """The command's handler cannot run; the watchdog ends it its grace later (here
    shortened through MASSFIELD_STOP_GRACE_S), by the signal itself (exit status 143 in a
    shell, SLURM or Kubernetes)."""
    store = damaged_copy(pristine, tmp_path / "store")
    run = subprocess.Popen([sys.executable, "-c", textwrap.dedent(STUCK), how,
                            str(store / DAMAGED)], cwd=REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True,
                           env={**os.environ, GRACE_ENV: str(GRACE)})
    try:
        assert run.stdout.readline() == "stuck\n"
        time.sleep(1.0)  # inside the native call
        start = time.monotonic()
        os.killpg(run.pid, signal.SIGTERM)
        _, stderr = run.communicate(timeout=GRACE + 20)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    seconds = time.monotonic() - start
    assert run.returncode == -signal.SIGTERM, stderr  # died of it: a shell's 143
    assert GRACE - 0.5 < seconds < GRACE + 4, seconds
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert errors == [stderr.strip().splitlines()[-1]], stderr
    assert errors[0].startswith(f"error: interrupted by SIGTERM: still running {GRACE:g} s later")


@pytest.mark.parametrize("value", ["soon", "0", "-3", "inf", "nan"])
def test_a_grace_that_is_no_positive_number_is_one_line(value, tmp_path):
    """MASSFIELD_STOP_GRACE_S is checked before any command runs; unset, the grace is the
    20 s README promises."""
    from click.testing import CliRunner

    from pipeline.cli import main
    from pipeline.watchdog import GRACE_S, grace_seconds

    result = CliRunner().invoke(main, ["inspect", str(tmp_path)], env={GRACE_ENV: value})
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: {GRACE_ENV}={value!r}: expected seconds > 0 "
                                     f"(unset: 20)")
    assert GRACE_S == 20 and grace_seconds() == 20
