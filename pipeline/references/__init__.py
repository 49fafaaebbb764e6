"""Physics references per task: the likelihood fit of every hidden parameter from what the
models see (ψ and the task's observed fields: the no-learning baseline) and from the exact
fine fields (the reference no model can reach). One module per task; the ``mass`` task's
inversion is :mod:`pipeline.physics.inversion`."""

from __future__ import annotations

from .fit import Likelihood, fit, snapshot_variances
from .mass_charge import MassChargeLikelihood
from .mass_drag import MassDragLikelihood
from .moving_field import MovingFieldLikelihood

LIKELIHOODS: dict[str, Likelihood] = {
    likelihood.task: likelihood
    for likelihood in (MassChargeLikelihood(), MassDragLikelihood(), MovingFieldLikelihood())}

__all__ = ["LIKELIHOODS", "Likelihood", "fit", "snapshot_variances"]
