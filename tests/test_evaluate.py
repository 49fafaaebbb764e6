"""Evaluation on real shards: baselines, metrics, predictions, figures and the table."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import lognorm

from pipeline.cli import main
from pipeline.config import load_params
from pipeline.evaluate.metrics import r2_score, regression_metrics, uncertainty_metrics
from pipeline.evaluate.physics_baseline import physics_inversion
from pipeline.evaluate.table import BEGIN, END
from pipeline.learn.calibration import calibrate, predictive
from pipeline.store.integrity import (
    CONTENT_DIGEST,
    DATASET_DIGEST,
    dataset_digest,
    recompute_content,
)
from pipeline.store.reader import read_arrays, store_files


def test_physics_inversion_recovers_masses(tiny_store):
    psi, positions, mass = read_arrays(store_files(tiny_store, None))
    physics = load_params(tiny_store.parent / "params.yaml").physics
    estimate = physics_inversion(psi, positions, physics)
    assert estimate.shape == mass.shape
    assert r2_score(mass, estimate) > 0.9


def test_metrics_on_known_values():
    truth = np.array([0.2, 0.4, 0.6, 0.8])
    scores = regression_metrics(truth, truth + np.array([0.1, -0.1, 0.1, -0.1]))
    assert scores["r2"] == pytest.approx(1 - 0.04 / 0.2)
    assert scores["mae"] == pytest.approx(0.1)
    assert scores["median_relative_error"] == pytest.approx(np.median(0.1 / truth))
    constant = regression_metrics(truth, np.full(truth.size, truth.mean()))
    assert np.isnan(constant["pearson"]) and constant["r2"] == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.1, 1, 20000)
    mean = truth * np.exp(rng.normal(0, 0.05, truth.size))  # log-normal errors of 5 %
    good = uncertainty_metrics(truth, mean, np.full(truth.size, 0.05), (0.1, 1.0))
    assert good["coverage_90"] == pytest.approx(0.9, abs=0.01)
    assert all(c == pytest.approx(0.9, abs=0.02) for c in good["coverage_90_by_tercile"])
    # the NLL is the log-normal density's, against scipy's
    expected = -lognorm.logpdf(truth, s=0.05, scale=mean).mean()
    assert good["nll"] == pytest.approx(expected, rel=1e-9)
    narrow = uncertainty_metrics(truth, mean, np.full(truth.size, 0.02), (0.1, 1.0))
    assert narrow["coverage_90"] < 0.6


def test_calibration_holds_in_every_third_of_the_mass_range():
    """A model whose relative error grows with the mass: one global factor would cover the
    light third too often and the heavy third too rarely; per-bin quantiles do not."""
    rng = np.random.default_rng(1)

    def draw(n):
        truth = rng.uniform(0.1, 1.0, n)
        spread = 0.03 + 0.05 * truth  # 3.5 % for the lightest, 8 % for the heaviest
        mean = truth * np.exp(rng.normal(0, spread))
        return {"mass": truth, "mean": mean, "sigma": 0.05 * mean}  # σ: a flat 5 %

    validation, test = draw(6000), draw(6000)

    def thirds(calibration):
        out = predictive(test, calibration)
        assert np.all(out["lower_90"] >= 0.1) and np.all(out["upper_90"] <= 1.0)
        return uncertainty_metrics(test["mass"], out["center"], out["sigma_log"],
                                   (0.1, 1.0))["coverage_90_by_tercile"]

    light, _, heavy = thirds(calibrate(validation, (0.1, 1.0), bins=1))
    assert light > 0.95 and heavy < 0.86  # one factor for the whole range
    assert all(0.87 <= c <= 0.93 for c in thirds(calibrate(validation, (0.1, 1.0))))


@pytest.mark.slow
def test_evaluate_plot_table_and_predict_through_the_cli(tiny_store, tiny_models, tmp_path):
    runner = CliRunner()
    metrics, predictions = tmp_path / "metrics.json", tmp_path / "predictions.csv"
    result = runner.invoke(main, ["evaluate", "--data", str(tiny_store), "--models",
                                  str(tiny_models), "--metrics", str(metrics), "--predictions",
                                  str(predictions), "--scores", str(tmp_path / "scores")])
    assert result.exit_code == 0, result.output
    scores = json.loads(metrics.read_text())
    rnn = json.loads((tmp_path / "scores" / "rnn.json").read_text())  # a row of dvc metrics
    assert rnn == {name: scores["models"]["rnn"][name]
                   for name in ("r2", "median_relative_error", "coverage_90", "nll")}
    assert sorted(p.stem for p in (tmp_path / "scores").glob("*.json")) == [
        "dnn", "physics_inversion", "physics_inversion_fine_field", "predict_the_mean", "rnn"]
    assert set(scores["models"]) == {"rnn", "dnn"} and scores["samples"] == 8
    assert "notes" not in scores and scores["baselines"]["physics_inversion_fine_field"]["r2"]
    assert len(scores["models"]["rnn"]["r2_per_step"]) == 10
    assert scores["models"]["dnn"]["uncertainty"].startswith("point, log-mass")
    assert predictions.read_text().count("\n") == 9
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nSTALE TABLE\n{END}\nrest\n")
    absent = str(tmp_path / "absent")
    result = runner.invoke(main, ["table", "--metrics", str(metrics), "--readme", str(readme),
                                  "--repeats", absent, "--holdout", absent,
                                  "--every-step", absent])
    assert result.exit_code == 0
    text = readme.read_text()
    assert "| RNN, physics-informed | no | **" in text and "STALE TABLE" not in text
    assert "| DNN, report | no | **" in text
    assert text.startswith("intro\n") and text.endswith("rest\n") and "holdout" not in text
    result = runner.invoke(main, ["plot", "--metrics", str(metrics), "--predictions",
                                  str(predictions), "--models", str(tiny_models), "--data",
                                  str(tiny_store), "--out", str(tmp_path / "plots")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plots" / "calibration.png").stat().st_size > 10_000
    result = runner.invoke(main, ["predict", "rnn", "--data", str(tiny_store), "--models",
                                  str(tiny_models)])
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == 41 and " ± " in result.output


@pytest.mark.slow
def test_evaluate_a_directory_without_manifest(tiny_store, tiny_models, tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(tiny_store / "shard-00002.h5", loose)
    result = CliRunner().invoke(main, ["evaluate", "--data", str(loose), "--models",
                                       str(tiny_models),
                                       "--metrics", str(tmp_path / "m.json"), "--predictions",
                                       str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m.json").read_text())["scope"] == "all shards"
    result = CliRunner().invoke(main, ["predict", "crnn", "--data", str(loose), "--models",
                                       str(tiny_models)])
    assert result.exit_code == 1 and "massfield train crnn" in result.output


@pytest.mark.slow
def test_the_fine_field_baseline_is_left_out_where_offsets_do_not_give_psi(tiny_store,
                                                                           tiny_models,
                                                                           tmp_path):
    """Shards whose ψ is not the block mean of the field their noise_offset makes (data made
    elsewhere, checksums that prove the file): no φ baseline, a note instead of a number."""
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(tiny_store / "shard-00002.h5", loose)
    with h5py.File(loose / "shard-00002.h5") as h5:
        psi = h5["potential"][()]
    psi[3] += np.float32(0.01)
    with h5py.File(loose / "shard-00002.h5", "r+") as h5:
        h5["potential"][...] = psi
        h5["potential"].attrs[DATASET_DIGEST] = dataset_digest(h5["potential"])
        h5.attrs[CONTENT_DIGEST] = recompute_content(h5)[0]
    metrics = tmp_path / "m.json"
    result = CliRunner().invoke(main, ["evaluate", "--data", str(loose), "--models",
                                       str(tiny_models), "--metrics", str(metrics),
                                       "--predictions", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert ("note: physics inversion from φ left out: for 1 of 8 samples the field "
            "regenerated from noise_offset does not give the stored ψ") in result.stderr
    scores = json.loads(metrics.read_text())
    assert scores["baselines"]["physics_inversion_fine_field"]["r2"] is None
    assert "left out" in scores["baselines"]["physics_inversion_fine_field"]["omitted"]
    assert scores["baselines"]["physics_inversion"]["r2"] is not None and scores["notes"]
