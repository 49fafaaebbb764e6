"""``massfield predict``: mass, calibrated σ and 90 % interval for every sample, streamed
(and the same for each other hidden parameter of the store's task).

Rows come shard by shard, so a million-sample store prints or writes in constant memory.
The model is refused if the shards were made with other physics than it was trained on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError
from ..store.atomic import atomic_path
from ..store.reader import shard_files, store_at
from .compatibility import evaluation_params
from .observation_check import observation_warning
from .run import load_models, samples_in

COLUMNS = ("sample", "mass", "sigma", "lower_90", "upper_90")


def predict_rows(name: str, location: Path, models_dir: Path, allow_shift: bool = False,
                 warn=None) -> Iterator[dict]:
    """One row per sample of the shards at ``location``, in file order. ``warn`` (a
    callable) gets one line if the observations do not fit like the model's training data
    (:mod:`.observation_check`)."""
    from ..learn.calibration import parameter_predictions, predictive
    from ..learn.physics_fit import PhysicsFit
    from ..learn.predict import file_batches, other_targets

    if set("*?[,") & set(name):
        raise DataError(f"{name!r}: predict scores one model; give its name (as in "
                        f"metrics.json), not a pattern")
    store = store_at(location)
    files = store.files() if store else shard_files(location)
    given = evaluation_params(files, store)
    _, model, history = load_models(models_dir, [(given, location)], allow_shift, only=name,
                                    samples=samples_in(files))[name]
    if warn is not None:
        line = observation_warning(files, history.store.checked_params.physics, name, location)
        if line:
            warn(line)
    sample = 0
    fit, noise_fit = PhysicsFit.from_history(history), PhysicsFit.noise_of(history)
    targets = other_targets(history.store.checked_params.physics)
    names = ("mass", *(name for name, _ in targets))
    for path in map(str, files):  # a shard at a time: its noise estimates beside its batches
        noise = noise_fit.noise_estimates([path]) if noise_fit is not None else None
        for raw in file_batches(model, [path], history.view, fit, targets=targets):
            if noise is not None:
                raw["noise"], noise = noise[:len(raw["mean"])], noise[len(raw["mean"]):]
            outs = {name: predictive(parameter_predictions(raw, name),
                                     history.calibration_of(name)) for name in names}
            for i in range(len(raw["mean"])):
                row = {"sample": sample}
                for name, out in outs.items():
                    prefix = "" if name == "mass" else f"{name}_"
                    row.update({name: float(out["mean"][i]),
                                f"{prefix}sigma": float(out["sigma"][i]),
                                f"{prefix}lower_90": float(out["lower_90"][i]),
                                f"{prefix}upper_90": float(out["upper_90"][i])})
                yield row
                sample += 1


def write_rows(path: Path, rows: Iterator[dict]) -> int:
    """Stream rows into a CSV that appears under its name only once complete."""
    count = 0
    with atomic_path(Path(path)) as partial, open(partial, "w", newline="") as handle:
        writer = None
        for row in rows:
            if writer is None:  # a task's other parameters follow the mass's columns
                writer = csv.DictWriter(handle, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            count += 1
        if writer is None:
            csv.writer(handle).writerow(COLUMNS)
    return count
