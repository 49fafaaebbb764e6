"""Figures 4 and 5 of the report: a field with force arrows and trajectory; the encodings."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..config import PhysicsConfig
from ..physics.encoding import summed_encoding
from ..physics.field import potential
from .common import field_panel, save


def plot_sample(sample: dict, physics: PhysicsConfig,
                path: Path | None) -> Path | Figure:
    """Figure 4 (left: fine field, arrows, trajectory) and figure 5 (ψ and encodings)."""
    phi = sample.get("potential_full")
    if phi is None:
        phi = potential(tuple(sample["noise_offset"]), physics)
    encoding = np.asarray(sample["encoding"], dtype=np.float64)
    steps = encoding.shape[0]
    fig = plt.figure(figsize=(15, 7.5))
    grid = fig.add_gridspec(3, 2 + (steps + 1) // 2, width_ratios=[3, 3] + [1] * ((steps + 1) // 2))
    field_panel(fig.add_subplot(grid[:, 0]), phi, sample["trajectory"], sample["positions"],
                float(sample["mass"]))
    ax = fig.add_subplot(grid[:2, 1])
    ax.imshow(sample["potential"], cmap="viridis")
    side = sample["potential"].shape[-1]
    ax.set(title=f"ψ ({side}×{side}) — model input channel 1")
    ax = fig.add_subplot(grid[2, 1])
    ax.imshow(summed_encoding(encoding), cmap="magma")
    ax.set(title="Σₜ four-warm encodings (DNN/CNN)")
    columns = (steps + 1) // 2
    rows, cols = np.nonzero(encoding.sum(axis=0))
    window = (max(cols.min() - 3, 0) - 0.5, min(cols.max() + 3, physics.grid - 1) + 0.5,
              min(rows.max() + 3, physics.grid - 1) + 0.5, max(rows.min() - 3, 0) - 0.5)
    for t in range(steps):
        ax = fig.add_subplot(grid[t // columns, 2 + t % columns])
        ax.imshow(encoding[t], cmap="magma", vmin=0, vmax=1)
        ax.set(xlim=window[:2], ylim=window[2:])
        ax.set_title(f"t = {physics.kept_steps[t]} (zoomed)", fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle("One sample (report figures 4 and 5): RNN/CRNN see ψ with each encoding")
    return save(fig, path, dpi=110)
