"""Layers our presets share: read a four-warm encoding the way it was written.

A four-warm field holds bilinear weights, so Σ weight·(col, row) is the position and
Σ weight·feature is a feature map bilinearly sampled at the particle — no learning is
needed to undo the encoding, only to read the field.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="massfield")
class EncodingPosition(keras.layers.Layer):
    """(…, G, G) four-warm weights → (…, 2) position (x, y) in grid cells / (G − 1)."""

    def call(self, encoding):
        grid = ops.shape(encoding)[-1]
        cells = ops.cast(ops.arange(grid), encoding.dtype) / ops.cast(grid - 1, encoding.dtype)
        x = ops.sum(ops.sum(encoding, axis=-2) * cells, axis=-1)
        y = ops.sum(ops.sum(encoding, axis=-1) * cells, axis=-1)
        return ops.stack([x, y], axis=-1)


@keras.saving.register_keras_serializable(package="massfield")
class SampleAtEncoding(keras.layers.Layer):
    """Feature map (B, G, G, C) sampled at each encoded position (B, T, G, G) → (B, T, C)."""

    def call(self, inputs):
        features, encoding = inputs
        return ops.einsum("bhwc,bthw->btc", features, encoding)


@keras.saving.register_keras_serializable(package="massfield")
class Displacements(keras.layers.Layer):
    """(B, T, 2) positions → (B, T, 2) step-to-step displacements (zero at t = 0)."""

    def call(self, positions):
        previous = ops.concatenate([positions[:, :1], positions[:, :-1]], axis=1)
        return positions - previous


@keras.saving.register_keras_serializable(package="massfield")
class Channel(keras.layers.Layer):
    """One channel of the input view, optionally of the first time step only."""

    def __init__(self, channel: int, first_step: bool = False, keep_dims: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.channel, self.first_step, self.keep_dims = channel, first_step, keep_dims

    def call(self, view):
        if self.first_step:
            view = view[:, 0]
        out = view[..., self.channel]
        return ops.expand_dims(out, -1) if self.keep_dims else out

    def get_config(self):
        return {**super().get_config(), "channel": self.channel,
                "first_step": self.first_step, "keep_dims": self.keep_dims}


@keras.saving.register_keras_serializable(package="massfield")
class FieldGradient(keras.layers.Layer):
    """(B, G, G, 1) ψ → (B, G, G, 3) [ψ, ∂ψ/∂x, ∂ψ/∂y] by central differences (one-sided at edges).

    A fixed operator, not a learned filter: −∇ψ is the coarse force, which no model
    should have to rediscover.
    """

    def call(self, psi):
        def derivative(values, axis):
            first = ops.take(values, [1], axis=axis) - ops.take(values, [0], axis=axis)
            n = ops.shape(values)[axis]
            inner = (ops.take(values, ops.arange(2, n), axis=axis)
                     - ops.take(values, ops.arange(0, n - 2), axis=axis)) / 2.0
            last = (ops.take(values, [n - 1], axis=axis) - ops.take(values, [n - 2], axis=axis))
            return ops.concatenate([first, inner, last], axis=axis)

        return ops.concatenate([psi, derivative(psi, 2), derivative(psi, 1)], axis=-1)


@keras.saving.register_keras_serializable(package="massfield")
class LogMagnitude(keras.layers.Layer):
    """(…, 2) vectors → (…, 1) log of their length.

    Newton in log form, log m = log|F| − log|a|, is a sum: a dense layer can learn it,
    where a ratio of raw features would take a deep network to approximate.
    """

    def __init__(self, floor: float = 1e-4, **kwargs):
        super().__init__(**kwargs)
        self.floor = floor

    def call(self, vectors):
        return ops.log(ops.sqrt(ops.sum(ops.square(vectors), axis=-1, keepdims=True))
                       + self.floor)

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}
