"""Drawing helpers the figure modules share: saving a figure, a field with its path."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from ..physics.field import force_field


def headless() -> None:
    """Draw without a display (PNG files only): what the CLI's drawing commands want."""
    matplotlib.use("Agg")


def save(fig, path: Path | None, dpi: int = 100):
    """Lay out, write as PNG (creating the folder) and free the figure; with ``path`` None,
    lay out and return the figure itself (to look at, or to test what is drawn)."""
    if path is None:
        fig.tight_layout()
        return fig
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def field_panel(ax, phi: np.ndarray, trajectory: np.ndarray, positions: np.ndarray,
                mass: float, arrows_every: int = 12) -> None:
    """φ with force arrows (every ``arrows_every`` pixels), the path and its kept steps."""
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
