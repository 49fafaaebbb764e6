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


@pytest.mark.slow
def test_models_refuse_a_store_of_another_task(tmp_path, tiny_models):
    """A mass model scores no store of another task, not even as a distribution shift;
    and training asks for a mass store."""
    params = write_params(tmp_path / "p.yaml", physics={"task": "mass-drag"})
    generate_store(load_params(params), tmp_path / "s", scheduler="synchronous")
    result = CliRunner().invoke(main, ["evaluate", "--data", str(tmp_path / "s"), "--models",
                                       str(tiny_models / "rnn"), "--allow-shift"])
    assert result.exit_code == 1
    assert "physics.task mass (trained) vs mass-drag" in result.output
    result = CliRunner().invoke(main, ["train", "rnn", "--params", str(params), "--data",
                                       str(tmp_path / "s"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "mass-drag task" in result.output
    assert not (tmp_path / "m").exists()
