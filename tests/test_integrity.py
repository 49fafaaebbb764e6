"""Nothing unproven is trusted: resume, damaged manifests, changed bytes, other processors."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import REPO, write_params
from pipeline.cli import main
from pipeline.config import load_params
from pipeline.store.generate import generate_store
from pipeline.store.integrity import (
    CONTENT_DIGEST,
    DATASET_DIGEST,
    SAME_CONTENT,
    dataset_digest,
    recompute_content,
)
from pipeline.store.manifest import read_manifest
from pipeline.store.reader import shard_files


def _bytes(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.glob("shard-*.h5"))}


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def store(tiny_store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(tiny_store, copy)
    return copy


def _params(tiny_store):
    return load_params(tiny_store.parent / "params.yaml")


def _change_mass(path):
    with h5py.File(path, "r+") as h5:
        h5["mass"][0] += 1e-3


def _reseal(path, name, values):
    """Rewrite a dataset and every checksum as the writer would: a consistent shard whose
    values are not what its params make."""
    with h5py.File(path, "r+") as h5:
        h5[name][...] = values
        h5[name].attrs[DATASET_DIGEST] = dataset_digest(h5[name])
        h5.attrs[CONTENT_DIGEST] = recompute_content(h5)[0]


def test_without_a_manifest_a_rerun_remakes_what_does_not_prove_itself(tiny_store, store):
    (store / "manifest.json").unlink()
    _change_mass(store / "shard-00002.h5")  # a corrupt shard, and no record to compare with
    kept = (store / "shard-00000.h5").stat().st_mtime_ns
    plans = []
    generate_store(_params(tiny_store), store, scheduler="synchronous",
                   on_plan=lambda todo, total: plans.append(todo))
    assert plans == [1]  # only the corrupt shard is made again
    assert (store / "shard-00000.h5").stat().st_mtime_ns == kept
    assert _bytes(store) == _bytes(tiny_store)
    assert read_manifest(store) == read_manifest(tiny_store)


@pytest.mark.parametrize("damage", ["flip", "empty list", "other schema"])
def test_a_damaged_manifest_is_rebuilt_from_proven_shards(tiny_store, store, damage):
    path = store / "manifest.json"
    if damage == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 3] ^= 0x55
        path.write_bytes(bytes(data))
    else:
        path.write_text("[]" if damage == "empty list" else json.dumps({"schema_version": 1}))
    result = _run("train", "rnn", "--data", store)
    assert result.exit_code == 1 and f"massfield repair {store}" in result.stderr
    notes = []
    generate_store(_params(tiny_store), store, scheduler="synchronous", on_note=notes.append)
    assert len(notes) == 1 and "rebuilt from the shards" in notes[0]
    assert read_manifest(store) == read_manifest(tiny_store)
    assert _bytes(store) == _bytes(tiny_store)


def test_repair_needs_no_params_and_restores_the_recorded_bytes(tiny_store, store):
    (store / "shard-00001.h5").unlink()
    _change_mass(store / "shard-00003.h5")
    (store / "manifest.json").write_text("{")
    result = _run("repair", store, "--scheduler", "synchronous")
    assert result.exit_code == 0, result.output
    assert _bytes(store) == _bytes(tiny_store)
    assert _run("inspect", "--verify", store).exit_code == 0


def test_same_data_in_other_bytes_is_read_but_reported_by_verify(tiny_store, store):
    """A byte where no data lies (found by search): readers may use the shard, since every
    value and attribute proves itself; --verify says the bytes differ; repair restores them."""
    path = store / "shard-00002.h5"
    original = path.read_bytes()
    for offset in range(len(original) - 1, 0, -97):
        data = bytearray(original)
        data[offset] ^= 0x55
        path.write_bytes(bytes(data))
        try:
            with h5py.File(path, "r") as h5:
                if recompute_content(h5)[0] == h5.attrs[CONTENT_DIGEST]:
                    break
        except (OSError, KeyError, RuntimeError):
            pass
    else:
        pytest.fail("no byte of the shard lies outside its data")
    assert shard_files(store, "train")  # readers accept it
    result = _run("inspect", "--verify", store)
    assert result.exit_code == 1 and SAME_CONTENT in result.output
    generate_store(_params(tiny_store), store, scheduler="synchronous")
    assert path.read_bytes() == original


def test_resimulation_tells_other_arithmetic_from_damage(store):
    path = store / "shard-00000.h5"
    (store / "manifest.json").unlink()
    with h5py.File(path, "r") as h5:
        trajectory, mass = h5["trajectory"][()], h5["mass"][()]
    _reseal(path, "trajectory", trajectory * (1 + 1e-15))  # last bits, as another processor
    result = _run("inspect", "--verify", "--resimulate", "3", store)
    assert result.exit_code == 0, result.output
    assert "numerically equal, bits differ" in result.output
    _reseal(path, "mass", mass + 1e-3)  # still in range, not arithmetic
    result = _run("inspect", "--verify", "--resimulate", "3", store)
    assert result.exit_code == 1
    assert "does not match its params and seed" in result.output


def _avx512() -> bool:
    from numpy._core._multiarray_umath import __cpu_features__

    return bool(__cpu_features__.get("AVX512F"))


@pytest.mark.slow
@pytest.mark.skipif(not _avx512(), reason="needs an AVX-512 processor to compare both paths")
def test_same_bytes_whatever_numpy_dispatches(tmp_path):
    """NumPy picks exp by processor: with and without AVX-512 it differs in the last bits
    (checked first, so the comparison below means something); the shards must not."""
    script = ("import numpy as np; a = np.linspace(-25, 25, 256); "
              "print(np.exp(np.abs(a) - 25).tobytes().hex())")
    plain = {**os.environ, "NPY_DISABLE_CPU_FEATURES": ""}
    no_avx512 = {**os.environ, "NPY_DISABLE_CPU_FEATURES": "X86_V4"}
    outputs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, check=True).stdout for env in (plain, no_avx512)]
    assert outputs[0] != outputs[1]
    command = [sys.executable, "-m", "pipeline.cli", "generate", "--scheduler", "synchronous",
               "--set", "generate.n_samples=2000", "--set", "generate.shard_size=1000"]
    for name, env in (("plain", plain), ("no-avx512", no_avx512)):
        subprocess.run(command + ["--out", str(tmp_path / name)], env=env, cwd=REPO,
                       check=True, capture_output=True)
    digests = [{name: hashlib.sha256(data).hexdigest() for name, data in _bytes(
        tmp_path / run).items()} for run in ("plain", "no-avx512")]
    assert digests[0] == digests[1]
    assert np.array_equal(*(h5py.File(tmp_path / n / "shard-00000.h5")["trajectory"][()]
                            for n in ("plain", "no-avx512")))


def test_verify_holds_observations_to_the_truth_and_the_recorded_noise(tmp_path):
    """inspect --verify: exact positions equal the trajectory; noisy ones differ from it by
    the recorded σ, not by more (a consistent shard whose noise is not what it says)."""
    params = write_params(tmp_path / "noisy.yaml", physics={"position_noise": 0.3,
                                                            "potential_noise": 0.01})
    for name, path in (("noisy", params), ("exact", tmp_path / "exact.yaml")):
        if name == "exact":
            write_params(path)
        assert _run("generate", "--params", path, "--out", tmp_path / name, "--scheduler",
                    "synchronous").exit_code == 0
        assert _run("inspect", "--verify", tmp_path / name).exit_code == 0
    with h5py.File(tmp_path / "noisy" / "shard-00001.h5") as h5:
        truth = h5["trajectory"][()][:, ::10]
        positions = truth + 3 * (h5["positions"][()] - truth)  # σ 0.9, recorded 0.3
    with h5py.File(tmp_path / "noisy" / "shard-00002.h5") as h5:
        psi = h5["potential_true"][()]
    _reseal(tmp_path / "noisy" / "shard-00001.h5", "positions", positions)
    _reseal(tmp_path / "noisy" / "shard-00002.h5", "potential", psi)  # no noise at all
    with h5py.File(tmp_path / "exact" / "shard-00003.h5") as h5:
        exact_truth = h5["trajectory"][()][:, ::10]
    _reseal(tmp_path / "exact" / "shard-00003.h5", "positions", exact_truth + 0.01)
    for name in ("noisy", "exact"):
        (tmp_path / name / "manifest.json").unlink()  # the shards prove themselves
    noisy = _run("inspect", "--verify", tmp_path / "noisy")
    assert noisy.exit_code == 1
    assert re.search(r"shard-00001.h5: .*positions differs from the truth by 0\.[89]\d* rms "
                     r"\(mean [-\d.e]+\), not the recorded noise σ = 0.3", noisy.output)
    assert "shard-00002.h5: potential differs from the truth by 0 rms" in noisy.output
    exact = _run("inspect", "--verify", tmp_path / "exact")
    assert exact.exit_code == 1 and re.search(
        r"shard-00003.h5: .*positions differs from the truth by up to 0.01 though its recorded "
        r"noise is 0", exact.output)
