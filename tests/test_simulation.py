"""The in-graph mass scan: the same physics as the baseline, and it finds the mass."""

from __future__ import annotations

import numpy as np

from pipeline.config import load_params
from pipeline.evaluate.physics_baseline import upsample
from pipeline.learn.data import FEED_FORWARD, Normaliser, make_view
from pipeline.learn.simulation import (MassScan, gradient_matrix, scan_masses,
                                       upsampling_matrix)
from pipeline.physics.integrator import simulate_batch
from pipeline.store.reader import read_arrays, store_files


def test_matrices_are_the_baseline_upsampling_and_np_gradient():
    physics = load_params().physics
    psi = np.random.default_rng(0).normal(size=(physics.grid, physics.grid))
    up = upsampling_matrix(physics.size, physics.downsample)
    np.testing.assert_allclose(up @ psi @ up.T, upsample(psi, physics), atol=1e-10)
    phi = up @ psi @ up.T
    d = gradient_matrix(physics.size)
    np.testing.assert_allclose(phi @ d.T, np.gradient(phi, axis=1), atol=1e-12)
    np.testing.assert_allclose(d @ phi, np.gradient(phi, axis=0), atol=1e-12)


def _scan(tiny_store, n_masses=32):
    physics = load_params(tiny_store.parent / "params.yaml").physics
    normaliser = Normaliser.from_store(tiny_store)
    psi, encoding, mass = read_arrays(store_files(tiny_store, None))
    layer = MassScan.for_physics(physics, normaliser.mean, normaliser.std, n_masses=n_masses)
    return layer, physics, psi, make_view(psi, encoding, normaliser, FEED_FORWARD), mass


def test_simulated_paths_are_the_report_integrator_on_the_upsampled_field(tiny_store):
    layer, physics, psi, view, _ = _scan(tiny_store, n_masses=4)
    positions = layer._simulate(
        *layer._force_columns(view[..., 0] * layer.psi_std + layer.psi_mean))
    phis = np.stack([upsample(p, physics) for p in psi])
    for j, mass in enumerate(scan_masses(physics.mass_low, physics.mass_high, 4)):
        expected, _ = simulate_batch(phis, np.full(len(psi), mass),
                                     np.array(physics.start_position),
                                     np.array(physics.start_velocity), physics.n_positions)
        # float32 in the graph, float64 here: compare the first kept steps, before
        # rounding can move a particle across a pixel edge
        np.testing.assert_allclose(positions.numpy()[:, j, 1:3],
                                   expected[:, physics.kept_steps[1:3]], atol=0.05)


def test_the_best_fitting_candidate_is_near_the_true_mass(tiny_store):
    layer, physics, _, view, mass = _scan(tiny_store)
    features = layer(view).numpy()
    excess, estimates = features[:, :layer.n_masses], features[:, layer.n_masses:]
    assert np.all(excess >= 0) and np.all(excess.min(axis=1) == 0)
    best = scan_masses(physics.mass_low, physics.mass_high, layer.n_masses)[excess.argmin(axis=1)]
    assert np.mean(np.abs(np.log(best / mass)) < 0.2) >= 0.8
    assert np.corrcoef(estimates[:, 1], np.log(mass))[0, 1] > 0.9
