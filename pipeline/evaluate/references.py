"""Each task's physics references on the scored samples: the likelihood fit of every
hidden parameter from what the models see (ψ and the task's observed fields) and from the
exact fine fields (:mod:`pipeline.references`), a shard and a batch at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..physics.inversion import CALIBRATION_SAMPLES, exact_field_variances, fields_reproduce
from ..references import LIKELIHOODS, fit, snapshot_variances
from ..store.reader import first_samples, read_shard
from .metrics import regression_metrics

BATCH = 256  # samples fitted at once: the exact fields take 1 MB a sample


def _reads(likelihood, task, physics) -> tuple[str, ...]:
    """The datasets the fits, their weights and the check of the exact fields read."""
    noisy = ("potential_true",) if physics.potential_noise > 0 else ()
    return tuple(dict.fromkeys(likelihood.reads + task.parameter_names
                               + ("positions", "potential") + noisy))


def task_references(files: list[Path], calibration: list[Path], task, physics
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Per column ("physics", "physics_fine_field", then "physics_NAME" and
    "physics_fine_field_NAME" for each parameter after the mass) the estimates; each
    fit's snapshot variances; per sample whether the regenerated φ gives back its ψ."""
    likelihood = LIKELIHOODS[task.name]
    names = _reads(likelihood, task, physics)
    train = dict(zip(names, first_samples(calibration, CALIBRATION_SAMPLES, names),
                     strict=True))
    variances = {"physics": snapshot_variances(likelihood, train, physics),
                 "physics_fine_field": exact_field_variances(physics)}
    estimates = {key: [] for key in variances}
    reproduced = []
    for path in files:
        shard = dict(zip(names, read_shard(str(path), names), strict=True))
        for first in range(0, len(shard["positions"]), BATCH):
            batch = {key: values[first:first + BATCH] for key, values in shard.items()}
            for key, variance in variances.items():
                exact = key == "physics_fine_field"
                theta, phi0 = fit(likelihood, batch, physics, variance, exact)
                estimates[key].append(theta[:, :likelihood.hidden])
                if exact:
                    truth = batch["potential_true" if physics.potential_noise > 0
                                  else "potential"]
                    reproduced.extend(fields_reproduce(phi0, truth, physics.downsample))
    columns = {}
    for key, parts in estimates.items():
        theta = np.concatenate(parts)
        for k, name in enumerate(task.parameter_names):
            columns[key if name == "mass" else f"{key}_{name}"] = theta[:, k]
    return columns, variances, np.array(reproduced, bool)


def reference_scores(truths: dict[str, np.ndarray], columns: dict[str, np.ndarray], task,
                     key: str, variances: np.ndarray, omitted: str | None) -> dict:
    """One reference's baseline record: the mass's scores, and each other parameter's
    under ``targets`` (None with the reason where the regenerated fields are not the
    store's)."""
    if omitted:
        return {"r2": None, "pearson": None, "mae": None, "mean_relative_error": None,
                "median_relative_error": None, "omitted": omitted}
    scores = regression_metrics(truths["mass"], columns[key])
    scores["snapshot_sd_px"] = np.sqrt(variances).round(4).tolist()
    scores["targets"] = {}
    for parameter in task.parameters[1:]:
        values = regression_metrics(truths[parameter.name], columns[f"{key}_{parameter.name}"])
        if parameter.signed:
            values["median_relative_error"] = values["mean_relative_error"] = None
        scores["targets"][parameter.name] = values
    return scores
