"""Any valid physics, end to end, the way users work: generate a store with overrides, then
point every other command at it with --data alone (params.yaml keeps its default physics)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import assert_sample_figure_draws_sample, write_params
from pipeline.cli import main

pytestmark = pytest.mark.slow

# Orthogonal keys share a configuration: every key still runs end to end, at half the cost
# of one configuration each (each trains all four models).
# Each trains one feed-forward and one recurrent model: all four run on some other physics.
CONFIGURATIONS = {
    "128-pixel field, five snapshots, noisy observations": (("dnn", "crnn"), [
        "physics.size=128", "physics.downsample=4", "physics.time_steps=5",
        "physics.position_noise=0.5", "physics.potential_noise=0.01"]),
    "psi 16x16, masses 0.05-2, 200 positions, another start, rougher": (("cnn", "rnn"), [
        "physics.downsample=16", "physics.mass_low=0.05", "physics.mass_high=2.0",
        "physics.n_positions=200", "physics.stride=20", "physics.start=[100, 140]",
        "physics.start_velocity=[0.5, -0.3]", "physics.octaves=6", "physics.persistence=0.6"]),
}
QUICK = ("epochs=1", "steps_per_epoch=2", "batch_size=8")


def _ok(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, f"{args[0]}: {result.output}"
    return result


@pytest.mark.parametrize(("names", "overrides"), CONFIGURATIONS.values(),
                         ids=CONFIGURATIONS.keys())
def test_generate_train_evaluate_predict_plot_with_data_alone(names, overrides, tmp_path):
    params = write_params(tmp_path / "params.yaml")  # default physics: the store decides
    store, models = tmp_path / "store", tmp_path / "models"
    sets = [arg for item in overrides for arg in ("--set", item)]
    _ok("generate", "--params", params, "--out", store, "--scheduler", "synchronous", *sets,
        "--set", "generate.n_samples=40", "--set", "generate.shard_size=8")
    for name in names:
        quick = [arg for item in QUICK for arg in ("--set", f"train.{name}.{item}")]
        _ok("train", name, "--params", params, "--data", store, "--out", models / name, *quick)
    metrics = tmp_path / "metrics.json"
    _ok("evaluate", "--data", store, "--models", models, "--metrics", metrics,
        "--predictions", tmp_path / "predictions.csv")
    scores = json.loads(metrics.read_text())
    assert set(scores["models"]) == set(names) and scores["samples"] == 8
    time_steps = next((int(o.split("=")[1]) for o in overrides if "time_steps" in o), 10)
    assert len(scores["models"][names[1]]["r2_per_step"]) == time_steps
    rows = _ok("predict", names[1], "--data", store, "--models", models).output.splitlines()
    assert len(rows) == 41  # a header and every sample of the store
    _ok("plot", "--metrics", metrics, "--predictions", tmp_path / "predictions.csv", "--models",
        models, "--data", store, "--out", tmp_path / "plots")
    assert (tmp_path / "plots" / "sample_inputs.png").exists()
    assert_sample_figure_draws_sample(store, 0)  # ψ on this grid, each of its snapshots


def test_a_model_refuses_a_store_of_other_snapshots(tmp_path):
    params = write_params(tmp_path / "params.yaml")
    for name, steps in (("ten", 10), ("five", 5)):
        _ok("generate", "--params", params, "--out", tmp_path / name, "--scheduler",
            "synchronous", "--set", f"physics.time_steps={steps}")
    quick = [arg for item in QUICK for arg in ("--set", f"train.rnn.{item}")]
    log = _ok("train", "rnn", "--params", params, "--data", tmp_path / "ten", "--out",
              tmp_path / "models", *quick).stderr
    assert "epoch 1/1: loss " in log and ", val_loss " in log  # only what the names say
    assert "batch_loss" not in log, log
    for command in (["evaluate", "--metrics", tmp_path / "m.json", "--predictions",
                     tmp_path / "p.csv"], ["predict", "rnn"]):
        result = CliRunner().invoke(main, [str(a) for a in [*command, "--data", tmp_path / "five",
                                                            "--models", tmp_path / "models",
                                                            "--allow-shift"]])
        assert result.exit_code == 1
        assert "physics.time_steps 10 (trained) vs 5" in result.stderr
