"""The report's explanatory figures (1, 3, 4) regenerated from our code."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..config import PhysicsConfig
from ..physics.encoding import encode_positions, to_grid
from ..physics.field import potential
from ..physics.integrator import simulate
from .common import field_panel, save


def four_warm(path: Path | None, physics: PhysicsConfig,
              position=(83.0, 101.0)) -> Path | Figure:
    """Figure 1: the four-warm field of one position, zoomed on its four cells."""
    encoding = encode_positions(np.array([position]), physics.downsample, physics.grid)[0]
    g = tuple(to_grid(p, physics.downsample, physics.grid) for p in position)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(encoding, cmap="viridis")
    for (row, col), weight in np.ndenumerate(encoding):
        if weight > 0:
            ax.text(col, row, f"{weight:.2f}", ha="center", va="center", color="white")
    ax.plot(*g, "x", color="red", ms=12, mew=3)
    ax.set(xlim=(int(g[0]) - 1.5, int(g[0]) + 2.5), ylim=(int(g[1]) + 2.5, int(g[1]) - 1.5),
           title=f"four-warm encoding of pixel ({position[0]:g}, {position[1]:g})",
           xlabel="grid column (x)", ylabel="grid row (y)")
    return save(fig, path)


def loss_functions(path: Path | None, delta: float = 0.3) -> Path | Figure:
    """Figure 3: MSE, Huber (δ) and MAPE over (prediction, target)."""
    from keras import ops

    from ..learn.losses import pointwise_loss  # TensorFlow only for this figure

    masses = np.linspace(0.1, 1.0, 120)
    target, prediction = np.meshgrid(masses, masses)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, name in zip(axes, ("mse", "huber", "mape"), strict=True):
        loss = ops.convert_to_numpy(pointwise_loss(
            name, ops.convert_to_tensor(target.ravel()),
            ops.convert_to_tensor(prediction.ravel()[:, None]), delta)).reshape(target.shape)
        image = ax.imshow(loss, origin="lower", extent=(0.1, 1, 0.1, 1), cmap="viridis")
        fig.colorbar(image, ax=ax)
        ax.set(title=name.upper() if name != "huber" else f"Huber (δ = {delta})",
               xlabel="target mass", ylabel="predicted mass")
    return save(fig, path)


def fields_with_trajectories(path: Path | None, physics: PhysicsConfig, seed: int = 4,
                             mass: float = 0.9, steps: int = 150) -> Path | Figure:
    """Figure 4: three random fields, force arrows, a particle of mass 0.9 for 150 steps."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.5))
    for ax in axes:
        offset = rng.uniform(0, physics.offset_high, 2)
        phi = potential(tuple(offset), physics)
        trajectory, _ = simulate(phi, mass, np.array(physics.start_position),
                                 np.array(physics.start_velocity), steps)
        kept = trajectory[::physics.stride]
        field_panel(ax, phi, trajectory[np.isfinite(trajectory[:, 0])], kept, mass)
        ax.set_title(f"offset ({offset[0]:.1f}, {offset[1]:.1f}), mass {mass}, "
                     f"{steps} steps", fontsize=9)
    return save(fig, path)
