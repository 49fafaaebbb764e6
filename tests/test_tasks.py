"""The task family: each task's physics against a plain-Python integrator of its equations,
its keys refused in one line, its stores deterministic, and ``mass`` what it always was."""

from __future__ import annotations

import hashlib
import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import write_params
from pipeline.cli import main
from pipeline.config import load_params
from pipeline.physics.field import noise_field, trap_weights
from pipeline.physics.sample import sample_streams
from pipeline.store.generate import generate_store
from pipeline.store.shard import shard_params
from pipeline.tasks import TASKS, make_samples, recorded_physics
from pipeline.tasks.moving_field import rotations

NEW_TASKS = ("mass-charge", "mass-drag", "moving-field")


def _physics(task, **keys):
    return load_params(overrides=(f"physics.task={task}",
                                  *(f"physics.{k}={v}" for k, v in keys.items()))).physics


def _normalised(offset, physics):
    raw = noise_field(float(offset[0]), float(offset[1]), physics.size, physics.octaves,
                      physics.persistence, physics.lacunarity, physics.repeat, physics.base)
    return raw / np.abs(raw).max()


def _trapped(field, physics):
    w = trap_weights(physics.size, physics.trap_flatness)
    return (1 - w) * field + physics.trap_safety * w


def _reference_path(physics, n, acceleration, velocity):
    """Plain Python: per step a from the pixel the particle is in, v += a, r += v."""
    x, y = physics.start_position
    vx, vy = velocity
    path = [(x, y)]
    for t in range(1, n):
        ax, ay = acceleration(t - 1, int(np.floor(y)), int(np.floor(x)), vx, vy)
        vx, vy = vx + ax, vy + ay
        x, y = x + vx, y + vy
        path.append((x, y))
    return np.array(path)


def _reference(task, sample, physics):
    """The trajectory the task's equations give, from np.gradient of fields made here."""
    phi = _trapped(_normalised(sample["noise_offset"], physics), physics)
    gy, gx = np.gradient(phi)  # rows are y
    m = sample["mass"]
    if task == "mass-charge":
        chi = _normalised(sample["charge_offset"], physics)
        hy, hx = np.gradient(chi)
        q = sample["charge"]
        return _reference_path(physics, physics.n_positions,
                               lambda t, r, c, vx, vy: ((-gx[r, c] - q * hx[r, c]) / m,
                                                        (-gy[r, c] - q * hy[r, c]) / m),
                               physics.start_velocity)
    if task == "mass-drag":
        b = sample["drag"]
        return _reference_path(physics, physics.n_positions,
                               lambda t, r, c, vx, vy: ((-gx[r, c] - b * vx) / m,
                                                        (-gy[r, c] - b * vy) / m),
                               sample["start_velocity"])
    a = _normalised(sample["noise_offset"], physics)
    b = _normalised(sample["drift_offset"], physics)
    cos_t, sin_t = rotations(float(sample["field_speed"]), physics.n_positions)
    slopes = [np.gradient(_trapped(cos_t[t] * a + sin_t[t] * b, physics))
              for t in range(physics.n_positions)]
    return _reference_path(physics, physics.n_positions,
                           lambda t, r, c, vx, vy: (-slopes[t][1][r, c] / m,
                                                    -slopes[t][0][r, c] / m),
                           physics.start_velocity)


@pytest.mark.parametrize("task", NEW_TASKS)
def test_each_task_moves_the_particle_as_its_equations_say(task):
    physics = _physics(task, n_positions=60, stride=6)
    batch = make_samples(sample_streams(np.random.SeedSequence(3), 3), physics)
    for s in range(3):
        sample = batch.sample(s)
        np.testing.assert_allclose(sample["trajectory"], _reference(task, sample, physics),
                                   rtol=0, atol=1e-8)
    for parameter in TASKS[task].parameters:  # drawn from the prior, not a constant
        low, high = parameter.bounds(physics)
        values = batch.field(parameter.name)
        assert values.min() >= low and values.max() < high and np.ptp(values) > 0


def test_each_parameter_changes_the_path():
    """A hidden parameter the trajectory does not depend on could not be inferred."""
    for task, key, values in (("mass-charge", "charge", (-0.9, 0.9)),
                              ("mass-drag", "drag", (0.0, 0.04)),
                              ("moving-field", "field_speed", (0.0, 0.02))):
        ends = []
        for value in values:
            physics = _physics(task, **{f"{key}_low": value, f"{key}_high": value + 1e-9})
            batch = make_samples(sample_streams(np.random.SeedSequence(5), 4), physics)
            ends.append(batch.trajectory[:, -1])
        gap = np.linalg.norm(ends[0] - ends[1], axis=1)
        assert np.median(gap) > 2.0, (task, gap)  # pixels after 100 steps


def _static_path(offset, m, physics):
    gy, gx = np.gradient(_trapped(_normalised(offset, physics), physics))
    return _reference_path(physics, physics.n_positions,
                           lambda t, r, c, vx, vy: (-gx[r, c] / m, -gy[r, c] / m),
                           physics.start_velocity)


def test_a_still_moving_field_is_the_mass_task():
    """ω = 0: φ_t is the mass task's φ at every step, so the path is the mass task's."""
    physics = _physics("moving-field", field_speed_low=0.0, field_speed_high=1e-300)
    moving = make_samples(sample_streams(np.random.SeedSequence(9), 2), physics)
    still = _physics("mass")
    for s in range(2):
        sample = moving.sample(s)
        reference = _static_path(sample["noise_offset"], sample["mass"], still)
        np.testing.assert_allclose(sample["trajectory"], reference, atol=1e-8)
        np.testing.assert_array_equal(sample["potential_steps"][0], sample["potential"])


def test_rotations_are_cos_and_sin():
    cos_t, sin_t = rotations(0.37, 100)
    t = np.arange(100)
    np.testing.assert_allclose(cos_t, np.cos(0.37 * t), atol=1e-12)
    np.testing.assert_allclose(sin_t, np.sin(0.37 * t), atol=1e-12)


def test_a_mass_store_records_no_task_keys():
    """So that its shards are byte for byte those made before tasks existed."""
    recorded = shard_params(load_params())["physics"]
    assert "task" not in recorded and not {"charge_low", "drag_high"} & set(recorded)
    other = shard_params(load_params(overrides=("physics.task=mass-drag",)))["physics"]
    assert other["task"] == "mass-drag" and "drag_high" in other and "charge_low" not in other
    assert recorded_physics({"task": "mass", "mass_low": 0.1}) == {"mass_low": 0.1}


@pytest.mark.parametrize("setting,named", [
    ("physics.task=charge", "physics.task 'charge' is not a task"),
    ("physics.charge_low=2", "physics.charge_low and physics.charge_high"),
    ("physics.drag_high=0.5", "physics.drag_high (0.5) must stay below physics.mass_low"),
    ("physics.drag_low=-0.01", "physics.drag_low and physics.drag_high"),
    ("physics.field_speed_high=3", "physics.field_speed_high must be ≤ 0.5"),
    ("physics.drag_start_speed=1e9", "physics.drag_start_speed must be in"),
])
def test_bad_task_settings_get_one_line(tmp_path, setting, named):
    task = {"charge": "mass-charge", "drag": "mass-drag", "field": "moving-field"}
    chosen = next((v for k, v in task.items() if f".{k}" in setting), "mass")
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "s"), "--set",
                                       f"physics.task={chosen}", "--set", setting])
    assert result.exit_code == 2, result.output
    assert named in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def _digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.glob("shard-*.h5"))}


@pytest.mark.slow
@pytest.mark.parametrize("task", NEW_TASKS)
def test_every_task_store_is_the_same_however_it_is_made(tmp_path, task):
    """One process or two workers, grown from a smaller store, or resumed after a killed
    run: the same shard bytes; the store verifies and remakes itself bit for bit."""
    def params(n):
        return load_params(write_params(tmp_path / f"p{n}.yaml", physics={"task": task},
                                        generate={"n_samples": n, "shard_size": 6}))
    generate_store(params(18), tmp_path / "one", scheduler="synchronous")
    generate_store(params(18), tmp_path / "two", workers=2)
    generate_store(params(12), tmp_path / "grown", scheduler="synchronous")
    generate_store(params(18), tmp_path / "grown", scheduler="synchronous")
    generate_store(params(18), tmp_path / "killed", scheduler="synchronous")
    (tmp_path / "killed" / "manifest.json").unlink()  # what a run killed after two shards
    (tmp_path / "killed" / "shard-00002.h5").unlink()  # leaves behind
    generate_store(params(18), tmp_path / "killed", scheduler="synchronous")
    reference = _digests(tmp_path / "one")
    assert len(reference) == 3
    for name in ("two", "grown", "killed"):
        assert _digests(tmp_path / name) == reference, name
    with h5py.File(tmp_path / "one" / "shard-00000.h5", "r") as h5:
        assert json.loads(h5.attrs["params"])["physics"]["task"] == task
        for parameter in TASKS[task].parameters:
            assert h5[parameter.name].shape == (6,)
        for field in TASKS[task].fields:
            assert h5[field.name].dtype == np.dtype(field.dtype)


def test_every_reader_hands_over_every_hidden_parameter(tmp_path):
    """read_split, NumPy batches and the PyTorch dataset: the task's observed fields and
    each hidden parameter, the values stored."""
    import torch.utils.data

    import massfield
    from pipeline.readers.torch_dataset import ShardDataset

    params = load_params(write_params(tmp_path / "p.yaml", physics={"task": "mass-charge"}))
    generate_store(params, tmp_path / "s", scheduler="synchronous")
    store = massfield.open_store(tmp_path / "s")
    assert store.fields == ("potential", "charge_potential", "positions", "mass", "charge")
    whole = massfield.read_split(store, "train")
    stored = {}
    for path in store.files("train"):
        with h5py.File(path, "r") as h5:
            for name in store.fields:
                stored.setdefault(name, []).append(h5[name][()])
    for name in store.fields:
        np.testing.assert_array_equal(whole[name], np.concatenate(stored[name]))
    batch = next(massfield.batches(store, "train", 4))
    assert set(batch) == set(store.fields) and batch["charge"].shape == (4,)
    assert set(np.round(batch["charge"], 12)) <= set(np.round(whole["charge"], 12))
    loader = torch.utils.data.DataLoader(ShardDataset(store, "train"), batch_size=3)
    first = next(iter(loader))
    assert set(first) == set(store.fields) and tuple(first["charge_potential"].shape) == (3, 32, 32)


MODELS = ("dnn", "cnn", "rnn", "crnn")


@pytest.mark.slow
def test_every_model_trains_scores_and_predicts_every_parameter(tmp_path, tiny_models):
    """The same commands on a task's store: each model predicts each hidden parameter with
    a calibrated interval; a model scores no store of another task, either way round."""
    params = write_params(tmp_path / "p.yaml", physics={"task": "mass-charge"},
                          train={m: {"epochs": 1, "steps_per_epoch": 2} for m in MODELS})
    generate_store(load_params(params), tmp_path / "s", scheduler="synchronous")
    models = tmp_path / "models"
    for name in MODELS:
        result = CliRunner().invoke(main, ["train", name, "--params", str(params), "--data",
                                           str(tmp_path / "s"), "--out", str(models / name)])
        assert result.exit_code == 0, result.output
        history = json.loads((models / name / f"{name}.history.json").read_text())
        assert history["parameter_calibration"]["charge"]["space"] == "linear"
    result = CliRunner().invoke(main, [
        "evaluate", "--data", str(tmp_path / "s"), "--models", str(models),
        "--metrics", str(tmp_path / "m.json"), "--predictions", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    for name in MODELS:
        charge = metrics["models"][name]["targets"]["charge"]
        assert set(charge) >= {"r2", "mae", "coverage_90", "coverage_90_by_tercile", "nll"}
        assert charge["median_relative_error"] is None  # q crosses zero: MAE only
        joint = metrics["models"][name]["joint_coverage"]
        assert len(joint["expected_coverage"]) == len(joint["levels"]) and joint["max_gap"] >= 0
    for key in ("physics_inversion", "physics_inversion_fine_field"):  # the task's own fits
        reference = metrics["baselines"][key]
        assert reference["r2"] is not None and "r2" in reference["targets"]["charge"]
        assert reference["targets"]["charge"]["median_relative_error"] is None
    assert metrics["baselines"]["physics_inversion_fine_field"]["targets"]["charge"]["r2"] > 0.9
    header = (tmp_path / "p.csv").read_text().splitlines()[0].split(",")
    assert {"charge", "rnn_charge", "rnn_charge_lower_90", "cnn_charge_sigma",
            "physics_charge", "physics_fine_field_charge"} <= set(header)
    result = CliRunner().invoke(main, ["predict", "rnn", "--data", str(tmp_path / "s"),
                                       "--models", str(models), "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[0].split(",") == ["sample", "mass", "sigma", "lower_90", "upper_90", "charge",
                                  "charge_sigma", "charge_lower_90", "charge_upper_90"]
    assert len(rows) == 41
    other = write_params(tmp_path / "o.yaml", physics={"task": "mass-drag"})
    generate_store(load_params(other), tmp_path / "o", scheduler="synchronous")
    for data, model_dir, named in (
            (tmp_path / "o", models / "rnn", "physics.task mass-charge (trained) vs mass-drag"),
            (tmp_path / "s", tiny_models / "rnn", "physics.task mass (trained) vs mass-charge")):
        result = CliRunner().invoke(main, ["evaluate", "--data", str(data), "--models",
                                           str(model_dir), "--allow-shift", "--metrics",
                                           str(tmp_path / "x.json")])
        assert result.exit_code == 1 and named in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1


def _predictions(rng, n, spread):
    """Gaussian predictions of two parameters (a mass, a charge) that claim σ 0.05, and
    truths that scatter around them by ``spread`` (0.05: honest; more: over-confident)."""
    center = np.stack([rng.uniform(0.1, 1.0, n), rng.uniform(-1.0, 1.0, n)], axis=1)
    truth = center + rng.normal(0.0, spread, center.shape)
    return truth, center, np.full_like(center, 0.05)


def test_joint_coverage_holds_for_an_honest_predictor_and_fails_an_over_confident_one():
    from pipeline.evaluate.joint import expected_coverage

    rng = np.random.default_rng(1)
    bounds = [(0.1, 1.0), (-1.0, 1.0)]
    honest = expected_coverage(*_predictions(rng, 4000, 0.05), bounds)
    proud = expected_coverage(*_predictions(rng, 4000, 0.15), bounds)
    assert honest["max_gap"] < 0.03
    assert proud["max_gap"] > 0.1
    low = honest["levels"].index(0.1)  # over-confident: the truth lies beyond the draws,
    assert proud["expected_coverage"][low] > 0.1 + 0.1  # so credibility piles up at 0 and 1


def test_a_parameter_crossing_zero_is_calibrated_per_third_in_linear_space():
    """σ claimed far too small and errors that grow with q: the conformal calibration on one
    split still holds 0.9 in each third of another, where σ as claimed holds under half."""
    from pipeline.evaluate.metrics import parameter_scores
    from pipeline.learn.calibration import calibrate, predictive

    rng = np.random.default_rng(2)

    def split(n):
        q = rng.uniform(-1.0, 1.0, n)
        return {"mass": q, "mean": q + rng.normal(0.0, 0.05 + 0.1 * (q + 1), n),
                "sigma": np.full(n, 0.02)}

    calibration = calibrate(split(6000), (-1.0, 1.0), space="linear")
    test = split(6000)
    scores = parameter_scores(test["mass"], predictive(test, calibration), (-1.0, 1.0))
    assert all(0.87 <= c <= 0.93 for c in scores["coverage_90_by_tercile"]), scores
    raw = {"center": test["mean"], "sigma": test["sigma"], "mean": test["mean"]}
    assert parameter_scores(test["mass"], raw, (-1.0, 1.0))["coverage_90"] < 0.5


def test_the_report_presets_serve_the_mass_task_alone(tmp_path):
    params = write_params(tmp_path / "p.yaml", physics={"task": "mass-drag"})
    generate_store(load_params(params), tmp_path / "s", scheduler="synchronous")
    result = CliRunner().invoke(main, ["train", "crnn", "--params", str(params), "--data",
                                       str(tmp_path / "s"), "--out", str(tmp_path / "m"),
                                       "--set", "train.crnn.preset=report"])
    assert result.exit_code == 2, result.output
    assert "holds task mass-drag" in result.output and "preset=physics-informed" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "m").exists()
