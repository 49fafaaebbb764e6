"""The physics inversion as two inputs of the feed-forward hybrids: its mass and its misfit.

The likelihood fit over every snapshot (:mod:`pipeline.physics.inversion`), weighting each
by the position noise plus the smoothed field's drift, stays the best no-learning estimate
as positions get noisy, where networks that read positions as they come fall behind it
(README, observation noise). The DNN and CNN hybrids, which judge the whole path at once,
therefore take it as two inputs and learn what to add: log m̂ of the fit, and the log of
its misfit (the mean weighted squared residual: about 1 where the observation is as noisy
as the weights say, larger where the fit is poor) — how far to trust m̂.

Computed outside the graph (Numba: about 0.7 ms a sample on 2 cores) in the calling
thread, one shard at a time, before the loader reads that shard. The snapshot variances
are measured once, on the training store's first train samples, and recorded in the
model's history, so that evaluate and predict weigh every later store as training did.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import PhysicsConfig
from ..physics.inversion import CALIBRATION_SAMPLES, fit_and_misfit, snapshot_variances
from ..store.reader import OBSERVED_FIELDS, first_samples, read_shard

if TYPE_CHECKING:
    from .record import TrainingRecord

FEATURES = 2  # log m̂, log misfit
MISFIT_FLOOR = 1e-3  # keeps the log finite for a fit that is exact to the last bit


@dataclasses.dataclass(frozen=True)
class PhysicsFit:
    """How to fit: the training physics and its measured snapshot variances (px²)."""

    physics: PhysicsConfig
    variances: tuple[float, ...]

    @classmethod
    def measure(cls, train_files: list[Path], physics: PhysicsConfig) -> PhysicsFit:
        """Variances from the first training samples at their true masses."""
        psi, positions, mass = first_samples(train_files, CALIBRATION_SAMPLES, OBSERVED_FIELDS)
        variances = snapshot_variances(psi, positions, mass, physics)
        return cls(physics, tuple(float(v) for v in variances))

    @classmethod
    def from_history(cls, history: TrainingRecord) -> PhysicsFit | None:
        """The fit a model was trained with (None: a model without these inputs)."""
        if history.physics_fit is None:
            return None
        return cls(history.store.checked_params.physics,
                   tuple(float(v) for v in history.physics_fit["variances"]))

    @classmethod
    def noise_of(cls, history: TrainingRecord) -> PhysicsFit | None:
        """The fit whose misfit estimates a sample's noise for a model calibrated per noise
        tercile (None: calibrated once for every level)."""
        if history.noise_fit is None:
            return None
        return cls(history.store.checked_params.physics,
                   tuple(float(v) for v in history.noise_fit["variances"]))

    def record(self) -> dict:
        return {"variances": list(self.variances),
                "inputs": "log mass and log misfit of the physics inversion"}

    def features(self, potential: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """(n, 2) float32: log m̂ and log misfit for ψ (n, G, G) and kept positions (n, T, 2)."""
        return self.features_of(*fit_and_misfit(potential, positions, self.physics,
                                                np.asarray(self.variances)))

    @staticmethod
    def features_of(mass: np.ndarray, misfit: np.ndarray) -> np.ndarray:
        """The inputs from a fit already made (:func:`fit_and_misfit`'s mass and misfit)."""
        misfit = np.nan_to_num(misfit, nan=1e6, posinf=1e6)
        return np.stack([np.log(mass), np.log(misfit + MISFIT_FLOOR)], axis=1).astype(np.float32)

    def shard_features(self, files: list[str], cache: dict | None = None
                       ) -> dict[str, np.ndarray]:
        """Features per shard file, in file order of its samples. ``cache`` (file → features
        of this fit, kept by a caller scoring several models) is read first and filled in:
        the fit is half of a hybrid's scoring time."""
        cache = {} if cache is None else cache
        for path in map(str, files):
            if path not in cache:
                cache[path] = self.features(*read_shard(path, ("potential", "positions")))
        return {str(path): cache[str(path)] for path in files}

    def noise_estimates(self, files: list[str], cache: dict | None = None) -> np.ndarray:
        """Each sample's log misfit, in file order: how noisy its observation looks."""
        features = self.shard_features(files, cache)
        return np.concatenate([features[str(path)][:, 1] for path in files])
