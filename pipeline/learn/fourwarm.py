"""The four-warm encoding in TensorFlow: the twin of :mod:`pipeline.physics.encoding`.

The loader builds the models' encodings from the stored positions (a 160-byte read per
sample instead of inflating 40 KB), and the mass scan encodes its simulated paths. Both
follow the encoder step by step — clamp, lower cell, fraction, (1 − f) and f — so that in
float64 the result is the stored encoding bit for bit (tests/test_learn.py checks it).
"""

from __future__ import annotations

import tensorflow as tf

from ..physics.encoding import cell_coordinate


def grid_coordinate(pixels, downsample: int, grid: int):
    """Fine-pixel coordinates → coarse-grid coordinates, clamped to the outermost centres."""
    return tf.clip_by_value(cell_coordinate(pixels, downsample), 0.0, grid - 1.0)


def axis_weights(coordinate, grid: int):
    """(…) grid coordinates → (…, grid): the weights of one axis, 1 − f and f on two cells."""
    lower = tf.minimum(tf.floor(coordinate), grid - 2.0)
    fraction = (coordinate - lower)[..., None]
    cells = tf.range(grid, dtype=coordinate.dtype)

    def on(cell):
        return tf.cast(tf.equal(cells, cell[..., None]), coordinate.dtype)

    return on(lower) * (1.0 - fraction) + on(lower + 1.0) * fraction


def four_warm(positions, downsample: int, grid: int):
    """(…, 2) pixel positions (x, y) → (…, grid, grid) float32 weights, [row = y, col = x]."""
    coordinates = grid_coordinate(positions, downsample, grid)
    wx = axis_weights(coordinates[..., 0], grid)
    wy = axis_weights(coordinates[..., 1], grid)
    return tf.cast(wy[..., :, None] * wx[..., None, :], tf.float32)
