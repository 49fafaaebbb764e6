"""Four-warm encoding (report §2.1, figure 1): a position as bilinear weights on the coarse grid.

Grid coordinates follow the block-mean down-sampling: coarse cell i covers fine
pixels k·i … k·i + k − 1, whose centre is pixel k·i + (k − 1)/2 (3.5 for k = 8), so
g = (p − (k − 1)/2) / k. (The report's code stretched by 255/31 instead, which put
positions up to half a cell away from the ψ they were paired with.)

Each of the four nearest cell centres gets (1 − |g_x − i|)(1 − |g_y − j|): the weights
sum to 1 and their weighted centroid is g. Border: a position less than half a cell
from the edge, outside the outermost centres, is clamped onto them (g ∈ [0, n − 1]):
weights still sum to 1, the centroid is the clamped position. Arrays are
matrix-indexed like ψ: ``encoding[row = y, col = x]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def cell_coordinate(pixel, downsample):
    """Fine-pixel coordinate → coarse-grid coordinate, g = (p − (k − 1)/2) / k, unclamped.

    The one copy of the formula: plain arithmetic, so the same function serves floats,
    NumPy arrays, TensorFlow tensors and (jitted below) Numba code alike.
    """
    return (pixel - 0.5 * (downsample - 1)) / downsample


_cell_coordinate = njit(cache=True, inline="always")(cell_coordinate)


@njit(cache=True)
def to_grid(pixel, downsample, n_cells):
    """Fine-pixel coordinate → coarse-grid coordinate, clamped to the outermost centres."""
    return min(max(_cell_coordinate(pixel, downsample), 0.0), n_cells - 1.0)


@njit(cache=True)
def four_warm_into(out, x, y, downsample):
    """Add the four-warm weights of pixel position (x, y) to ``out`` (n_cells, n_cells)."""
    n_cells = out.shape[0]
    gx = to_grid(x, downsample, n_cells)
    gy = to_grid(y, downsample, n_cells)
    col = min(int(np.floor(gx)), n_cells - 2)
    row = min(int(np.floor(gy)), n_cells - 2)
    fx = gx - col
    fy = gy - row
    out[row, col] += (1.0 - fx) * (1.0 - fy)
    out[row, col + 1] += fx * (1.0 - fy)
    out[row + 1, col] += (1.0 - fx) * fy
    out[row + 1, col + 1] += fx * fy


@njit(cache=True)
def encode_positions(positions, downsample, n_cells):
    """One four-warm field per position: (n_steps, 2) → (n_steps, n_cells, n_cells) float32."""
    encoding = np.zeros((positions.shape[0], n_cells, n_cells), np.float64)
    for t in range(positions.shape[0]):
        four_warm_into(encoding[t], positions[t, 0], positions[t, 1], downsample)
    return encoding.astype(np.float32)


def summed_encoding(encoding: np.ndarray) -> np.ndarray:
    """The DNN/CNN input (figure 5, top right): the per-step fields summed over time."""
    return encoding.sum(axis=-3)
