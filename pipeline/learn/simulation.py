"""A mass scan inside the graph: simulate candidate masses, compare with the summed encoding.

The feed-forward view sums the ten encodings, which loses their order; positions that
overlap cannot be told apart, so no read-out of the sum recovers the path exactly. What
the sum does determine is how well a *candidate* path fits it. ``MassScan`` runs the
report's integrator (listing 2) for a fixed grid of masses on ψ upsampled to the fine
grid, four-warm encodes each simulated path, and returns how far each candidate's summed
encoding lies from the observed one. Parameter-free and without gradients: the network
above it learns how to read the mismatch profile into a mass and an uncertainty.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..config import PhysicsConfig
from ..physics.upsample import gradient_matrix, upsampling_matrix
from .fourwarm import axis_weights, grid_coordinate

SHARPNESS = (10.0, 30.0, 100.0)  # soft-argmin temperatures, in 1 / (squared encoding weight)
# The fit over all ten positions is limited by how far a path in the smoothed field drifts
# from the true one; the first snapshots after the start drift least. How much observed
# weight lies where each candidate would be at those steps (an MLP on the scan: R² 0.921 →
# 0.928 with them, 6,000 train samples).
EARLY_STEPS = 3


def scan_masses(low: float, high: float, n: int) -> np.ndarray:
    """The candidate masses: evenly spaced in log-mass (errors are relative)."""
    return np.geomspace(low, high, n)


@keras.saving.register_keras_serializable(package="massfield")
class MassScan(keras.layers.Layer):
    """Feed-forward view (B, G, G, 2) → (B, n_masses · (1 + early) + len(SHARPNESS)).

    Features: each candidate's squared mismatch ‖S(m) − S_observed‖² minus the best one's,
    soft-argmin estimates of log-mass at a few sharpnesses, and for each candidate the
    observed summed encoding at its positions of the kept steps after the first (up to
    EARLY_STEPS of them). ψ is the physical potential, as stored.
    """

    def __init__(self, size: int, downsample: int, start: tuple[float, float],
                 velocity: tuple[float, float], kept_steps: tuple[int, ...],
                 mass_low: float, mass_high: float, n_masses: int = 32, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.size, self.downsample = int(size), int(downsample)
        self.start, self.velocity = tuple(map(float, start)), tuple(map(float, velocity))
        self.kept_steps = tuple(int(t) for t in kept_steps)
        self.mass_low, self.mass_high = float(mass_low), float(mass_high)
        self.n_masses = int(n_masses)
        self.early = min(EARLY_STEPS, len(self.kept_steps) - 1)
        up = upsampling_matrix(self.size, self.downsample)
        dtype = self.compute_dtype
        self._up = tf.constant(up, dtype)
        self._d_up = tf.constant(gradient_matrix(self.size) @ up, dtype)
        masses = scan_masses(self.mass_low, self.mass_high, self.n_masses)
        self._inverse_mass = tf.constant(1.0 / masses, dtype)
        self._log_mass = tf.constant(np.log(masses), dtype)

    @classmethod
    def for_physics(cls, physics: PhysicsConfig, **kwargs) -> MassScan:
        return cls(physics.size, physics.downsample, physics.start_position,
                   physics.start_velocity, physics.kept_steps, physics.mass_low,
                   physics.mass_high, **kwargs)

    def _force_columns(self, psi):
        """Two (B, size, grid) tensors: for each fine column c, (ψ (DU)ᵀ)[:, c] and (ψ Uᵀ)[:, c].

        With φ = U ψ Uᵀ on the fine grid, −F_x[r, c] = U[r] · (ψ (DU)ᵀ)[:, c] and
        −F_y[r, c] = (DU)[r] · (ψ Uᵀ)[:, c]: a particle's force costs two dot products of
        length grid, and the fine force fields (B × size² each, most of the cost when
        formed) are never needed.
        """
        return (tf.einsum("bgh,ch->bcg", psi, self._d_up),
                tf.einsum("bgh,ch->bcg", psi, self._up))

    def _step(self, x, y, vx, vy, x_columns, y_columns):
        """One step of the report's integrator (listing 2) for every candidate at once."""
        last = self.size - 1
        # escaped candidates read the border pixels: their encoding sits on the border
        # cells (as the encoder clamps) and mismatches the observed path
        row = tf.clip_by_value(tf.cast(tf.floor(y), tf.int32), 0, last)
        col = tf.clip_by_value(tf.cast(tf.floor(x), tf.int32), 0, last)
        minus_fx = tf.reduce_sum(tf.gather(self._up, row)
                                 * tf.gather(x_columns, col, batch_dims=1), axis=-1)
        minus_fy = tf.reduce_sum(tf.gather(self._d_up, row)
                                 * tf.gather(y_columns, col, batch_dims=1), axis=-1)
        vx = vx - minus_fx * self._inverse_mass
        vy = vy - minus_fy * self._inverse_mass
        return x + vx, y + vy, vx, vy

    def _simulate(self, x_columns, y_columns):
        """Positions (B, M, T, 2) at the kept steps, every candidate mass from the start.

        A ``tf.while_loop`` between kept steps: the graph holds one integrator step per
        kept step, not one per simulated step (compiling the unrolled 90 steps took
        20–40 s). x and y are kept as separate tensors: measured faster than (…, 2)
        vectors, whose reshapes cost more than the arithmetic they batch.
        """
        shape = (tf.shape(x_columns)[0], self.n_masses)
        dtype = self.compute_dtype
        state = tuple(tf.fill(shape, tf.constant(value, dtype)) for value in
                      (*self.start, *self.velocity))
        kept, previous = [tf.stack(state[:2], -1)], 0
        for step in self.kept_steps[1:]:
            state = tf.while_loop(
                lambda i, *_, n=step - previous: i < n,
                lambda i, *s: (i + 1, *self._step(*s, x_columns, y_columns)),
                (tf.constant(0), *state))[1:]
            kept.append(tf.stack(state[:2], -1))
            previous = step
        return tf.stack(kept, axis=2)

    def _axis_weights(self, pixels):
        """Four-warm weights along one axis: (…) pixel coordinates → (…, grid)."""
        grid = self.size // self.downsample
        return axis_weights(grid_coordinate(pixels, self.downsample, grid), grid)

    def call(self, view):
        view = tf.stop_gradient(tf.cast(view, self.compute_dtype))
        psi = view[..., 0]
        observed = view[..., 1]
        positions = self._simulate(*self._force_columns(psi))
        wx = self._axis_weights(positions[..., 0])  # (B, M, T, G)
        wy = self._axis_weights(positions[..., 1])
        cross = tf.einsum("bmtr,brc,bmtc->bmt", wy, observed, wx)  # (B, M, T)
        own = tf.reduce_sum(tf.einsum("bmtr,bmsr->bmts", wy, wy)
                            * tf.einsum("bmtc,bmsc->bmts", wx, wx), axis=(2, 3))
        mismatch = (own - 2.0 * tf.reduce_sum(cross, axis=2)
                    + tf.reduce_sum(tf.square(observed), axis=(1, 2))[:, None])
        excess = mismatch - tf.reduce_min(mismatch, axis=1, keepdims=True)
        estimates = [tf.reduce_sum(tf.nn.softmax(-beta * excess, axis=1) * self._log_mass,
                                   axis=1, keepdims=True) for beta in SHARPNESS]
        early = tf.reshape(cross[:, :, 1:1 + self.early], (-1, self.n_masses * self.early))
        return tf.concat([excess] + estimates + [early], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_masses * (1 + self.early) + len(SHARPNESS))

    def get_config(self):
        return {**super().get_config(), "size": self.size, "downsample": self.downsample,
                "start": list(self.start), "velocity": list(self.velocity),
                "kept_steps": list(self.kept_steps), "mass_low": self.mass_low,
                "mass_high": self.mass_high, "n_masses": self.n_masses}
