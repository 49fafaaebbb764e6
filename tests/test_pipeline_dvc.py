"""`dvc repro` end to end, with tiny params, in a temporary copy of the repository."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

import objectstore
from conftest import REPO, TINY_GENERATE

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("dvc") is None, reason="dvc is not installed")]

TINY_TRAIN = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 8, "patience": 0}


def _run(*command, cwd):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _copy_repository(target):
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in listed.split("\n"):
        # outputs stay behind; data/repeats (git-tracked input of `plots`) comes along
        if name and (REPO / name).is_file() and (not name.startswith("data/")
                                                 or name.startswith("data/repeats/")):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    (target / "data").mkdir(exist_ok=True)
    _run("git", "init", "-q", cwd=target)


def _set_params(path, mutate):
    params = yaml.safe_load(path.read_text())
    mutate(params)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _tiny(params):
    params["generate"].update(TINY_GENERATE)
    params["evaluate"]["holdout_samples"] = 16
    for model in params["train"].values():
        model.update(TINY_TRAIN)


def _pushed_and_pulled_through_an_s3_remote(repo, clone):
    """`dvc push` to a DVC remote on a local S3 server; a fresh clone's `dvc pull` restores
    the store and the models, and its `dvc status` is clean."""
    with objectstore.s3_server() as port, pytest.MonkeyPatch.context() as env:
        for key, value in objectstore.credentials(port).items():
            env.setenv(key, value)
        objectstore.make_bucket("massfield-dvc")
        _run("dvc", "remote", "add", "-d", "storage", "s3://massfield-dvc/cache", cwd=repo)
        _run("dvc", "remote", "modify", "storage", "endpointurl", f"http://127.0.0.1:{port}",
             cwd=repo)
        _run("dvc", "push", "dvc.yaml", cwd=repo)  # the default pipeline's outputs
        _run("git", "add", "-A", cwd=repo)
        _run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pushed",
             cwd=repo)
        _run("git", "clone", "-q", str(repo), str(clone), cwd=repo)
        _run("dvc", "pull", "dvc.yaml", cwd=clone)
        assert "up to date" in _run("dvc", "status", "dvc.yaml", cwd=clone)
    for name in ("data/shards/manifest.json", "data/shards/shard-00000.h5",
                 "data/models/crnn/crnn.keras", "data/metrics.json"):
        assert (clone / name).read_bytes() == (repo / name).read_bytes(), name


def test_dvc_repro_runs_everything_once_then_only_what_changed(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _copy_repository(repo)
    _set_params(repo / "params.yaml", _tiny)
    _run("dvc", "repro", cwd=repo)
    metrics = json.loads((repo / "data/metrics.json").read_text())
    assert set(metrics["models"]) == {"dnn", "cnn", "rnn", "crnn"}  # ablations: experiments/
    simulators = {key for key, scores in metrics["models"].items() if scores["simulator"]}
    assert simulators == {"dnn", "cnn"}
    assert metrics["samples"] == 8 and "physics_inversion" in metrics["baselines"]
    assert (repo / "data/plots/predicted_vs_actual.png").stat().st_size > 10_000
    assert (repo / "data/plots/curves/loss_crnn.csv").exists()
    assert (repo / "dvc.lock").exists()
    shown = _run("dvc", "metrics", "show", cwd=repo)  # a row a predictor, five columns
    assert "data/scores/crnn.json" in shown and max(map(len, shown.splitlines())) < 160, shown
    # a second run does nothing
    assert "up to date" in _run("dvc", "status", "dvc.yaml", cwd=repo)
    second = _run("dvc", "repro", cwd=repo)
    assert "Running stage" not in second
    _pushed_and_pulled_through_an_s3_remote(repo, tmp_path / "clone")
    table = repo / "pipeline/commands/table.py"  # no stage runs `massfield table`
    table.write_text(table.read_text() + "# a one-line edit\n")
    assert "up to date" in _run("dvc", "status", "dvc.yaml", cwd=repo)
    cluster = repo / "pipeline/store/cluster.py"  # only `massfield generate` runs it
    original = cluster.read_text()
    cluster.write_text(original + "# a one-line edit\n")
    stale = yaml.safe_load(_run("dvc", "status", "--json", "dvc.yaml", cwd=repo))
    assert set(stale) == {"generate", "generate_holdout"}, stale
    cluster.write_text(original)
    # only the CRNN's training is stale after changing train.crnn (what reads its model
    # follows it: DVC's graph, not ours, so not re-run here)
    _set_params(repo / "params.yaml", lambda p: p["train"]["crnn"].update(learning_rate=0.001))
    stale = yaml.safe_load(_run("dvc", "status", "--json", "dvc.yaml", cwd=repo))
    assert set(stale) == {"train@crnn"}
    assert re.findall(r"Running stage '([^']+)'", _run("dvc", "repro", "--dry", cwd=repo)) == [
        "train@crnn"]
    _set_params(repo / "params.yaml", lambda p: p["train"]["crnn"].update(learning_rate=0.003))
    # an experiment on the default pipeline: a coarser ψ through the store it makes (what
    # trains on a 16 × 16 ψ is tested end to end in test_configurations)
    _run("git", "add", "-A", cwd=repo)
    _run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tiny", cwd=repo)
    _run("dvc", "exp", "run", "-S", "physics.downsample=16", "generate", cwd=repo)
    shown = json.loads(_run("dvc", "exp", "show", "--json", cwd=repo))
    runs = [rev["data"] for baseline in shown for exp in baseline.get("experiments") or []
            for rev in exp["revs"]]
    assert len(runs) == 1
    assert runs[0]["params"]["params.yaml"]["data"]["physics"]["downsample"] == 16
    manifest = json.loads((repo / "data/shards/manifest.json").read_text())
    assert manifest["params"]["physics"]["downsample"] == 16
