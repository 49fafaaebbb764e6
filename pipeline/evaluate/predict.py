"""``massfield predict``: mass ± calibrated σ for every sample of a directory of shards."""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import DataError
from ..learn.calibration import Z90, calibrated_sigma
from ..learn.data import Normaliser
from ..learn.predict import predict_files
from ..learn.train import load_model, read_history
from ..store.atomic import atomic_path
from ..store.reader import store_files
from .run import trained_models


def predict_directory(name: str, data_dir: Path, models_dir: Path) -> list[dict]:
    path = trained_models(models_dir).get(name)
    if path is None:
        raise DataError(f"{models_dir}: no {name}.keras; run `massfield train {name}` first")
    history = read_history(path.with_name(f"{name}.history.json"))
    files = [str(f) for f in store_files(data_dir, None)]
    predictions = predict_files(load_model(path), files, history["view"],
                                Normaliser(**history["normaliser"]))
    sigma = calibrated_sigma(predictions, history["calibration"])
    return [{"sample": i, "mass": float(m), "sigma": float(s),
             "lower_90": float(m - Z90 * s), "upper_90": float(m + Z90 * s)}
            for i, (m, s) in enumerate(zip(predictions["mean"], sigma))]


def write_table(path: Path, table: list[dict]) -> None:
    with atomic_path(Path(path)) as partial, open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
