"""Observation noise drawn per sample: σ ~ U[position_noise, position_noise_high), stored
as a nuisance, verified per sample, and a level inside a model's trained range is no
distribution shift."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import write_params
from pipeline.cli import main
from pipeline.config import load_params
from pipeline.evaluate.compatibility import physics_differences
from pipeline.store.generate import generate_store
from pipeline.store.shard import shard_params


def _store(tmp_path, name, **physics):
    params = load_params(write_params(tmp_path / f"{name}.yaml", physics=physics))
    generate_store(params, tmp_path / name, scheduler="synchronous")
    return tmp_path / name


def test_each_sample_draws_its_noise_level_and_the_store_verifies(tmp_path):
    store = _store(tmp_path, "range", position_noise=0.2, position_noise_high=0.9)
    sigmas, scaled = [], []
    for path in sorted(store.glob("shard-*.h5")):
        with h5py.File(path, "r") as h5:
            sigma = h5["position_noise"][()]
            truth = h5["trajectory"][()][:, ::10][:, :10]
            sigmas.append(sigma)
            scaled.append((h5["positions"][()] - truth) / sigma[:, None, None])
    sigma = np.concatenate(sigmas)
    assert sigma.min() >= 0.2 and sigma.max() < 0.9 and np.ptp(sigma) > 0.3
    assert 0.7 < np.concatenate(scaled).std() < 1.3  # each sample's noise is its own σ
    result = CliRunner().invoke(main, ["inspect", str(store), "--verify"])
    assert result.exit_code == 0, result.output


def test_a_fixed_noise_level_records_no_range():
    """So that stores of fixed noise (the default's included) keep their bytes."""
    assert "position_noise_high" not in shard_params(load_params())["physics"]
    drawn = load_params(overrides=("physics.position_noise_high=1",))
    assert shard_params(drawn)["physics"]["position_noise_high"] == 1.0
    assert drawn.physics.position_noise_variance == pytest.approx(1 / 3)


def test_a_store_noisier_than_it_records_fails_verify(tmp_path):
    store = _store(tmp_path, "range", position_noise=0.1, position_noise_high=0.3)
    path = sorted(store.glob("shard-*.h5"))[0]
    with h5py.File(path, "r+") as h5:
        h5["position_noise"][...] = h5["position_noise"][()] / 4  # claims a quarter of it
    result = CliRunner().invoke(main, ["inspect", str(store), "--verify"])
    assert result.exit_code == 1 and "position_noise" in result.output, result.output


@pytest.mark.parametrize("setting,named", [
    ("physics.position_noise_high=0.0", "physics.position_noise_high must be null or"),
    ("physics.position_noise_high=1e6", "physics.position_noise_high must be null or"),
])
def test_bad_noise_ranges_get_one_line(tmp_path, setting, named):
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "s"), "--set",
                                       setting])
    assert result.exit_code == 2, result.output
    assert named in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def _physics(**keys) -> dict:
    return shard_params(load_params(overrides=tuple(f"physics.{k}={v}"
                                                    for k, v in keys.items())))["physics"]


def test_a_noise_level_inside_the_trained_range_is_no_shift():
    trained = _physics(position_noise=0.0, position_noise_high=1.0)
    for inside in (_physics(position_noise=0.1), _physics(position_noise=0.9),
                   _physics(position_noise=0.2, position_noise_high=0.8)):
        assert physics_differences(trained, inside) == []
    outside = physics_differences(trained, _physics(position_noise=1.5))
    assert [key for key, *_ in outside] == ["position_noise", "position_noise_high"]
    fixed = physics_differences(_physics(position_noise=0.3), _physics(position_noise=0.5))
    assert fixed == [("position_noise", 0.3, 0.5)]


def test_the_observation_check_accepts_any_level_in_the_trained_range(tmp_path):
    from pipeline.evaluate.observation_check import misfit_ratio

    trained = load_params(overrides=("physics.position_noise=0.1",
                                     "physics.position_noise_high=0.9")).physics
    for sigma in (0.2, 0.8):
        store = _store(tmp_path, f"at-{sigma}", position_noise=sigma)
        assert misfit_ratio(sorted(store.glob("shard-*.h5")), trained) == 1.0
    noisier = _store(tmp_path, "noisier", position_noise=3.0)
    assert misfit_ratio(sorted(noisier.glob("shard-*.h5")), trained) > 2.0


@pytest.mark.slow
def test_a_model_trained_on_a_noise_range_gets_intervals_per_noise_tercile(tmp_path):
    """The calibration a noise range asks for, recorded with the fit that estimates each
    sample's noise; evaluate and predict give every sample the same interval from it."""
    from pipeline.evaluate.run import read_predictions
    from pipeline.learn.train import train_model, with_store_params

    store = _store(tmp_path, "range", position_noise=0.0, position_noise_high=1.0)
    params = with_store_params(load_params(tmp_path / "range.yaml", (
        "train.rnn.epochs=1", "train.rnn.steps_per_epoch=2", "train.rnn.batch_size=8")), store)
    _, history = train_model("rnn", params, store, tmp_path / "models" / "rnn",
                             log=lambda line: None)
    assert len(history.noise_fit["variances"]) == params.physics.time_steps
    assert history.calibration["method"].endswith("per noise tercile")
    bins = history.calibration["noise"]["bins"]
    assert len(bins) == 3 and len({tuple(b["upper"]) for b in bins}) > 1
    result = CliRunner().invoke(main, [
        "evaluate", "--data", str(store), "--all-shards", "--models", str(tmp_path / "models"),
        "--metrics", str(tmp_path / "m.json"), "--predictions", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["predict", "rnn", "--data", str(store), "--models",
                                       str(tmp_path / "models"), "--out",
                                       str(tmp_path / "rows.csv")])
    assert result.exit_code == 0, result.output
    scored, rows = read_predictions(tmp_path / "p.csv"), read_predictions(tmp_path / "rows.csv")
    for column in ("lower_90", "upper_90"):
        np.testing.assert_allclose(rows[column], scored[f"rnn_{column}"], rtol=1e-5)
