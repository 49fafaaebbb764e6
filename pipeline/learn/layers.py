"""Layers our presets share: read a four-warm encoding the way it was written.

A four-warm field holds bilinear weights, so Σ weight·(col, row) is the position and
Σ weight·feature is a feature map bilinearly sampled at the particle — no learning is
needed to undo the encoding, only to read the field.
"""

from __future__ import annotations

import keras
from keras import ops

from .fourwarm import axis_weights


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
class SampleEachStep(keras.layers.Layer):
    """Feature maps of every step (B, T, G, G, C) sampled at that step's encoded position
    (B, T, G, G) → (B, T, C): a field that changes in time, read where the particle is."""

    def call(self, inputs):
        features, encoding = inputs
        return ops.einsum("bthwc,bthw->btc", features, encoding)


@keras.saving.register_keras_serializable(package="massfield")
class FieldChange(keras.layers.Layer):
    """How far a field of every step has moved from its first step, over the whole grid:
    log of the mean squared change, (B, T, 1) from a view (B, T, G, G, C) — or, for a
    feed-forward view (B, G, G, C), of channel ``channel`` from ψ (channel 0), (B, 1).
    A field that turns at ω changes by 2(1 − cos ωt) of its variance: ω shows in the
    fields themselves, not at the particle alone."""

    def __init__(self, channel: int, **kwargs):
        super().__init__(**kwargs)
        self.channel = channel

    def call(self, view):
        field = view[..., self.channel]
        reference = field[:, :1] if len(view.shape) == 5 else view[..., 0]
        change = ops.mean(ops.square(field - reference), axis=(-2, -1))
        return ops.expand_dims(ops.log(change + 1e-6), -1)

    def get_config(self):
        return {**super().get_config(), "channel": self.channel}


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
class StandardisePotential(keras.layers.Layer):
    """ψ (channel 0 of a view) → (ψ − mean) / std, with the training store's statistics.

    Inside the model, so that it is saved with it: a saved model takes ψ as stored, and
    the layers that simulate read the physical ψ from the same input (one source).
    """

    def __init__(self, mean: float, std: float, fields: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std, self.fields = float(mean), float(std), bool(fields)

    def call(self, view):
        """ψ, and with ``fields`` a task's fields (channels 2 on) alike; channel 1, the
        encoding, stays as it is."""
        parts = [(view[..., :1] - self.mean) / self.std, view[..., 1:2 if self.fields else None]]
        if self.fields:
            parts.append((view[..., 2:] - self.mean) / self.std)
        return ops.concatenate(parts, axis=-1)

    def get_config(self):
        config = {**super().get_config(), "mean": self.mean, "std": self.std}
        return {**config, "fields": True} if self.fields else config


@keras.saving.register_keras_serializable(package="massfield")
class FieldGradient(keras.layers.Layer):
    """(…, G, G, 1) ψ → (…, G, G, 3) [ψ, ∂ψ/∂x, ∂ψ/∂y] by central differences (one-sided at edges).

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

        # axes from the end: a field of every step (B, T, G, G, 1) works alike
        return ops.concatenate([psi, derivative(psi, -2), derivative(psi, -3)], axis=-1)


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


def _keys_cubic(distance, a=-0.5):
    """Keys' cubic convolution kernel W(d) and its derivative W'(d)."""
    d = ops.abs(distance)
    sign = ops.sign(distance)
    near = ops.less_equal(d, 1.0)
    value = ops.where(near, (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1,
                      ops.where(ops.less(d, 2.0), a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a,
                                0.0))
    slope = ops.where(near, 3 * (a + 2) * d ** 2 - 2 * (a + 3) * d,
                      ops.where(ops.less(d, 2.0), 3 * a * d ** 2 - 10 * a * d + 8 * a, 0.0))
    return value, sign * slope


@keras.saving.register_keras_serializable(package="massfield")
class CubicFieldAt(keras.layers.Layer):
    """ψ (B, G, G, 1) and positions (B, T, 2) in [0, 1] → (B, T, 3): [ψ, ∂ψ/∂x, ∂ψ/∂y]
    at each position, by cubic convolution (Keys, a = −0.5) over the 4 × 4 nearest cells.

    Bilinear sampling of finite differences blurs the force over two cells; the cubic
    interpolant tracks the smooth field between cell centres (derivatives per cell).
    """

    def call(self, inputs):
        psi, positions = inputs
        psi = psi[..., 0]
        grid = ops.shape(psi)[-1]
        cells = ops.cast(ops.arange(grid), psi.dtype)
        coordinates = positions * ops.cast(grid - 1, psi.dtype)  # (B, T, 2) in cells

        def axis_weights(coordinate):
            # (B, T, G): kernel weights of every cell along one axis (far cells get 0)
            value, slope = _keys_cubic(coordinate[..., None] - cells)
            return value, slope

        wx, dwx = axis_weights(coordinates[..., 0])
        wy, dwy = axis_weights(coordinates[..., 1])
        value = ops.einsum("btr,brc,btc->bt", wy, psi, wx)
        d_dx = ops.einsum("btr,brc,btc->bt", wy, psi, dwx)
        d_dy = ops.einsum("btr,brc,btc->bt", dwy, psi, wx)
        return ops.stack([value, d_dx, d_dy], axis=-1)


@keras.saving.register_keras_serializable(package="massfield")
class TraceMoments(keras.layers.Layer):
    """Summed encodings (B, G, G) → (B, 3·len(radii)): the path near its start.

    The start's own four-warm bump is known (the start is a parameter) and removed;
    within discs of growing radius around the start, the remaining weight and its first
    moment Σ w·(r − r₀) — exactly Σ (pₜ − p₀) over the positions inside, by the centroid
    property — tell how far the particle got in its first steps: under the initial
    force, displacement grows as F₀ t² / 2m. Lengths in grid cells.
    """

    def __init__(self, start: tuple[float, float], radii=(1.0, 2.0, 3.0, 5.0, 8.0, 13.0),
                 **kwargs):
        super().__init__(**kwargs)
        self.start, self.radii = tuple(start), tuple(radii)

    def call(self, trace):
        grid = ops.shape(trace)[-1]
        cells = ops.cast(ops.arange(grid), trace.dtype)
        dx = cells[None, :] - self.start[0]  # (1, G): column offsets
        dy = cells[:, None] - self.start[1]  # (G, 1): row offsets
        start = ops.convert_to_tensor(self.start, trace.dtype)
        start_bump = (axis_weights(start[1], grid)[:, None]
                      * axis_weights(start[0], grid)[None, :])
        rest = trace - start_bump
        distance = ops.sqrt(dx ** 2 + dy ** 2)
        features = []
        for radius in self.radii:
            inside = rest * ops.cast(distance <= radius, trace.dtype)
            features += [ops.sum(inside, axis=(1, 2)), ops.sum(inside * dx, axis=(1, 2)),
                         ops.sum(inside * dy, axis=(1, 2))]
        return ops.stack(features, axis=-1)

    def get_config(self):
        return {**super().get_config(), "start": list(self.start), "radii": list(self.radii)}


@keras.saving.register_keras_serializable(package="massfield")
class FixedPosition(keras.layers.Layer):
    """A known position (the start, from params) as a (B, 1, 2) batch in [0, 1] units."""

    def __init__(self, position: tuple[float, float], **kwargs):
        super().__init__(**kwargs)
        self.position = tuple(position)

    def call(self, like):
        point = ops.reshape(ops.convert_to_tensor(self.position, like.dtype), (1, 1, 2))
        return ops.zeros_like(like[:, :1, :1, 0])[..., :1] * 0 + point

    def get_config(self):
        return {**super().get_config(), "position": list(self.position)}
