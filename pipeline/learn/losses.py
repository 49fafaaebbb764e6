"""The report's three losses (figure 3) and a Gaussian negative log-likelihood.

Every model outputs (batch, steps, n_outputs): steps = 1 for feed-forward models and T
for recurrent ones (a prediction after every time step); n_outputs = 2 (mean, σ) for the
Gaussian loss, else 1. The loss scores the last step, or every step when ``every_step``
(the report's first training algorithm, §2.2.3).
"""

from __future__ import annotations

import math

import keras
from keras import ops

SIGMA_FLOOR = 1e-3  # mass units: keeps the likelihood finite


def mean_and_sigma(outputs):
    """Split model outputs (…, n_outputs) into the mass prediction and σ (None with one output)."""
    if outputs.shape[-1] == 1:
        return outputs[..., 0], None
    return outputs[..., 0], ops.softplus(outputs[..., 1]) + SIGMA_FLOOR


def pointwise_loss(name: str, target, outputs, huber_delta: float):
    """Per-sample loss of one step's outputs (batch, n_outputs) against target (batch,)."""
    mean, sigma = mean_and_sigma(outputs)
    error = mean - target
    if name == "gaussian":
        return ops.log(sigma) + 0.5 * ops.square(error / sigma) + 0.5 * math.log(2 * math.pi)
    if name == "mse":
        return ops.square(error)
    if name == "mape":
        return 100.0 * ops.abs(error) / ops.maximum(ops.abs(target), 1e-6)
    absolute = ops.abs(error)  # huber
    quadratic = ops.minimum(absolute, huber_delta)
    return 0.5 * ops.square(quadratic) + huber_delta * (absolute - quadratic)


@keras.saving.register_keras_serializable(package="massfield")
class MassLoss(keras.losses.Loss):
    def __init__(self, kind: str = "huber", huber_delta: float = 0.3, every_step: bool = False,
                 **kwargs):
        kwargs.pop("name", None)
        super().__init__(name=f"{kind}_loss", **kwargs)
        self.kind, self.huber_delta, self.every_step = kind, huber_delta, every_step

    def call(self, y_true, y_pred):
        target = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))
        if not self.every_step:
            return pointwise_loss(self.kind, target, y_pred[:, -1], self.huber_delta)
        steps = y_pred.shape[1]
        losses = [pointwise_loss(self.kind, target, y_pred[:, t], self.huber_delta)
                  for t in range(steps)]
        return ops.mean(ops.stack(losses, axis=1), axis=1)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "huber_delta": self.huber_delta,
                "every_step": self.every_step}


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
