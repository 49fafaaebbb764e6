"""The report's three losses (figure 3) and a Gaussian negative log-likelihood.

Every model outputs (batch, steps, n_outputs): steps = 1 for feed-forward models and T
for recurrent ones (a prediction after every time step); n_outputs = 2 (mean, σ) for the
Gaussian loss, else 1 — per hidden parameter of its task, the mass first. The loss scores
the last step, or every step when ``every_step`` (the report's first training algorithm,
§2.2.3). A parameter other than the mass has a ``scale`` (half its prior's width): its σ
is predicted in those units and its error measured in them, so that no parameter
dominates the sum by its units; the Gaussian loss is the joint NLL of independent
Gaussians.
"""

from __future__ import annotations

import math

import keras
from keras import ops

SIGMA_FLOOR = 1e-3  # mass units: keeps the likelihood finite


def mean_and_sigma(outputs, scale: float = 1.0):
    """Split one parameter's outputs (…, n_outputs) into its prediction and σ (None with
    one output)."""
    if outputs.shape[-1] == 1:
        return outputs[..., 0], None
    sigma = ops.softplus(outputs[..., 1]) + SIGMA_FLOOR
    return outputs[..., 0], sigma if scale == 1.0 else scale * sigma


def parameter_outputs(outputs, scales: tuple[float, ...]) -> list:
    """(mean, σ) of each parameter from a model's outputs (…, P·n_outputs)."""
    width = outputs.shape[-1] // len(scales)
    return [mean_and_sigma(outputs[..., k * width:(k + 1) * width], scale)
            for k, scale in enumerate(scales)]


def pointwise_loss(name: str, target, outputs, huber_delta: float, scale: float = 1.0):
    """Per-sample loss of one step's outputs (batch, n_outputs) against target (batch,)."""
    mean, sigma = mean_and_sigma(outputs, scale)
    error = mean - target
    if name == "gaussian":
        return ops.log(sigma) + 0.5 * ops.square(error / sigma) + 0.5 * math.log(2 * math.pi)
    if name == "mape":
        return 100.0 * ops.abs(error) / ops.maximum(ops.abs(target), 1e-6)
    if scale != 1.0:
        error = error / scale
    if name == "mse":
        return ops.square(error)
    absolute = ops.abs(error)  # huber
    quadratic = ops.minimum(absolute, huber_delta)
    return 0.5 * ops.square(quadratic) + huber_delta * (absolute - quadratic)


@keras.saving.register_keras_serializable(package="massfield")
class MassLoss(keras.losses.Loss):
    def __init__(self, kind: str = "huber", huber_delta: float = 0.3, every_step: bool = False,
                 scales=(1.0,), **kwargs):
        kwargs.pop("name", None)
        super().__init__(name=f"{kind}_loss", **kwargs)
        self.kind, self.huber_delta, self.every_step = kind, huber_delta, every_step
        self.scales = tuple(float(s) for s in scales)

    def _step(self, target, outputs):
        if len(self.scales) == 1:
            return pointwise_loss(self.kind, target, outputs, self.huber_delta)
        width = outputs.shape[-1] // len(self.scales)
        return sum(pointwise_loss(self.kind, target[:, k], outputs[:, k * width:(k + 1) * width],
                                  self.huber_delta, scale)
                   for k, scale in enumerate(self.scales))

    def call(self, y_true, y_pred):
        shape = (-1,) if len(self.scales) == 1 else (-1, len(self.scales))
        target = ops.reshape(ops.cast(y_true, y_pred.dtype), shape)
        if not self.every_step:
            return self._step(target, y_pred[:, -1])
        steps = y_pred.shape[1]
        losses = [self._step(target, y_pred[:, t]) for t in range(steps)]
        return ops.mean(ops.stack(losses, axis=1), axis=1)

    def get_config(self):
        config = {**super().get_config(), "kind": self.kind, "huber_delta": self.huber_delta,
                  "every_step": self.every_step}
        return config if self.scales == (1.0,) else {**config, "scales": list(self.scales)}


class BatchLoss(keras.metrics.Metric):
    """The loss of the latest batch alone. Keras logs "loss" as the mean of the epoch so
    far; the report's figures 9 and 11 plot each step's own loss."""

    def __init__(self, loss: keras.losses.Loss, name: str = "batch_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = loss
        self.value = self.add_variable(shape=(), initializer="zeros", name="value")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.value.assign(ops.cast(self.loss(y_true, y_pred), self.value.dtype))

    def result(self):
        return self.value

    def reset_state(self):
        self.value.assign(0.0)
