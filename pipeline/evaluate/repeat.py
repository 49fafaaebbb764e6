"""Repeated training runs of one model and preset: the R² distribution (report figure 8).

Each run trains with seed ``train.<model>.seed + i`` into a temporary folder and is
scored on the test split; only the scores are kept.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from ..config import Params
from ..figures.make import write_repeats
from ..learn.data import Normaliser
from ..learn.predict import predict_files
from ..learn.train import train_model
from ..store.reader import store_files
from .metrics import r2_score


def repeat_training(name: str, params: Params, data_dir: Path, out_dir: Path, repeats: int,
                    log=print) -> dict:
    cfg = params.train.model(name)
    test_files = [str(f) for f in store_files(data_dir, "test")]
    scores, seconds = [], []
    for run in range(repeats):
        seeded = dataclasses.replace(params.train, **{
            name: dataclasses.replace(cfg, seed=cfg.seed + run)})
        with tempfile.TemporaryDirectory() as scratch:
            model, history = train_model(name, dataclasses.replace(params, train=seeded),
                                         data_dir, Path(scratch), log=lambda line: None)
        predictions = predict_files(model, test_files, history["view"],
                                    Normaliser(**history["normaliser"]))
        scores.append(r2_score(predictions["mass"], predictions["mean"]))
        seconds.append(history["train_seconds"])
        log(f"{name} run {run + 1}/{repeats} (seed {cfg.seed + run}): R² {scores[-1]:.4f}")
    path = write_repeats(out_dir, name, cfg.preset, scores,
                         {"config": params.to_dict()["train"][name],
                          "train_seconds": seconds})
    return {"model": name, "preset": cfg.preset, "r2": scores,
            "median_r2": float(np.median(scores)), "path": str(path)}
