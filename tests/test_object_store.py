"""Stores in object storage, against a real S3-compatible server on localhost (moto's
server, its own process): the same bytes as on disk, every reader, a cluster whose workers
share no directory, a killed run resumed, one writer, and one line for each mistake."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cluster
import objectstore
from conftest import REPO, write_params
from pipeline.api import batches, open_store, read_split
from pipeline.cli import main
from pipeline.config import load_params
from pipeline.errors import ConfigError, DataError
from pipeline.store.generate import generate_store
from pipeline.store.mirror import cache_root, mirror_directory

BUCKET = "massfield"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """The server's port; the environment a user would set, and a cache of our own."""
    with objectstore.s3_server() as port, pytest.MonkeyPatch.context() as env:
        for key, value in objectstore.credentials(port).items():
            env.setenv(key, value)
        env.setenv("MASSFIELD_CACHE", str(tmp_path_factory.mktemp("cache")))
        objectstore.make_bucket(BUCKET)
        yield port


def cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def command(*args, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def same_bytes(url: str, directory: Path) -> None:
    """The bucket holds exactly the store's files (the lock gone), byte for byte."""
    held = objectstore.objects(url)
    on_disk = {p.name: p.read_bytes() for p in directory.iterdir() if not p.name.startswith(".")}
    assert sorted(held) == sorted(on_disk)
    for name, data in on_disk.items():
        assert held[name] == data, name


@pytest.mark.slow
def test_a_store_generated_into_a_bucket_has_the_bytes_of_one_on_disk(s3, tmp_path):
    params = write_params(tmp_path / "params.yaml", generate={"n_samples": 48})
    url = f"s3://{BUCKET}/bytes"
    code, out = cli("generate", "--params", params, "--out", url, "--workers", 2)
    assert code == 0, out
    assert f"{url}: 48 samples in 6 shards" in out
    generate_store(load_params(params), tmp_path / "local", scheduler="synchronous")
    same_bytes(url, tmp_path / "local")

    # grown in place in the bucket: the store made at the larger size
    bigger = load_params(params, ("generate.n_samples=72",))
    generate_store(bigger, url, scheduler="synchronous")
    generate_store(bigger, tmp_path / "grown", scheduler="synchronous")
    same_bytes(url, tmp_path / "grown")
    code, out = cli("inspect", "--verify", url)
    assert (code, out.strip()) == (0, f"{url}: 9 shards checked against manifest.json, "
                                      f"schema and values")


def test_every_reader_reads_a_bucket_as_it_reads_the_disk(s3, tiny_store, tmp_path,
                                                          monkeypatch):
    monkeypatch.setenv("MASSFIELD_CACHE", str(tmp_path / "cache"))
    url = f"s3://{BUCKET}/tiny"
    generate_store(load_params(tiny_store.parent / "params.yaml"), url, scheduler="synchronous")
    remote, local = open_store(url), open_store(tiny_store)
    assert remote.origin == url and remote.shards == local.shards
    for split in ("train", "validation", "test", None):
        a, b = read_split(remote, split), read_split(local, split)
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    for a, b in zip(batches(url, "train", 8, seed=3, encode=True),
                    batches(tiny_store, "train", 8, seed=3, encode=True), strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])

    import torch.utils.data

    from massfield.torch import ShardDataset

    loader = torch.utils.data.DataLoader(ShardDataset(open_store(url), "train", seed=1),
                                         batch_size=8, num_workers=2)
    first = next(iter(loader))
    expected = next(batches(tiny_store, "train", 8, seed=1))
    np.testing.assert_array_equal(first["mass"].numpy(), expected["mass"])

    # each shard was fetched once into the content-addressed cache and is read from there
    objects = sorted((cache_root() / "objects").glob("*.h5"))
    assert sorted(p.stem for p in objects) == sorted(e.sha256 for e in local.shards)


def test_a_memory_url_holds_a_store_in_this_process(tiny_store, tmp_path, monkeypatch):
    """memory:// (fsspec's in-process file system): the store's bytes, read back; Dask's
    worker processes cannot see it, so a run that would use them is refused."""
    monkeypatch.setenv("MASSFIELD_CACHE", str(tmp_path / "cache"))
    params = load_params(tiny_store.parent / "params.yaml")
    generate_store(params, "memory://massfield/tiny", scheduler="threads", workers=2)
    import fsspec

    memory = fsspec.filesystem("memory")
    for path in (p for p in tiny_store.iterdir() if not p.name.startswith(".")):
        assert memory.cat_file(f"/massfield/tiny/{path.name}") == path.read_bytes()
    np.testing.assert_array_equal(read_split("memory://massfield/tiny", "test")["mass"],
                                  read_split(tiny_store, "test")["mass"])
    with pytest.raises(ConfigError, match="^memory://massfield/other: a memory:// store lives "
                                          "in one process"):
        generate_store(params, "memory://massfield/other", scheduler="processes")


@pytest.mark.slow
def test_a_replaced_shard_in_a_bucket_is_refused_by_name(s3, tiny_store, tmp_path,
                                                          monkeypatch):
    monkeypatch.setenv("MASSFIELD_CACHE", str(tmp_path / "cache"))  # nothing cached yet
    url = f"s3://{BUCKET}/replaced"
    generate_store(load_params(tiny_store.parent / "params.yaml"), url, scheduler="synchronous")
    test_shard = next(e.file for e in open_store(url).shards if e.split == "test")
    import s3fs

    s3fs.S3FileSystem(skip_instance_cache=True).pipe_file(
        f"{BUCKET}/replaced/{test_shard}", (tiny_store / "shard-00000.h5").read_bytes())
    with pytest.raises(DataError, match=rf"^{url}/{test_shard}: its bytes differ from "
                                        rf"manifest.json's checksum .*massfield repair {url}"):
        read_split(url, "test")
    code, out = cli("repair", url, "--scheduler", "synchronous")
    assert code == 0, out
    same_bytes(url, tiny_store)


@pytest.mark.slow
def test_a_cluster_whose_workers_share_no_directory_writes_the_store(s3, tmp_path):
    params = write_params(tmp_path / "params.yaml", generate={"n_samples": 48})
    port = cluster.free_port()
    processes = cluster.start(port, homes=[tmp_path / "machine-a", tmp_path / "machine-b"],
                              env=objectstore.credentials(s3))
    url = f"s3://{BUCKET}/cluster"
    try:
        cluster.wait_for_workers(f"tcp://127.0.0.1:{port}", 2)
        result = command("generate", "--params", params, "--out", url, "--scheduler",
                         f"tcp://127.0.0.1:{port}")
    finally:
        cluster.stop(*processes)
    assert result.returncode == 0, result.stderr
    generate_store(load_params(params), tmp_path / "local", scheduler="synchronous")
    same_bytes(url, tmp_path / "local")
    # the client put params and manifest; every shard went from a worker to the bucket
    assert not list(mirror_directory(url).glob("shard-*.h5"))
    for home in ("machine-a", "machine-b"):
        assert not list((tmp_path / home).rglob("shard-*.h5"))


@pytest.mark.slow
def test_a_run_killed_while_writing_to_a_bucket_resumes(s3, tmp_path):
    params = write_params(tmp_path / "params.yaml", generate={"n_samples": 320})
    url = f"s3://{BUCKET}/killed"
    run = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "generate", "--params",
                            str(params), "--out", url, "--scheduler", "synchronous"], cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and sum(
            name.startswith("shard-") for name in objectstore.names(url)) < 3:
        time.sleep(0.2)
    run.send_signal(signal.SIGKILL)
    run.wait()
    held = objectstore.objects(url)
    assert "manifest.json" not in held and ".generate.lock" in held

    code, out = cli("inspect", url)  # half-written: no manifest, the fix named
    assert code == 1 and out.startswith(f"error: {url}: no manifest.json") and "repair" in out
    # the killed run's lock is fresh: a second writer is refused …
    result = command("generate", "--params", params, "--out", url)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {url}: another `massfield generate` is writing")
    # … until it is stale, when the re-run takes it over and keeps what is there
    result = command("generate", "--params", params, "--out", url, "--scheduler",
                     "synchronous", env={"MASSFIELD_LOCK_STALE_S": "0"})
    assert result.returncode == 0, result.stderr
    kept = int(result.stderr.split(" present and valid")[0].rsplit(" ", 1)[1])
    assert kept >= 3
    generate_store(load_params(params), tmp_path / "local", scheduler="synchronous")
    same_bytes(url, tmp_path / "local")


@pytest.mark.parametrize("case", ["no bucket", pytest.param("no server", marks=pytest.mark.slow),
                                  "no package"])
def test_a_bad_location_gets_one_line(s3, case, params_file):
    args, env, expected = {
        "no bucket": (["generate", "--params", params_file, "--out", "s3://nowhere/s"], {},
                      "s3://nowhere/s: bucket 'nowhere' does not exist; create it"),
        "no server": (["inspect", f"s3://{BUCKET}/tiny"],
                      {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{cluster.free_port()}"},
                      f"s3://{BUCKET}/tiny: cannot reach http://127.0.0.1:"),
        "no package": (["inspect", "gs://bucket/store"], {},
                       "gs://bucket/store: no package for gs:// URLs is installed; pip install "
                       "'massfield[gcs]'"),
    }[case]
    result = command(*args, env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {expected}") and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_credentials_a_server_refuses_get_one_line(params_file):
    with objectstore.s3_server(INITIAL_NO_AUTH_ACTION_COUNT="0") as port:
        env = objectstore.credentials(port)
        result = command("generate", "--params", params_file, "--out", f"s3://{BUCKET}/s",
                         env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: s3://{BUCKET}/s: access denied (")
    assert "check the credentials" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_models_train_evaluate_and_predict_on_a_bucket(s3, tiny_store, tiny_models, tmp_path):
    url = f"s3://{BUCKET}/models"
    generate_store(load_params(tiny_store.parent / "params.yaml"), url, scheduler="synchronous")
    scores = {}
    for name, data in (("remote", url), ("local", tiny_store)):
        code, out = cli("evaluate", "--data", data, "--models", tiny_models, "--metrics",
                        tmp_path / f"{name}.json", "--predictions", tmp_path / f"{name}.csv")
        assert code == 0, out
        scores[name] = json.loads((tmp_path / f"{name}.json").read_text())["models"]
    assert scores["remote"] == scores["local"]
    code, out = cli("predict", "rnn", "--data", url, "--models", tiny_models)
    assert code == 0, out
    assert len(out.strip().splitlines()) == 1 + 40
    code, out = cli("train", "dnn", "--params", tiny_store.parent / "params.yaml", "--data", url,
                    "--out", tmp_path / "dnn", "--set", "train.dnn.epochs=1",
                    "--set", "train.dnn.steps_per_epoch=2")
    assert code == 0, out
    history = json.loads((tmp_path / "dnn" / "dnn.history.json").read_text())
    assert history["store"]["path"] == url
