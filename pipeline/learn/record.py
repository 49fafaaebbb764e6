"""A model's training record (``MODEL.history.json``) as one typed value, checked once.

``train`` writes it beside the model; ``evaluate``, ``predict``, ``repeat`` and ``plot``
read it through :meth:`TrainingRecord.read`, which refuses in one line a record that is
missing, damaged, of another format or with a field missing or of the wrong type, so that
no caller looks a key up by its string and meets a ``KeyError`` later.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cached_property
from pathlib import Path

from ..config import ModelTrainConfig, Params, params_from_dict
from ..errors import ConfigError, DataError
from ..records import RecordError, from_mapping, optional, to_mapping
from ..store.atomic import write_json

# 2: the model standardises ψ itself (records of format 1, whose models took ψ
# standardised by the loader, are refused: they would score wrongly).
# 3: calibration bins are of the true mass, not the predicted (format 2 records would be
# read with the wrong bins: refused).
HISTORY_FORMAT = 3
CALIBRATION_KEYS = ("method", "space", "edges", "lower", "upper", "mass_range")


@dataclasses.dataclass(frozen=True)
class TrainedOn:
    """What a model keeps of the store it was trained on."""

    params: dict  # the store's generation params, as its manifest records them
    train_mass_mean: float
    n_train_samples: int
    path: str

    @cached_property
    def checked_params(self) -> Params:
        """The params, validated (once): the physics the model was trained for."""
        return params_from_dict(self.params, "the model's training store")


@dataclasses.dataclass(frozen=True)
class TrainingRecord:
    """How a model was trained, on what, and how its intervals are calibrated."""

    format: int
    model: str
    config: ModelTrainConfig
    view: str
    simulator: bool
    physics_fit: dict | None  # the snapshot variances of its physics-fit inputs
    store: TrainedOn
    train_samples: int
    parameters: int
    train_seconds: float
    step_loss: list
    epochs: list
    calibration: dict  # of the mass
    parameter_calibration: dict | None = optional()  # a task's other parameters: name → one
    noise_fit: dict | None = optional()  # calibrated per noise tercile: the misfit's variances

    def calibration_of(self, name: str) -> dict:
        """The calibration of hidden parameter ``name`` (the mass's, or another's)."""
        return self.calibration if name == "mass" else self.parameter_calibration[name]

    def write(self, path: Path) -> None:
        write_json(path, to_mapping(self))

    @classmethod
    def read(cls, path: Path) -> TrainingRecord:
        """The record at ``path``; DataError naming the file and the fix if it is not one
        this massfield can use."""
        try:
            raw = json.loads(Path(path).read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: missing; run `massfield train` first") from None
        except (OSError, ValueError):
            raise DataError(f"{path}: damaged (not JSON); retrain the model with "
                            f"`massfield train`") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("model"), str):
            raise DataError(f"{path}: not a training record of this massfield (no model); "
                            f"retrain the model with `massfield train`")
        retrain = f"retrain the model with `massfield train {raw['model']}`"
        made = raw.get("format", 1)  # records before format 2 had no key
        if made != HISTORY_FORMAT:
            raise DataError(f"{path}: made by another massfield (training record format "
                            f"{made!r}, this one reads {HISTORY_FORMAT}); {retrain}")
        try:
            record = from_mapping(cls, raw)
            missing = [key for key in CALIBRATION_KEYS if key not in record.calibration]
            missing += [f"{name}.edges" for name, one in (record.parameter_calibration or {}
                                                         ).items() if "edges" not in one]
            if missing:
                raise RecordError(f"no calibration.{missing[0]}")
            record.config.validate("config")
        except (RecordError, ConfigError) as exc:
            raise DataError(f"{path}: not a training record of this massfield ({exc}); "
                            f"{retrain}") from None
        return record
