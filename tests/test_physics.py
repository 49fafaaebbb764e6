"""The physics core against oracles: noise.pnoise2, np.gradient, closed forms."""

import dataclasses

import noise
import numpy as np
import pytest

from pipeline.config import PhysicsConfig
from pipeline.physics.encoding import encode_positions, summed_encoding, to_grid
from pipeline.physics.field import (
    block_mean,
    force_field,
    noise_field,
    potential,
    potential_from_noise,
    trap_weights,
)
from pipeline.physics.integrator import NOT_ESCAPED, simulate, simulate_batch
from pipeline.physics.perlin import perlin_grid, perlin_points
from pipeline.physics.sample import make_sample, make_samples, sample_streams

PHYSICS = PhysicsConfig()


def _float32_points(rng, n):
    """Random coordinates in [0, 1024) that float32 holds exactly: pnoise2 parses its
    arguments as C floats, so both sides must see the same point."""
    return rng.uniform(0, 1024, (2, n)).astype(np.float32).astype(np.float64)


def _pnoise2(xs, ys, octaves, base=0, persistence=0.5, lacunarity=2.0):
    return np.array([noise.pnoise2(x, y, octaves=octaves, persistence=persistence,
                                   lacunarity=lacunarity, repeatx=1024, repeaty=1024, base=base)
                     for x, y in zip(xs, ys, strict=True)])


@pytest.mark.parametrize("octaves", [1, 2, 3, 4, 5, 6])
def test_perlin_matches_pnoise2_at_random_points(octaves):
    rng = np.random.default_rng(octaves)
    xs, ys = _float32_points(rng, 10_000)
    ours = perlin_points(xs, ys, octaves, 0.5, 2.0, 1024.0, 0)
    assert np.abs(ours - _pnoise2(xs, ys, octaves)).max() < 1e-4


@pytest.mark.parametrize("base,persistence,lacunarity", [(1, 0.5, 2.0), (0, 0.7, 1.75)])
def test_perlin_matches_pnoise2_with_other_settings(base, persistence, lacunarity):
    rng = np.random.default_rng(7)
    xs, ys = _float32_points(rng, 2_000)
    ours = perlin_points(xs, ys, 3, persistence, lacunarity, 1024.0, base)
    ref = _pnoise2(xs, ys, 3, base=base, persistence=persistence, lacunarity=lacunarity)
    assert np.abs(ours - ref).max() < 1e-4


def test_perlin_grid_matches_pnoise2_per_pixel():
    xs = 3.3 + np.arange(64) / 64
    ys = 1000.9 + np.arange(48) / 64  # crosses the 1024 repeat boundary
    grid = perlin_grid(xs, ys, 4, 0.5, 2.0, 1024.0, 0)
    assert grid.shape == (64, 48)
    ref = np.array([_pnoise2(np.full(48, x), ys, 4) for x in xs])
    assert np.abs(grid - ref).max() < 1e-4


def test_potential_is_normalised_then_trapped():
    raw = noise_field(12.5, 800.25, 256, 4, 0.5, 2.0, 1024.0, 0)
    assert np.abs(raw).max() < 1  # pnoise2 sums stay inside (-1, 1): normalising matters
    trap = trap_weights(256, 25.0)
    phi = potential_from_noise(raw, trap, 1.1)
    untrapped = potential_from_noise(raw, np.zeros_like(trap), 1.1)
    assert np.abs(untrapped).max() == pytest.approx(1.0)
    # walls: the trap weight is 1 on the border, so φ there is the safety height
    np.testing.assert_allclose(phi[0, :], 1.1)
    np.testing.assert_allclose(phi[:, -1], 1.1)
    # the middle is the normalised noise, untouched to within e^-25
    np.testing.assert_allclose(phi[100:156, 100:156], untrapped[100:156, 100:156], atol=1e-9)
    np.testing.assert_allclose(potential((12.5, 800.25), PHYSICS), phi)


def test_force_is_minus_gradient_of_a_quadratic_bowl():
    rows, cols = np.meshgrid(np.arange(40.0), np.arange(30.0), indexing="ij")
    phi = 0.01 * ((cols - 12.0) ** 2 + (rows - 20.0) ** 2)
    force = force_field(phi)
    grad_rows, grad_cols = np.gradient(phi)
    np.testing.assert_allclose(force[..., 0], -grad_cols)
    np.testing.assert_allclose(force[..., 1], -grad_rows)
    # inside, a quadratic bowl gives a linear restoring force, in Cartesian (x, y)
    np.testing.assert_allclose(force[1:-1, 1:-1, 0], -0.02 * (cols - 12.0)[1:-1, 1:-1])
    np.testing.assert_allclose(force[1:-1, 1:-1, 1], -0.02 * (rows - 20.0)[1:-1, 1:-1])


def _slope(gx, gy, n=256):
    """φ = −gx·x − gy·y: a constant force (gx, gy) everywhere, edges included."""
    rows, cols = np.meshgrid(np.arange(float(n)), np.arange(float(n)), indexing="ij")
    return -gx * cols - gy * rows


def test_integrator_matches_closed_form_under_constant_force():
    phi = _slope(0.003, -0.001)
    mass = 0.5
    traj, escaped = simulate(phi, mass, np.array([20.0, 200.0]), np.array([0.1, 0.0]), 100)
    assert escaped == NOT_ESCAPED
    t = np.arange(100)
    # v_t = v0 + a t, r_t = r0 + v0 t + a t(t+1)/2 for the update v += a; r += v
    ax, ay = 0.003 / mass, -0.001 / mass
    np.testing.assert_allclose(traj[:, 0], 20 + 0.1 * t + ax * t * (t + 1) / 2)
    np.testing.assert_allclose(traj[:, 1], 200 + ay * t * (t + 1) / 2)


def test_lighter_particle_runs_the_same_path_faster():
    phi = _slope(0.002, 0.001)
    start, rest = np.array([30.0, 30.0]), np.zeros(2)
    heavy, _ = simulate(phi, 0.8, start, rest, 60)
    light, _ = simulate(phi, 0.2, start, rest, 60)
    # same straight path; displacement ∝ 1/m at every step
    np.testing.assert_allclose(light - start, 4 * (heavy - start))
    # in a random field: the light particle covers the heavy one's early path, further along
    phi = potential((5.0, 77.0), PHYSICS)
    centre = np.array([128.0, 128.0])
    heavy, _ = simulate(phi, 0.9, centre, rest, 100)
    light, _ = simulate(phi, 0.9 / 4, centre, rest, 50)

    def step(trajectory):
        return np.linalg.norm(np.diff(trajectory, axis=0), axis=1).sum()

    assert step(light[:25]) > 1.5 * step(heavy[:25])
    # a particle 4× lighter follows the same path twice as fast: r_light(t) ≈ r_heavy(2t)
    gap = np.linalg.norm(light[:25] - heavy[:50:2], axis=1)
    assert gap.max() < 0.05 * step(heavy[:50]) + 1.0


def test_escape_is_reported_not_raised():
    phi = _slope(0.5, 0.0, n=64)
    traj, escaped = simulate(phi, 1.0, np.array([32.0, 32.0]), np.zeros(2), 100)
    # x_t = 32 + 0.5 t(t+1)/2 first reaches 64 at t = 11
    assert escaped == 11
    assert traj[10, 0] < 64 <= traj[11, 0]
    assert np.isnan(traj[12:]).all()
    trajs, flags = simulate_batch(np.stack([phi, _slope(0.0, 0.0, 64)]), np.array([1.0, 1.0]),
                                  np.array([32.0, 32.0]), np.zeros(2), 100)
    assert flags.tolist() == [11, NOT_ESCAPED]
    np.testing.assert_allclose(trajs[1], 32.0)


def test_block_mean_is_equation_2():
    phi = np.random.default_rng(0).normal(size=(256, 256))
    psi = block_mean(phi, 8)
    assert psi.shape == (32, 32)
    np.testing.assert_allclose(psi, phi.reshape(32, 8, 32, 8).mean(axis=(1, 3)))


def test_four_warm_weights_sum_to_one_and_centroid_is_the_position():
    rng = np.random.default_rng(3)
    positions = rng.uniform(3.5, 251.5, (500, 2))  # inside the outermost cell centres
    enc = encode_positions(positions, 8, 32).astype(np.float64)
    np.testing.assert_allclose(enc.sum(axis=(1, 2)), 1.0, atol=1e-6)
    rows, cols = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    centroid_x = (enc * cols).sum(axis=(1, 2))
    centroid_y = (enc * rows).sum(axis=(1, 2))
    np.testing.assert_allclose(centroid_x, (positions[:, 0] - 3.5) / 8, atol=1e-5)
    np.testing.assert_allclose(centroid_y, (positions[:, 1] - 3.5) / 8, atol=1e-5)
    assert ((enc > 0).sum(axis=(1, 2)) <= 4).all()


def test_four_warm_is_aligned_with_the_block_means():
    # the centre of cell (row 5, col 9) is pixel (x, y) = (8·9 + 3.5, 8·5 + 3.5)
    enc = encode_positions(np.array([[75.5, 43.5]]), 8, 32)[0]
    assert enc[5, 9] == pytest.approx(1.0)
    assert enc.sum() == pytest.approx(1.0)


def test_four_warm_clamps_onto_the_outermost_centres_at_the_border():
    # less than half a cell from the edge: clamped, weights still sum to 1
    enc = encode_positions(np.array([[0.0, 255.9], [1.0, 130.0]]), 8, 32)
    assert enc[0, 31, 0] == pytest.approx(1.0)
    assert enc[1].sum() == pytest.approx(1.0)
    assert enc[1][:, 0].sum() == pytest.approx(1.0)  # x clamped onto column 0
    assert to_grid(-5.0, 8, 32) == 0.0 and to_grid(300.0, 8, 32) == 31.0


def test_summed_encoding_is_the_feed_forward_input():
    sample = make_sample(np.random.default_rng(11), PHYSICS)
    total = summed_encoding(sample["encoding"])
    assert total.shape == (32, 32)
    assert total.sum() == pytest.approx(PHYSICS.time_steps, rel=1e-5)


def test_sample_has_every_part_with_the_right_shape():
    sample = make_sample(np.random.default_rng(5), PHYSICS, store_full_potential=True)
    assert 0.1 <= sample["mass"] <= 1.0
    assert sample["potential"].shape == (32, 32)
    assert sample["trajectory"].shape == (100, 2)
    assert sample["positions"].shape == (10, 2)
    np.testing.assert_array_equal(sample["positions"], sample["trajectory"][::10])
    np.testing.assert_array_equal(sample["trajectory"][0], [128.0, 128.0])
    assert sample["encoding"].shape == (10, 32, 32)
    assert ((0 <= sample["noise_offset"]) & (sample["noise_offset"] < 1024)).all()
    np.testing.assert_allclose(sample["potential"], block_mean(sample["potential_full"], 8))
    np.testing.assert_allclose(sample["potential_full"],
                               potential(tuple(sample["noise_offset"]), PHYSICS))


def test_escapes_are_redrawn_deterministically_from_the_sample_stream():
    leaky = dataclasses.replace(PHYSICS, trap_safety=0.0, mass_high=0.2)
    seed = np.random.SeedSequence(42)
    first = make_samples(sample_streams(seed, 40), leaky)
    again = make_samples(sample_streams(np.random.SeedSequence(42), 40), leaky)
    assert first.redraws.sum() > 0
    assert np.isfinite(first.trajectory).all()
    for name in ("mass", "potential", "trajectory", "encoding", "noise_offset", "redraws"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    # a sample alone equals the same sample made inside the batch
    redrawn = int(np.argmax(first.redraws))
    alone = make_sample(sample_streams(np.random.SeedSequence(42), 40)[redrawn], leaky)
    np.testing.assert_array_equal(alone["trajectory"], first.trajectory[redrawn])
    assert alone["redraws"] == first.redraws[redrawn]
