"""Each task's physics references: the likelihood fit in the exact fields finds every
hidden parameter, the fit from what the models see does far better than the mean, and
the field-speed fit reads ω from how snapshots turn."""

import numpy as np
import pytest

from pipeline.config import load_params
from pipeline.learn.scores import r2_score
from pipeline.physics.inversion import exact_field_variances, fields_reproduce
from pipeline.references import LIKELIHOODS, fit, snapshot_variances
from pipeline.references.moving_field import field_speed
from pipeline.tasks import task_named

TASKS = ("mass-charge", "mass-drag", "moving-field")


def _shard(task: str, n: int, seed: int) -> tuple[dict, object]:
    physics = load_params(overrides=(f"physics.task={task}",)).physics
    rngs = [np.random.default_rng([seed, i]) for i in range(n)]
    batch = task_named(task).make_samples(rngs, physics)
    shard = {"potential": batch.potential, "positions": batch.positions, "mass": batch.mass,
             "noise_offset": batch.noise_offset, **batch.extras}
    return shard, physics


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_the_fit_in_the_exact_fields_finds_every_hidden_parameter(task):
    likelihood = LIKELIHOODS[task]
    train, physics = _shard(task, 120, 1)
    test, _ = _shard(task, 120, 2)
    names = task_named(task).parameter_names
    truth = np.stack([test[name] for name in names], axis=1)
    exact, phi0 = fit(likelihood, test, physics, exact_field_variances(physics), exact=True)
    smooth, _ = fit(likelihood, test, physics, snapshot_variances(likelihood, train, physics))
    for k, name in enumerate(names):
        assert r2_score(truth[:, k], exact[:, k]) > 0.97, name
        assert r2_score(truth[:, k], smooth[:, k]) > 0.5, name
    assert fields_reproduce(phi0, test["potential"], physics.downsample).all()


def test_the_field_speed_is_read_from_how_two_equal_fields_turn():
    rng = np.random.default_rng(0)
    times = np.arange(0, 100, 10, dtype=float)
    speeds = rng.uniform(0.0, 0.02, 64)
    a, b = rng.normal(size=(2, 64, 500))
    angle = speeds[:, None] * times
    snapshots = np.cos(angle)[:, :, None] * a[:, None] + np.sin(angle)[:, :, None] * b[:, None]
    gram = snapshots @ snapshots.transpose(0, 2, 1) / 500
    found = field_speed(gram, times, 0.0, 0.02)[0]
    assert np.abs(found - speeds).max() < 0.02 / 120 + 1e-12  # within a grid step


def test_exact_fields_that_do_not_give_back_the_stored_psi_are_caught(tmp_path):
    """Offsets edited after generation: the regenerated φ is another field, and the
    exact reference must say so rather than score a fit in the wrong field."""
    import h5py

    from conftest import write_params
    from pipeline.evaluate.references import task_references
    from pipeline.store.generate import generate_store

    params = load_params(write_params(tmp_path / "p.yaml", physics={"task": "mass-charge"}))
    generate_store(params, tmp_path / "s", scheduler="synchronous")
    first, second = sorted((tmp_path / "s").glob("shard-*.h5"))[:2]
    with h5py.File(first, "r+") as h5:
        h5["noise_offset"][...] = h5["noise_offset"][()] + 0.5
    task = task_named("mass-charge")
    columns, _, reproduced = task_references([first, second], [second], task, params.physics)
    n = len(reproduced) // 2
    assert not reproduced[:n].any() and reproduced[n:].all()
    assert set(columns) == {"physics", "physics_charge", "physics_fine_field",
                            "physics_fine_field_charge"}
