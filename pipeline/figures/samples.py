"""Figures 4 and 5 of the report: a field with force arrows and trajectory; the encodings."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ..config import PhysicsConfig
from ..physics.encoding import summed_encoding
from ..physics.field import force_field, potential


def _field_panel(ax, phi: np.ndarray, trajectory: np.ndarray, positions: np.ndarray,
                 mass: float, arrows_every: int = 12) -> None:
    size = phi.shape[0]
    ax.imshow(phi, origin="upper", cmap="viridis", extent=(0, size, size, 0))
    force = force_field(phi)
    inner = np.linalg.norm(force[size // 8:-size // 8, size // 8:-size // 8], axis=-1)
    scale = 2.5 * np.percentile(inner, 95) / arrows_every  # walls' arrows run off the panel
    count = size // arrows_every
    grid = (size - (count - 1) * arrows_every) // 2 + arrows_every * np.arange(count)
    xs, ys = np.meshgrid(grid, grid)
    ax.quiver(xs + 0.5, ys + 0.5, force[ys, xs, 0], force[ys, xs, 1], color="white",
              angles="xy", scale_units="xy", scale=scale, width=0.003)
    ax.plot(trajectory[:, 0], trajectory[:, 1], color="red", lw=2, label="trajectory", zorder=3)
    ax.plot(positions[:, 0], positions[:, 1], "o", color="orange", ms=3, zorder=4,
            label="kept time steps")
    ax.set(title=f"potential φ with force −∇φ, mass {mass:.3f}", xlabel="x (pixels)",
           ylabel="y (pixels)", xlim=(0, size), ylim=(size, 0))
    ax.legend(loc="lower right", fontsize=7)


def plot_sample(sample: dict, physics: PhysicsConfig, path: Path) -> Path:
    """Figure 4 (left: fine field, arrows, trajectory) and figure 5 (ψ and encodings)."""
    phi = sample.get("potential_full")
    if phi is None:
        phi = potential(tuple(sample["noise_offset"]), physics)
    encoding = np.asarray(sample["encoding"], dtype=np.float64)
    steps = encoding.shape[0]
    fig = plt.figure(figsize=(15, 7.5))
    grid = fig.add_gridspec(3, 2 + (steps + 1) // 2, width_ratios=[3, 3] + [1] * ((steps + 1) // 2))
    _field_panel(fig.add_subplot(grid[:, 0]), phi, sample["trajectory"], sample["positions"],
                 float(sample["mass"]))
    ax = fig.add_subplot(grid[:2, 1])
    ax.imshow(sample["potential"], cmap="viridis")
    ax.set(title=f"ψ ({physics.grid}×{physics.grid}) — model input channel 1")
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
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
