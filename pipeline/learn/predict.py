"""Model predictions over a split or a list of shards, as plain NumPy arrays."""

from __future__ import annotations

from collections.abc import Iterator

import keras
import numpy as np

from ..tasks import task_of
from .data import files_dataset
from .losses import parameter_outputs
from .physics_fit import PhysicsFit


def other_targets(physics) -> tuple[tuple[str, float], ...]:
    """(name, scale) of each hidden parameter of the task after the mass."""
    task = task_of(physics)
    return tuple(zip(task.parameter_names[1:], task.scales(physics)[1:], strict=True))


def batch_outputs(model: keras.Model, dataset, targets: tuple[tuple[str, float], ...] = (),
                  loss: keras.losses.Loss | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Per batch of (view, target): true mass, mean per time step, last mean (and σ); for
    each other parameter of ``targets`` (:func:`other_targets`), the same under keys
    NAME, NAME_per_step, NAME_mean, NAME_sigma; with ``loss`` (the model's), each sample's
    loss under "loss".

    ``predict_on_batch`` runs Keras's compiled predict function, traced once per batch
    shape: calling the model eagerly ran the mass scan's loop op by op, ~2 s a batch of 256
    on 2 cores, and made scoring a hybrid cost more than training it. A short last batch is
    padded to the first batch's size (samples are predicted independently), because a
    second trace of a hybrid cost as much as five batches."""
    size = None
    scales = (1.0, *(scale for _, scale in targets))
    for view, truth in dataset:
        size = size or len(truth)
        raw = model.predict_on_batch(_padded(view, size))
        out = {} if loss is None else {"loss": np.asarray(loss.call(truth, raw[:len(truth)]))}
        truth = truth.numpy().astype(np.float64).reshape(len(truth), -1)
        for k, ((mean, sigma), name) in enumerate(zip(
                parameter_outputs(raw, scales), ("", *(f"{n}_" for n, _ in targets)),
                strict=True)):
            mean, sigma = (None if part is None else np.asarray(part, np.float64)[:len(truth)]
                           for part in (mean, sigma))
            out.update({name[:-1] or "mass": truth[:, k], f"{name}per_step": mean,
                        f"{name}mean": mean[:, -1]})
            if sigma is not None:
                out[f"{name}sigma"] = sigma[:, -1]
        yield out


def _padded(view, size: int):
    """``view`` (an array or a tuple of arrays, batch first) with its last row repeated up
    to ``size`` rows."""
    if isinstance(view, (tuple, list)):
        return tuple(_padded(part, size) for part in view)
    short = size - len(view)
    if short <= 0:
        return view
    view = np.asarray(view)
    return np.concatenate([view, np.repeat(view[-1:], short, axis=0)])


def predict_outputs(model: keras.Model, dataset, targets=(), loss=None) -> dict[str, np.ndarray]:
    """Every batch of :func:`batch_outputs`, concatenated."""
    batches = list(batch_outputs(model, dataset, targets, loss))
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


def file_batches(model: keras.Model, files: list[str], view: str, fit: PhysicsFit | None = None,
                 batch_size: int = 256, targets=()) -> Iterator[dict[str, np.ndarray]]:
    """Predictions for the samples of ``files`` in file order, a batch at a time (with
    ``fit``, a shard at a time: its features are computed a shard ahead, not a store)."""
    if fit is None:
        yield from batch_outputs(model, files_dataset(files, view, batch_size), targets)
        return
    for path in files:
        yield from batch_outputs(model, files_dataset([path], view, batch_size, fit=fit),
                                 targets)


def predict_files(model: keras.Model, files: list[str], view: str, fit: PhysicsFit | None = None,
                  batch_size: int = 256, features: dict[str, np.ndarray] | None = None,
                  targets=()) -> dict[str, np.ndarray]:
    """Predictions for every sample of ``files``, in file order (``features``: see
    :func:`~.data.files_dataset`)."""
    return predict_outputs(model, files_dataset(files, view, batch_size, fit=fit,
                                                features=features), targets)
