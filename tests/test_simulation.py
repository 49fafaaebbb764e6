"""The in-graph mass scan: the same physics as the baseline, and it finds the mass."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import map_coordinates

from pipeline.config import load_params
from pipeline.learn.data import FEED_FORWARD, make_view
from pipeline.learn.simulation import MassScan, scan_masses
from pipeline.physics.integrator import simulate_batch
from pipeline.physics.upsample import gradient_matrix, upsample, upsampling_matrix
from pipeline.store.reader import read_arrays, store_files


def _spline(psi, physics):
    """The independent oracle: scipy's 2-D cubic spline at every fine pixel."""
    k = physics.downsample
    coarse = (np.arange(physics.size) - (k - 1) / 2) / k
    rows, cols = np.meshgrid(coarse, coarse, indexing="ij")
    return map_coordinates(psi, [rows, cols], order=3, mode="nearest")


def test_matrices_are_the_cubic_spline_and_np_gradient():
    physics = load_params().physics
    psi = np.random.default_rng(0).normal(size=(physics.grid, physics.grid))
    up = upsampling_matrix(physics.size, physics.downsample)
    np.testing.assert_allclose(upsample(psi, physics.size, physics.downsample),
                               _spline(psi, physics), atol=1e-10)
    phi = up @ psi @ up.T
    d = gradient_matrix(physics.size)
    np.testing.assert_allclose(phi @ d.T, np.gradient(phi, axis=1), atol=1e-12)
    np.testing.assert_allclose(d @ phi, np.gradient(phi, axis=0), atol=1e-12)


def _scan(tiny_store, n_masses=32):
    physics = load_params(tiny_store.parent / "params.yaml").physics
    psi, encoding, mass = read_arrays(store_files(tiny_store, None),
                                     ("potential", "encoding", "mass"))
    layer = MassScan.for_physics(physics, n_masses=n_masses)
    return layer, physics, psi, make_view(psi, encoding, FEED_FORWARD), mass


def test_the_graph_integrator_is_the_numba_one_at_every_step(tiny_store):
    """One physics: the mass scan's TensorFlow integrator, run in float64 and keeping every
    step, follows pipeline.physics.integrator on the upsampled field to 1e-6 pixels."""
    physics = load_params(tiny_store.parent / "params.yaml").physics
    psi, = read_arrays(store_files(tiny_store, None), ("potential",))
    steps = tuple(range(physics.n_positions - 1))
    layer = MassScan(physics.size, physics.downsample, physics.start_position,
                     physics.start_velocity, steps, physics.mass_low, physics.mass_high,
                     n_masses=4, dtype="float64")
    positions = layer._simulate(*layer._force_columns(psi.astype(np.float64))).numpy()
    phis = upsample(psi, physics.size, physics.downsample)
    for j, mass in enumerate(scan_masses(physics.mass_low, physics.mass_high, 4)):
        expected, escaped = simulate_batch(phis, np.full(len(psi), mass),
                                           np.array(physics.start_position),
                                           np.array(physics.start_velocity), len(steps))
        inside = escaped == -1  # the graph clamps escaped candidates; compare the others
        assert inside.sum() >= len(psi) // 2
        np.testing.assert_allclose(positions[inside, j], expected[inside], atol=1e-6, rtol=0)


def test_the_best_fitting_candidate_is_near_the_true_mass(tiny_store):
    layer, physics, _, view, mass = _scan(tiny_store)
    features = layer(view).numpy()
    excess, estimates = features[:, :layer.n_masses], features[:, layer.n_masses:]
    assert np.all(excess >= 0) and np.all(excess.min(axis=1) == 0)
    best = scan_masses(physics.mass_low, physics.mass_high, layer.n_masses)[excess.argmin(axis=1)]
    assert np.mean(np.abs(np.log(best / mass)) < 0.2) >= 0.8
    assert np.corrcoef(estimates[:, 1], np.log(mass))[0, 1] > 0.9
