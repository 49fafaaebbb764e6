"""``metrics.json`` as typed records: what ``evaluate`` writes, and the table and figures read.

:meth:`Metrics.read` checks a file once (every field there, of its type) and refuses one
that is not in one line naming it; the table, the figures and ``dvc metrics`` scores then
read attributes, not string keys.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import DataError
from ..records import RecordError, from_mapping, optional, to_mapping
from ..store.atomic import write_json

BASELINES = ("predict_the_mean", "physics_inversion", "physics_inversion_fine_field")


@dataclasses.dataclass(frozen=True)
class ModelScores:
    """One trained model on the scored samples, and what it is."""

    r2: float
    pearson: float
    mae: float
    mean_relative_error: float
    median_relative_error: float
    coverage_90: float
    coverage_90_by_tercile: list  # of the light, middle and heavy third of true masses
    nll: float
    mean_sigma: float
    calibration: dict  # nominal level ("0.90") → observed coverage
    uncertainty: str
    model: str
    preset: str
    mass_scan: bool
    physics_fit: bool
    simulator: bool
    parameters: int
    train_seconds: float
    train_samples: int
    r2_per_step: list | None = optional()  # recurrent models: after each snapshot
    loss_every_step: bool | None = optional()  # True: trained on every snapshot's loss
    shift: list | None = optional()  # scored off its training physics (--allow-shift)
    targets: dict | None = optional()  # a task's other hidden parameters: name → scores
    joint_coverage: dict | None = optional()  # of every hidden parameter at once (TARP)


@dataclasses.dataclass(frozen=True)
class BaselineScores:
    """A predictor without learning; its scores are None where it was left out."""

    r2: float | None
    pearson: float | None
    mae: float | None
    mean_relative_error: float | None
    median_relative_error: float | None
    snapshot_sd_px: list | None = optional()  # the inversion's snapshot weights
    omitted: str | None = optional()  # why it was left out
    targets: dict | None = optional()  # a task's other hidden parameters: name → scores


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Every model and baseline on the same samples."""

    samples: int
    scope: str
    models: dict[str, ModelScores]
    baselines: dict[str, BaselineScores]
    report_table_1_r2: dict
    notes: list | None = optional()

    def write(self, path: Path) -> None:
        write_json(Path(path), to_mapping(self))

    @classmethod
    def read(cls, path: Path, fix: str) -> Metrics:
        """The metrics at ``path``; DataError naming the file and ``fix`` if they are
        missing, damaged or not of this massfield."""
        try:
            raw = json.loads(Path(path).read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: missing; {fix}") from None
        except (OSError, ValueError):
            raise DataError(f"{path}: damaged (not JSON); {fix}") from None
        try:
            metrics = from_mapping(cls, raw)
            absent = [key for key in BASELINES if key not in metrics.baselines]
            if absent:
                raise RecordError(f"no baselines.{absent[0]}")
        except RecordError as exc:
            raise DataError(f"{path}: not metrics of this massfield ({exc}); re-run "
                            f"`massfield evaluate` (or `dvc repro`)") from None
        return metrics
