"""Repeated training runs of one model and preset: the R² distribution (report figure 8).

Each run trains with seed ``train.<model>.seed + i`` into a temporary folder and is
scored on the test split; only the scores are kept, in ``data/repeats/MODEL-PRESET.json``.
R² is of the network's raw output, as the report scored its Table 1 (``evaluate`` scores
predictions clipped to the mass range).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np

from ..config import Params
from ..errors import DataError
from ..store.atomic import write_json
from ..store.store import Store
from .scores import r2_score


def repeat_training(name: str, params: Params, store: Store | Path, out_dir: Path, repeats: int,
                    log=print) -> dict:
    """Train ``name`` ``repeats`` times with consecutive seeds; record each run's test R².

    ``params.physics`` must be the store's (``learn.train.with_store_params``).
    """
    from .physics_fit import PhysicsFit
    from .predict import predict_files
    from .train import open_store, train_model

    store = open_store(store)
    cfg = params.train.model(name)
    test_files = [str(f) for f in store.files("test")]
    scores, seconds = [], []
    for run in range(repeats):
        seeded = dataclasses.replace(params.train, **{
            name: dataclasses.replace(cfg, seed=cfg.seed + run)})
        with tempfile.TemporaryDirectory() as scratch:
            model, history = train_model(name, dataclasses.replace(params, train=seeded),
                                         store, Path(scratch), log=lambda line: None)
        predictions = predict_files(model, test_files, history.view,
                                    PhysicsFit.from_history(history))
        scores.append(r2_score(predictions["mass"], predictions["mean"]))
        seconds.append(history.train_seconds)
        log(f"{name} run {run + 1}/{repeats} (seed {cfg.seed + run}): R² {scores[-1]:.4f}")
    path = write_repeats(out_dir, name, cfg.preset, scores,
                         {"config": params.to_dict()["train"][name], "train_seconds": seconds})
    return {"model": name, "preset": cfg.preset, "r2": scores,
            "median_r2": float(np.median(scores)), "path": str(path)}


def write_repeats(directory: Path, model: str, preset: str, r2: list[float], extra: dict) -> Path:
    path = Path(directory) / f"{model}-{preset}.json"
    write_json(path, {"model": model, "preset": preset, "r2": r2,
                      "median_r2": float(np.median(r2)), **extra})
    return path


def read_repeats(directory: Path) -> dict[str, list[float]]:
    """R² of repeated runs, keyed "model:preset", from ``massfield repeat`` files."""
    found = {}
    for path in sorted(Path(directory).glob("*.json")):
        try:
            record = json.loads(path.read_text())
            found[f"{record['model']}:{record['preset']}"] = [float(r) for r in record["r2"]]
        except (OSError, ValueError, KeyError, TypeError):
            raise DataError(f"{path}: not a record of `massfield repeat`; remove it or re-run "
                            f"the repeats") from None
    return found
