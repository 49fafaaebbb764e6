"""Model predictions over a split or a directory of shards, as plain NumPy arrays."""

from __future__ import annotations

import keras
import numpy as np

from .data import Normaliser, files_dataset
from .losses import mean_and_sigma


def predict_outputs(model: keras.Model, dataset) -> dict[str, np.ndarray]:
    """Run ``model`` over (view, mass) batches: true mass, mean and σ per time step."""
    truths, outputs = [], []
    for view, mass in dataset:
        outputs.append(np.asarray(model(view, training=False)))
        truths.append(mass.numpy())
    raw = np.concatenate(outputs)  # (n, steps, k)
    mean, sigma = mean_and_sigma(keras.ops.convert_to_tensor(raw))
    per_step = np.asarray(mean)
    result = {"mass": np.concatenate(truths).astype(np.float64), "per_step": per_step,
              "mean": per_step[:, -1]}
    if sigma is not None:
        result["sigma"] = np.asarray(sigma)[:, -1]
    return result


def predict_files(model: keras.Model, files: list[str], view: str, normaliser: Normaliser,
                  batch_size: int = 256) -> dict[str, np.ndarray]:
    """Predictions for every sample of ``files``, in file order."""
    return predict_outputs(model, files_dataset(files, view, batch_size, normaliser))
