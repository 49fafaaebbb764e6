"""Shards on disk: determinism across schedulers, resume, refusal, locking, verification."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from distributed import LocalCluster

from conftest import write_params
from pipeline.cli import main
from pipeline.config import SplitFractions, load_params
from pipeline.errors import ConfigError, DataError
from pipeline.store.generate import generate_store
from pipeline.store.lock import store_lock
from pipeline.store.manifest import assign_splits, read_manifest, read_stats
from pipeline.store.schema import DATASETS, SPLITS, shard_name
from pipeline.store.shard import shard_image
from pipeline.store.summary import verify_location


def verify_store(directory):
    return verify_location(directory)[0]


def _bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("shard-*.h5"))}


def test_store_layout_attributes_and_manifest(tiny_store):
    manifest = read_manifest(tiny_store)
    assert ([e["split"] for e in manifest["shards"]]
            == ["train", "validation", "test", "train", "train"])
    assert manifest["n_samples"] == 40
    params = load_params(tiny_store.parent / "params.yaml")
    with h5py.File(tiny_store / "shard-00000.h5") as h5:
        assert set(h5.keys()) == {d.name for d in DATASETS if d.written(params)}
        assert "potential_true" not in h5  # no observation noise: ψ is the truth
        assert h5["encoding"].shape == (8, 10, 32, 32) and h5["encoding"].dtype == np.float32
        assert h5["trajectory"].shape == (8, 100, 2)
        assert h5["encoding"].chunks == (1, 10, 32, 32)
        assert h5["encoding"].compression == "gzip"
        for spec in DATASETS:
            if spec.name in h5:
                assert h5[spec.name].attrs["units"] and h5[spec.name].attrs["description"]
        assert h5.attrs["shard_index"] == 0 and h5.attrs["schema_version"] == 3
        assert len(h5.attrs["content_sha256"]) == 64
        for name in h5:  # any HDF5 reader can check a dataset with hashlib
            assert h5[name].attrs["sha256"] == hashlib.sha256(h5[name][()].tobytes()).hexdigest()
        assert json.loads(h5.attrs["params"])["generate"]["seed"] == 7
        assert "n_samples" not in json.loads(h5.attrs["params"])["generate"]  # any store size
        np.testing.assert_array_equal(h5["positions"][()], h5["trajectory"][:, ::10])
    stats = read_stats(tiny_store)
    assert stats["n_train_samples"] == 24
    assert 0.1 < stats["mass"]["mean"] < 1.0 and stats["potential"]["std"] > 0


@pytest.mark.slow
def test_local_cluster_and_threads_give_byte_identical_shards(tiny_store, tmp_path):
    params = load_params(tiny_store.parent / "params.yaml")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        generate_store(params, tmp_path / "cluster", scheduler=cluster.scheduler_address)
    generate_store(params, tmp_path / "threads", scheduler="threads", workers=2)
    reference = _bytes(tiny_store)
    assert len(reference) == 5
    assert _bytes(tmp_path / "cluster") == reference
    assert _bytes(tmp_path / "threads") == reference
    assert (read_manifest(tmp_path / "cluster")["shards"]
            == read_manifest(tiny_store)["shards"])


def test_rerun_keeps_valid_shards_and_remakes_missing_or_damaged(tiny_store, tmp_path):
    params = load_params(tiny_store.parent / "params.yaml")
    store = tmp_path / "store"
    generate_store(params, store, scheduler="synchronous")
    (store / "shard-00001.h5").unlink()
    damaged = store / "shard-00003.h5"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    untouched = (store / "shard-00000.h5").stat().st_mtime_ns
    made = []
    generate_store(params, store, scheduler="synchronous",
                   on_plan=lambda todo, total: made.append(todo))
    assert made == [2]
    assert (store / "shard-00000.h5").stat().st_mtime_ns == untouched
    assert _bytes(store) == _bytes(tiny_store)


def test_different_params_are_refused_unless_overwrite(tiny_store, tmp_path):
    params = load_params(tiny_store.parent / "params.yaml")
    store = tmp_path / "store"
    generate_store(params, store, scheduler="synchronous")
    other = load_params(tiny_store.parent / "params.yaml", ("generate.seed=8",))
    with pytest.raises(ConfigError, match="generate.seed.*--overwrite"):
        generate_store(other, store, scheduler="synchronous")
    assert _bytes(store) == _bytes(tiny_store)  # nothing lost
    generate_store(other, store, scheduler="synchronous", overwrite=True)
    assert _bytes(store) != _bytes(tiny_store)
    assert read_manifest(store)["params"]["generate"]["seed"] == 8


def test_splits_ignore_the_number_of_shards():
    """Shard i's split depends on i and the fractions alone: every store is a prefix of a
    larger one, split as closely to the fractions as whole shards allow."""
    fractions = SplitFractions()
    longest = assign_splits(400, fractions)
    for n in range(1, 400):
        splits = assign_splits(n, fractions)
        assert splits == longest[:n]
        if n >= 3:
            for name in SPLITS:
                assert abs(splits.count(name) - getattr(fractions, name) * n) < 1.5, (n, name)
    default = assign_splits(20, fractions)
    assert [default.count(name) for name in SPLITS] == [16, 2, 2]


def _store_params(tmp_path, n_samples, **physics):
    path = write_params(tmp_path / f"p{n_samples}.yaml", physics=physics,
                        generate={"n_samples": n_samples, "shard_size": 8})
    return load_params(path)


def test_a_grown_store_is_the_store_made_at_its_size(tmp_path):
    grown, direct = tmp_path / "grown", tmp_path / "direct"
    generate_store(_store_params(tmp_path, 64), grown, scheduler="synchronous")
    originals = _bytes(grown)
    test_before = [e["file"] for e in read_manifest(grown)["shards"] if e["split"] == "test"]
    plans = []
    generate_store(_store_params(tmp_path, 128), grown, scheduler="synchronous",
                   on_plan=lambda todo, total: plans.append((todo, total)))
    generate_store(_store_params(tmp_path, 128), direct, scheduler="synchronous")
    assert plans == [(8, 16)]  # only the new shards are made
    assert _bytes(grown) == _bytes(direct) and len(originals) == 8
    assert all(_bytes(grown)[name] == data for name, data in originals.items())
    assert read_manifest(grown) == read_manifest(direct)
    test_after = [e["file"] for e in read_manifest(grown)["shards"] if e["split"] == "test"]
    assert set(test_before) < set(test_after)
    with pytest.raises(ConfigError, match="grows but does not shrink.*--overwrite"):
        generate_store(_store_params(tmp_path, 64), grown, scheduler="synchronous")


def test_a_partial_last_shard_is_completed_when_the_store_grows(tmp_path):
    store, direct = tmp_path / "store", tmp_path / "direct"
    generate_store(_store_params(tmp_path, 60), store, scheduler="synchronous")  # 7 + 4/8
    before = _bytes(store)
    generate_store(_store_params(tmp_path, 80), store, scheduler="synchronous")
    generate_store(_store_params(tmp_path, 80), direct, scheduler="synchronous")
    assert _bytes(store) == _bytes(direct)
    assert [name for name in before if before[name] == _bytes(store)[name]] == sorted(
        before)[:7]


def _observation_noise(directory: Path, physics) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(directory / "shard-00000.h5") as h5:
        positions = h5["positions"][()] - h5["trajectory"][()][:, list(physics.kept_steps)]
        psi = h5["potential"][()].astype(np.float64) - h5["potential_true"][()]
        return positions, psi


@pytest.mark.slow
def test_noisy_stores_are_one_function_of_their_params(tmp_path):
    """Observation noise comes from each sample's own stream, after everything else: the same
    bytes on a local cluster, the truth untouched, and other noise levels scale the same
    draws."""
    noisy = _store_params(tmp_path, 32, position_noise=0.3, potential_noise=0.01)
    generate_store(noisy, tmp_path / "sync", scheduler="synchronous")
    generate_store(noisy, tmp_path / "cluster", scheduler="processes", workers=2)
    assert _bytes(tmp_path / "sync") == _bytes(tmp_path / "cluster")
    exact = _store_params(tmp_path, 32)
    generate_store(exact, tmp_path / "exact", scheduler="synchronous")
    with h5py.File(tmp_path / "sync" / "shard-00001.h5") as a, \
            h5py.File(tmp_path / "exact" / "shard-00001.h5") as b:
        for name in ("trajectory", "mass", "noise_offset", "redraws"):
            np.testing.assert_array_equal(a[name][()], b[name][()])
        np.testing.assert_array_equal(a["potential_true"][()], b["potential"][()])
        assert not np.array_equal(a["encoding"][()], b["encoding"][()])
    positions, psi = _observation_noise(tmp_path / "sync", noisy.physics)
    assert 0.25 < positions.std() < 0.35 and 0.009 < psi.std() < 0.011
    lower = _store_params(tmp_path, 16, position_noise=0.1, potential_noise=0.01)
    generate_store(lower, tmp_path / "lower", scheduler="synchronous")
    np.testing.assert_allclose(_observation_noise(tmp_path / "lower", lower.physics)[0] * 3,
                               positions, rtol=1e-6, atol=1e-9)
    assert verify_store(tmp_path / "sync") == {}


def test_second_writer_is_refused_by_the_lock(tiny_store, tmp_path):
    params = load_params(tiny_store.parent / "params.yaml")
    store = tmp_path / "store"
    store.mkdir()
    with store_lock(store):
        with pytest.raises(DataError, match="another `massfield generate`"):
            generate_store(params, store, scheduler="synchronous")
    assert not list(store.glob("shard-*"))


@pytest.mark.slow
@pytest.mark.parametrize("physics", [{}, {"position_noise": 1.0, "potential_noise": 0.001}],
                         ids=["exact", "noisy"])
def test_sigkill_mid_run_then_rerun_completes_identically(physics, tmp_path):
    params_file = write_params(tmp_path / "params.yaml", physics=physics,
                               generate={"n_samples": 60, "shard_size": 6})
    store = tmp_path / "store"
    command = [sys.executable, "-m", "pipeline.cli", "generate", "--params", str(params_file),
               "--out", str(store), "--workers", "1"]
    run = subprocess.Popen(command, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(store.glob("shard-*.h5"))) < 2:
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)  # the run and its Dask workers, mid-shard
    run.wait()
    finished = sorted(store.glob("shard-*.h5"))
    assert 2 <= len(finished) < 10, "kill landed mid-run"
    assert not (store / "manifest.json").exists()
    for path in finished:  # every file under a final name is whole
        with h5py.File(path) as h5:
            assert np.isfinite(h5["trajectory"][()]).all()
    subprocess.run(command, check=True, capture_output=True)
    reference = tmp_path / "reference"
    generate_store(load_params(params_file), reference, scheduler="synchronous")
    assert _bytes(store) == _bytes(reference)
    assert not list(store.glob("*.partial"))
    assert verify_store(store) == {}


def test_verify_names_truncated_and_flipped_shards(tiny_store, tmp_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(tiny_store, store)
    assert verify_store(store) == {}
    truncated = store / "shard-00001.h5"
    truncated.write_bytes(truncated.read_bytes()[:5000])
    flipped = store / "shard-00002.h5"
    data = bytearray(flipped.read_bytes())
    data[-3000] ^= 0x55
    flipped.write_bytes(bytes(data))
    problems = verify_store(store)
    assert set(problems) == {"shard-00001.h5", "shard-00002.h5"}
    assert "truncated or corrupt" in " ".join(problems["shard-00001.h5"])
    assert "checksum" in " ".join(problems["shard-00002.h5"])
    # without a manifest: schema and values still checked, checksums skipped
    (store / "manifest.json").unlink()
    problems = verify_store(store)
    assert "shard-00001.h5" in problems and "shard-00000.h5" not in problems


def test_verify_catches_physically_wrong_values(tiny_store, tmp_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(tiny_store, store)
    (store / "manifest.json").unlink()
    with h5py.File(store / "shard-00000.h5", "r+") as h5:
        h5["mass"][0] = 5.0
        h5["positions"][1, 3] += 20.0
        h5["potential"][2, 0, 0] = np.nan
    found = " ".join(verify_store(store)["shard-00000.h5"])
    assert "NaN" in found
    with h5py.File(store / "shard-00000.h5", "r+") as h5:
        h5["potential"][2, 0, 0] = 0.0
    found = " ".join(verify_store(store)["shard-00000.h5"])
    assert "mass outside its prior" in found and "centroids" in found


def test_same_bytes_when_something_holds_the_datasets(tiny_store, monkeypatch):
    """Where HDF5 places a chunk depended on when its Dataset object was released: Dask's
    profiler, sampling the writer's frames, kept them alive and changed the file's bytes."""
    params = load_params(tiny_store.parent / "params.yaml")
    plain = shard_image(1, params)[0]
    held, create = [], h5py.Group.create_dataset

    def holding(self, *args, **kwargs):
        held.append(create(self, *args, **kwargs))
        return held[-1]

    monkeypatch.setattr(h5py.Group, "create_dataset", holding)
    assert shard_image(1, params)[0] == plain and held
    assert plain == (tiny_store / "shard-00001.h5").read_bytes()


def test_shards_past_the_stores_end_are_named_and_a_growth_uses_them(tiny_store, tmp_path):
    """A growth stopped mid-run, then the store re-run at its old size, leaves shard files
    past the manifest's end: verify says what they are (not damage, exit 0), and growing
    again keeps those that prove themselves."""
    grown = load_params(tiny_store.parent / "params.yaml", ("generate.n_samples=64",))
    generate_store(grown, tmp_path / "big", scheduler="synchronous")
    store = tmp_path / "store"
    shutil.copytree(tiny_store, store)
    for index in (5, 6, 7):
        shutil.copy(tmp_path / "big" / shard_name(index), store / shard_name(index))
    result = CliRunner().invoke(main, ["inspect", "--verify", str(store)])
    assert result.exit_code == 0, result.output
    assert ("5 shards checked against manifest.json, schema and values; 3 shard files past "
            "the store's end (shard-00005.h5 … shard-00007.h5), left by a larger run that "
            "was stopped, are not part of it") in result.output
    plans = []
    generate_store(grown, store, scheduler="synchronous",
                   on_plan=lambda todo, total: plans.append((todo, total)))
    assert plans == [(0, 8)]
    assert _bytes(store) == _bytes(tmp_path / "big")
