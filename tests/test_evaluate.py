"""Evaluation on real shards: baselines, metrics, predictions, figures and the table."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import lognorm

from pipeline.cli import main
from pipeline.config import load_params
from pipeline.evaluate.metrics import (
    CALIBRATION_LEVELS,
    r2_score,
    regression_metrics,
    uncertainty_metrics,
)
from pipeline.evaluate.run import read_predictions
from pipeline.evaluate.table import BEGIN, END
from pipeline.learn.calibration import calibrate, conformal_bounds, predictive
from pipeline.physics.inversion import (
    VARIANCE_FLOOR,
    physics_inversion,
    snapshot_variances,
)
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
    variances = snapshot_variances(psi, positions, mass, physics)
    # the start is exact; the smoothed field's drift grows along the path
    assert variances[0] == pytest.approx(VARIANCE_FLOOR) and variances[-1] > variances[1]
    estimate = physics_inversion(psi, positions, physics, variances)
    assert estimate.shape == mass.shape
    assert r2_score(mass, estimate) > 0.9


def test_likelihood_fit_weighs_snapshots_by_their_noise(tiny_store):
    """With σ = 1 px on the positions, the variance-weighted fit of every snapshot keeps
    the mass; the unweighted fit of the first three (the report-era baseline) loses it."""
    psi, positions, mass = read_arrays(store_files(tiny_store, None))
    physics = replace(load_params(tiny_store.parent / "params.yaml").physics,
                      position_noise=1.0)
    noisy = positions + np.random.default_rng(0).normal(0.0, 1.0, positions.shape)
    variances = snapshot_variances(psi, noisy, mass, physics)
    assert variances.min() >= 1.0 and variances[0] == pytest.approx(1.0, abs=0.5)
    weighted = r2_score(mass, physics_inversion(psi, noisy, physics, variances))
    first_three = np.full(len(variances), np.inf)
    first_three[:3] = 1.0
    unweighted = r2_score(mass, physics_inversion(psi, noisy, physics, first_three))
    assert weighted > 0.8 and weighted > unweighted + 0.1


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


def _coverage_by_third(test: dict, calibration: dict) -> list[float]:
    """90 % coverage of ``test``'s intervals in each third of its true masses; the
    intervals must stay in the mass range [0.1, 1]."""
    out = predictive(test, calibration)
    assert np.all(out["lower_90"] >= 0.1) and np.all(out["upper_90"] <= 1.0)
    return uncertainty_metrics(test["mass"], out["center"], out["sigma_log"],
                               (0.1, 1.0))["coverage_90_by_tercile"]


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
    light, _, heavy = _coverage_by_third(test, calibrate(validation, (0.1, 1.0), bins=1))
    assert light > 0.95 and heavy < 0.86  # one factor for the whole range
    assert all(0.87 <= c <= 0.93
               for c in _coverage_by_third(test, calibrate(validation, (0.1, 1.0))))


def test_intervals_per_noise_tercile_hold_at_every_noise_level():
    """A model trained on a range of noise levels whose σ does not follow the level (as
    the CRNN's did: 0.94 at σ 0.1 px, 0.83 at 0.9): pooled intervals cover the quiet
    samples too often and the noisy too rarely; per tercile of a noise estimate (which
    here only ranks the levels, as the fit's misfit does) every tercile and mass third
    holds."""
    rng = np.random.default_rng(3)

    def draw(n):
        truth, level = rng.uniform(0.1, 1.0, n), rng.uniform(0.0, 1.0, n)
        mean = truth * np.exp(rng.normal(0, 0.01 + 0.08 * level))
        estimate = np.log(0.2 + level ** 2) + rng.normal(0, 0.05, n)
        return {"mass": truth, "mean": mean, "sigma": 0.05 * mean, "noise": estimate}, level

    (validation, _), (test, level) = draw(9000), draw(9000)
    pooled = calibrate(validation, (0.1, 1.0))
    quiet, noisy = level < 1 / 3, level >= 2 / 3
    covered = _covered(test, pooled)
    assert covered[quiet].mean() > 0.97 and covered[noisy].mean() < 0.8
    by_noise = calibrate(validation, (0.1, 1.0), noise=validation["noise"])
    assert by_noise["edges"] == pooled["edges"] and len(by_noise["noise"]["bins"]) == 3
    covered = _covered(test, by_noise)
    for tercile in (quiet, ~quiet & ~noisy, noisy):
        thirds = np.digitize(test["mass"], [0.4, 0.7])
        assert all(0.86 <= covered[tercile & (thirds == k)].mean() <= 0.94 for k in range(3))
    with pytest.raises(ValueError, match="noise estimates"):
        predictive({key: v for key, v in test.items() if key != "noise"}, by_noise)


def test_a_noise_tercile_without_validation_samples_takes_them_all():
    """A tiny validation split (two samples: one tercile empty) calibrates, and the empty
    tercile's intervals are the pooled ones, not an error."""
    two = {"mass": np.array([0.2, 0.8]), "mean": np.array([0.25, 0.7]),
           "sigma": np.array([0.05, 0.05]), "noise": np.array([0.0, 1.0])}
    by_noise = calibrate(two, (0.1, 1.0), noise=two["noise"])
    pooled = calibrate(two, (0.1, 1.0))
    empty = [b for b in range(3) if not np.any(np.digitize(two["noise"],
                                                           by_noise["noise"]["edges"]) == b)]
    assert empty and all(by_noise["noise"]["bins"][b]["upper"] == pooled["upper"]
                         for b in empty)
    assert np.all(np.isfinite(predictive(two, by_noise)["lower_90"]))


def _covered(predictions, calibration):
    out = predictive(predictions, calibration)
    return (out["lower_90"] <= predictions["mass"]) & (predictions["mass"] <= out["upper_90"])


def test_intervals_hold_in_every_third_when_predictions_lean_to_the_middle():
    """A model that pulls masses toward the middle of the range (as noisy ψ makes one):
    with one bin for all masses a light particle taken for a heavier one is missed from
    below and the middle is covered too often; bins of the true mass hold every third."""
    rng = np.random.default_rng(2)

    def draw(n):
        truth = rng.uniform(0.1, 1.0, n)
        middle = np.log(0.4)
        mean = np.exp(middle + 0.75 * (np.log(truth) - middle) + rng.normal(0, 0.15, n))
        return {"mass": truth, "mean": mean, "sigma": 0.15 * mean}

    validation, test = draw(6000), draw(6000)
    light, middle, _ = _coverage_by_third(test, calibrate(validation, (0.1, 1.0), bins=1))
    assert light < 0.87 and middle > 0.95
    assert all(0.87 <= c <= 0.93
               for c in _coverage_by_third(test, calibrate(validation, (0.1, 1.0))))


def test_an_interval_no_bin_admits_spans_every_bins_range():
    """Quantiles of one sign can leave a prediction with no mass whose residual fits its
    own bin: the interval is then the hull of every bin's uncut range, never empty."""
    calibration = {"edges": [0.5], "lower": [0.5, -0.6], "upper": [0.6, -0.5],
                   "mass_range": [0.1, 1.0]}
    start, stop = conformal_bounds(np.array([0.45, 0.9]), np.ones(2), calibration)
    # 0.45: bin 1 admits only masses above 0.74, bin 2 only below 0.28; 0.9: bin 2 admits
    # its own masses from 0.5 to 0.9·e^-0.5
    np.testing.assert_allclose(start, [0.45 * np.exp(-0.6), 0.5])
    np.testing.assert_allclose(stop, [0.45 * np.exp(0.6), 0.9 * np.exp(-0.5)])


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
                                  "--repeats", absent, "--holdout", absent])
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
    assert_figures_draw_the_metrics(metrics, scores, read_predictions(predictions))
    result = runner.invoke(main, ["predict", "rnn", "--data", str(tiny_store), "--models",
                                  str(tiny_models)])
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == 41 and " ± " in result.output
    assert "warning" not in result.output  # its own kind of data: no misfit warning


def assert_figures_draw_the_metrics(path: Path, scores: dict, predictions: dict) -> None:
    """What the calibration and predicted-vs-actual figures draw: their axes, the data's
    range, and values read back from the artists equal to the evaluation's."""
    import matplotlib.pyplot as plt

    from pipeline.evaluate.metrics_record import Metrics
    from pipeline.figures import results

    record = Metrics.read(path, "unused")  # what the table and figures read
    assert record.models["rnn"].r2 == scores["models"]["rnn"]["r2"] and record.notes is None
    fig = results.calibration(record, None)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("nominal coverage",
                                                  "observed coverage on test")
    curves = {line.get_label().split(" (90 %")[0]: line for line in ax.get_lines()}
    rnn = curves["RNN, physics-informed"]
    np.testing.assert_allclose(rnn.get_xdata(), CALIBRATION_LEVELS)
    np.testing.assert_allclose(rnn.get_ydata(), [scores["models"]["rnn"]["calibration"][
        f"{level:.2f}"] for level in CALIBRATION_LEVELS])
    assert f"(90 %: {scores['models']['rnn']['coverage_90']:.3f})" in rnn.get_label()
    plt.close(fig)
    fig = results.predicted_vs_actual(predictions, record, None)
    panels = {ax.get_title().split(":")[0]: ax for ax in fig.axes if ax.get_title()}
    assert len(panels) == 2 + 3  # two models, three baselines
    physics = panels["physics inversion from ψ (no learning)"]
    points = physics.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], predictions["mass"])
    np.testing.assert_allclose(points[:, 1], predictions["physics"])
    r2 = scores["baselines"]["physics_inversion"]["r2"]
    assert physics.get_title().endswith(f"R² {r2:.3f}")
    low, high = physics.get_xlim()
    assert low <= predictions["mass"].min() and predictions["mass"].max() <= high
    plt.close(fig)


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


def test_a_holdout_scored_in_the_same_run_gets_the_files_of_a_run_of_its_own(tiny_store,
                                                                         tiny_models, tmp_path):
    """`--holdout` (the pipeline's one evaluate stage) writes, beside the test split's
    files, *_holdout files equal to what scoring that store alone writes."""
    holdout = tmp_path / "holdout"
    holdout.mkdir()
    for name in ("shard-00000.h5", "shard-00004.h5"):
        shutil.copy(tiny_store / name, holdout)
    together, alone = tmp_path / "together", tmp_path / "alone"
    said = {}
    for out, data in ((together, ["--data", str(tiny_store), "--holdout", str(holdout)]),
                      (alone, ["--data", str(holdout)])):
        result = CliRunner().invoke(main, ["evaluate", *data, "--models", str(tiny_models),
                                           "--metrics", str(out / "m.json"), "--predictions",
                                           str(out / "p.csv"), "--scores", str(out / "s")])
        assert result.exit_code == 0, result.output
        said[out] = result.output
    assert f"{together / 'p_holdout.csv'}" in said[together]
    assert json.loads((together / "m.json").read_text())["scope"] == "test split"
    assert ((together / "m_holdout.json").read_text()
            == (alone / "m.json").read_text())
    assert (together / "p_holdout.csv").read_bytes() == (alone / "p.csv").read_bytes()
    assert sorted(p.name for p in (together / "s_holdout").iterdir()) == sorted(
        p.name for p in (alone / "s").iterdir())


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


@pytest.mark.slow
def test_predict_warns_when_observations_are_noisier_than_declared(tiny_store, tiny_models,
                                                                    tmp_path):
    """A user's shard that declares exact positions but holds noisy ones (checksums that
    prove the file): predict still answers, with one line naming the store and the noise
    its model was trained for."""
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(tiny_store / "shard-00002.h5", loose)
    with h5py.File(loose / "shard-00002.h5", "r+") as h5:
        positions = h5["positions"][()]
        h5["positions"][...] = positions + np.random.default_rng(1).normal(0, 0.5,
                                                                          positions.shape)
        h5["positions"].attrs[DATASET_DIGEST] = dataset_digest(h5["positions"])
        h5.attrs[CONTENT_DIGEST] = recompute_content(h5)[0]
    result = CliRunner().invoke(main, ["predict", "rnn", "--data", str(loose), "--models",
                                       str(tiny_models)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(loose) in warnings[0]
    assert "worse than the data rnn was trained on (physics.position_noise 0," in warnings[0]
    assert len(result.stdout.strip().splitlines()) == 9  # the header and its 8 samples


@pytest.mark.slow
def test_evaluate_names_nested_models_and_scores_only_those_asked_for(tiny_store, tiny_models,
                                                                      tmp_path):
    """Models in folders per level (models/LEVEL/MODEL/MODEL.keras) are LEVEL-MODEL in the
    metrics; --only picks them by comma-separated patterns."""
    models = tmp_path / "models"
    for level in ("exact", "pos-1"):
        shutil.copytree(tiny_models, models / level)
    metrics = tmp_path / "m.json"
    result = CliRunner().invoke(main, ["evaluate", "--data", str(tiny_store), "--models",
                                       str(models), "--only", "pos-*,exact-rnn", "--metrics",
                                       str(metrics), "--predictions", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(metrics.read_text())["models"]) == [
        "exact-rnn", "pos-1-dnn", "pos-1-rnn"]
    result = CliRunner().invoke(main, ["evaluate", "--data", str(tiny_store), "--models",
                                       str(models), "--only", "psi-*"])
    assert result.exit_code == 1
    assert "no trained model matches 'psi-*'" in result.output and "exact-dnn" in result.output


@pytest.mark.slow
def test_two_models_in_one_folder_are_both_scored_under_their_own_names(tiny_store,
                                                                        tiny_models, tmp_path):
    """Two `train --out DIR/p0.3` runs leave dnn.keras and rnn.keras side by side: each is
    scored, as p0.3-dnn and p0.3-rnn; a folder of one model keeps the folder's name."""
    models = tmp_path / "models"
    for name in ("dnn", "rnn"):
        shutil.copytree(tiny_models / name, models / "p0.3", dirs_exist_ok=True)
    shutil.copytree(tiny_models / "rnn", models / "alone")
    metrics = tmp_path / "m.json"
    result = CliRunner().invoke(main, ["evaluate", "--data", str(tiny_store), "--models",
                                       str(models), "--metrics", str(metrics),
                                       "--predictions", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(metrics.read_text())["models"]) == ["alone", "p0.3-dnn",
                                                                 "p0.3-rnn"]
    shutil.copy(tiny_models / "rnn" / "rnn.keras", models / "alone.keras")  # "alone" twice
    result = CliRunner().invoke(main, ["evaluate", "--data", str(tiny_store), "--models",
                                       str(models), "--metrics", str(metrics)])
    assert result.exit_code == 1
    assert "would both be named 'alone' in the metrics" in result.output, result.output


def test_a_model_trained_at_every_step_is_a_row_of_its_own_in_both_tables():
    """`evaluate` scores the every-step RNN beside the others (data/models/rnn-every-step):
    its rows say how it was trained, in the results table and the per-step table."""
    from pipeline.evaluate.metrics_record import BASELINES, BaselineScores, Metrics, ModelScores
    from pipeline.evaluate.table import results_table

    rnn = ModelScores(r2=0.98, pearson=0.99, mae=0.02, mean_relative_error=0.03,
                      median_relative_error=0.02, coverage_90=0.9,
                      coverage_90_by_tercile=[0.9, 0.9, 0.9], nll=-2.0, mean_sigma=0.02,
                      calibration={"0.90": 0.9}, uncertainty="gaussian", model="rnn",
                      preset="physics-informed", mass_scan=False, physics_fit=False,
                      simulator=False, parameters=100, train_seconds=1.0, train_samples=10,
                      r2_per_step=[0.1, 0.5])
    every = replace(rnn, r2=0.97, r2_per_step=[0.9, 0.97], loss_every_step=True)
    metrics = Metrics(samples=10, scope="test split", models={"rnn": rnn, "rnn-every-step": every},
                      baselines={key: BaselineScores(0.5, 0.7, 0.1, 0.2, 0.1)
                                 for key in BASELINES}, report_table_1_r2={})
    lines = results_table(metrics).splitlines()
    label = "| RNN, physics-informed, loss at every step |"
    assert [line for line in lines if line.startswith(label)] == [
        f"{label} no | **0.970** | – | 0.0200 | 2.0 % | 0.900 | 0.90 / 0.90 / 0.90 | -2.00 | 1 s |",
        f"{label} 0.900 | 0.970 |"]
    assert sum(line.startswith("| RNN, physics-informed |") for line in lines) == 2
