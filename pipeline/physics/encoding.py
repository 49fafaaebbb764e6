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
    encoding = np.zeros((1, positions.shape[0], n_cells, n_cells), np.float32)
    steps = np.ascontiguousarray(positions).reshape(1, positions.shape[0], positions.shape[1])
    encode_batch_into(encoding, steps, downsample)
    return encoding[0]


@njit(cache=True)
def encode_batch_into(out, positions, downsample):
    """Four-warm fields of positions (B, T, 2) into a zeroed ``out`` (B, T, G, G) float32,
    writing only the four cells of each step: the one encoder that the generator and every
    reader run (weights made in float64, then rounded; the TensorFlow twin in
    ``pipeline/learn/fourwarm.py`` matches it bit for bit)."""
    n_cells = out.shape[-1]
    cells = np.zeros((n_cells, n_cells))
    for b in range(positions.shape[0]):
        for t in range(positions.shape[1]):
            x, y = positions[b, t, 0], positions[b, t, 1]
            four_warm_into(cells, x, y, downsample)
            col = min(int(np.floor(to_grid(x, downsample, n_cells))), n_cells - 2)
            row = min(int(np.floor(to_grid(y, downsample, n_cells))), n_cells - 2)
            for r in range(row, row + 2):
                for c in range(col, col + 2):
                    out[b, t, r, c] = cells[r, c]
                    cells[r, c] = 0.0


def summed_encoding(encoding: np.ndarray) -> np.ndarray:
    """The DNN/CNN input (figure 5, top right): the per-step fields summed over time."""
    return encoding.sum(axis=-3)
