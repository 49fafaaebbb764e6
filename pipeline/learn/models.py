"""The four models, in two presets each, as single vectorised Keras graphs.

``seed`` presets are the report's architectures (§3.2, figure 6, listing 3), without
its per-sample Python loop. ``ours`` read the four-warm encodings as what they are —
bilinear weights — to sample field features at the particle and recover its
positions, and process ψ once rather than once per time step.

Every model maps its input view to (batch, steps, k): steps = 1 (feed-forward) or T
(recurrent: a prediction after each time step); k = 2 for a Gaussian head, else 1.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from ..config import MODEL_NAMES, ModelTrainConfig
from ..errors import ConfigError
from .data import FEED_FORWARD, RECURRENT
from .layers import (Channel, Displacements, EncodingPosition, FieldGradient,
                     SampleAtEncoding)

VIEWS = {"dnn": FEED_FORWARD, "cnn": FEED_FORWARD, "rnn": RECURRENT, "crnn": RECURRENT}


def input_shape(name: str, grid: int, steps: int) -> tuple[int, ...]:
    return (grid, grid, 2) if VIEWS[name] == FEED_FORWARD else (steps, grid, grid, 2)


def _head(hidden, outputs: int, positive: bool):
    """Dense → (…, outputs); ours predict log-mass (masses are positive, errors relative)."""
    out = layers.Dense(outputs, name="head")(hidden)
    if positive:
        mean = ops.exp(out[..., :1])
        out = ops.concatenate([mean, out[..., 1:]], axis=-1) if outputs > 1 else mean
    return out


def _as_sequence(out):
    return layers.Reshape((1, out.shape[-1]))(out)


# --- the report's architectures ------------------------------------------------------

def _dnn_seed(inputs, cfg, k):
    hidden = layers.Dense(32, activation="relu")(layers.Flatten()(inputs))
    return _as_sequence(_head(hidden, k, positive=False))


def _cnn_seed(inputs, cfg, k):
    hidden = layers.Conv2D(10, 3, padding="same", activation="relu")(inputs)
    hidden = layers.Flatten()(layers.MaxPooling2D()(hidden))
    hidden = layers.Dense(32, activation="relu")(hidden)
    return _as_sequence(_head(hidden, k, positive=False))


def _rnn_seed(inputs, cfg, k):
    hidden = layers.TimeDistributed(layers.Flatten())(inputs)
    hidden = layers.TimeDistributed(layers.Dense(32, activation="relu"))(hidden)
    hidden = layers.GRU(32, return_sequences=True)(hidden)
    return _head(hidden, k, positive=False)


def _crnn_seed(inputs, cfg, k):
    hidden = layers.TimeDistributed(layers.Conv2D(10, 3, padding="same", activation="relu"))(inputs)
    hidden = layers.TimeDistributed(layers.MaxPooling2D())(hidden)
    hidden = layers.TimeDistributed(layers.Flatten())(hidden)
    hidden = layers.GRU(32, return_sequences=True)(hidden)
    return _head(hidden, k, positive=False)


# --- ours ------------------------------------------------------------------------------

def _field_features(psi, cfg):
    """[ψ, ∂ψ/∂x, ∂ψ/∂y] plus ``conv_channels`` learned filters of them, at every cell."""
    fixed = FieldGradient()(psi)
    if not cfg.conv_channels:
        return fixed
    learned = layers.Conv2D(cfg.conv_channels, 3, padding="same", activation="relu")(fixed)
    learned = layers.Conv2D(cfg.conv_channels, 3, padding="same")(learned)
    return layers.Concatenate()([fixed, learned])


def _track_features(features, encoding):
    """Per time step: field features at the particle, position, displacement, its change."""
    local = SampleAtEncoding()([features, encoding])
    position = EncodingPosition()(encoding)
    velocity = Displacements()(position)
    acceleration = Displacements()(velocity)
    return layers.Concatenate()([local, position, 10.0 * velocity, 30.0 * acceleration])


def _recurrent_ours(inputs, cfg, k, learned_filters: bool):
    psi = Channel(0, first_step=True, keep_dims=True)(inputs)  # the same at every step
    encoding = Channel(1)(inputs)
    field = _field_features(psi, cfg) if learned_filters else FieldGradient()(psi)
    hidden = layers.GRU(cfg.width, return_sequences=True)(_track_features(field, encoding))
    hidden = layers.Dense(cfg.width, activation="relu")(hidden)
    return _head(hidden, k, positive=True)


def _crnn_ours(inputs, cfg, k):
    return _recurrent_ours(inputs, cfg, k, learned_filters=True)


def _rnn_ours(inputs, cfg, k):
    # no learned convolution: only the fixed gradient operator and dense/recurrent layers
    return _recurrent_ours(inputs, cfg, k, learned_filters=False)


def _path_summary(features, trace):
    """Field features averaged along the summed encoding (the path), and its moments."""
    weights = layers.Reshape((1, *trace.shape[1:3]))(trace)  # (B, 1, G, G)
    along_path = layers.Flatten()(SampleAtEncoding()([features, weights]))
    centroid = layers.Flatten()(EncodingPosition()(weights))
    return along_path, centroid


def _cnn_ours(inputs, cfg, k):
    psi = Channel(0, keep_dims=True)(inputs)
    trace = Channel(1)(inputs)
    field = _field_features(psi, cfg)
    width = max(cfg.conv_channels, 8) * 2
    hidden = layers.Concatenate()([field, Channel(1, keep_dims=True)(inputs)])
    for dilation in (1, 2, 4):  # wide enough to see the spacing of successive positions
        hidden = layers.Conv2D(width, 3, padding="same", dilation_rate=dilation,
                               activation="relu")(hidden)
    along_path, centroid = _path_summary(layers.Concatenate()([field, hidden]), trace)
    pooled = layers.GlobalMaxPooling2D()(hidden)
    summary = layers.Concatenate()([along_path, centroid, pooled])
    summary = layers.Dense(cfg.width, activation="relu")(summary)
    summary = layers.Dense(cfg.width, activation="relu")(summary)
    return _as_sequence(_head(summary, k, positive=True))


def _dnn_ours(inputs, cfg, k):
    psi = Channel(0, keep_dims=True)(inputs)
    trace = Channel(1)(inputs)
    along_path, centroid = _path_summary(FieldGradient()(psi), trace)
    hidden = layers.Concatenate()([layers.Flatten()(inputs), along_path, centroid])
    for _ in range(2):
        hidden = layers.Dense(4 * cfg.width, activation="relu")(hidden)
    hidden = layers.Dense(cfg.width, activation="relu")(hidden)
    return _as_sequence(_head(hidden, k, positive=True))


BUILDERS = {
    ("dnn", "seed"): _dnn_seed, ("cnn", "seed"): _cnn_seed,
    ("rnn", "seed"): _rnn_seed, ("crnn", "seed"): _crnn_seed,
    ("dnn", "ours"): _dnn_ours, ("cnn", "ours"): _cnn_ours,
    ("rnn", "ours"): _rnn_ours, ("crnn", "ours"): _crnn_ours,
}


def check_model_name(name: str) -> str:
    if name not in MODEL_NAMES:
        raise ConfigError(f"unknown model {name!r}; valid models: {', '.join(MODEL_NAMES)}")
    return name


def build_model(name: str, cfg: ModelTrainConfig, grid: int, steps: int) -> keras.Model:
    """An uncompiled model for ``name`` with ``cfg.preset``; outputs (batch, steps, k)."""
    check_model_name(name)
    keras.utils.set_random_seed(cfg.seed)
    inputs = keras.Input(input_shape(name, grid, steps), name="view")
    outputs = BUILDERS[(name, cfg.preset)](inputs, cfg, 2 if cfg.loss == "gaussian" else 1)
    return keras.Model(inputs, outputs, name=f"{name}_{cfg.preset}")
