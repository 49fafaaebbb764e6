"""The four models, in two presets each, as single vectorised Keras graphs.

``report`` presets are the report's architectures (§3.2, figure 6, listing 3), without
its per-sample Python loop. ``physics-informed`` presets read the four-warm encodings as
what they are — bilinear weights — to sample field features at the particle and recover
its positions, and process ψ once rather than once per time step; the feed-forward ones,
which see only the summed encodings, also fit simulated paths of candidate masses to
that sum (:class:`~pipeline.learn.simulation.MassScan`) unless ``mass_scan`` is off:
those two contain a simulator, and (``physics_fit``) they also take the physics
inversion's estimate and misfit as inputs, learning what to add to the likelihood fit.

Every model maps its input view to (batch, steps, n_outputs): steps = 1 (feed-forward) or
T (recurrent: a prediction after each time step); n_outputs = 2 (mean, σ) for a Gaussian
head, else 1.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from ..config import FEED_FORWARD_MODELS, MODEL_NAMES, ModelTrainConfig, PhysicsConfig
from ..errors import ConfigError
from ..physics.encoding import to_grid
from ..readers.order import Normaliser
from ..tasks import task_of
from .data import FEED_FORWARD, RECURRENT
from .layers import (
    Channel,
    CubicFieldAt,
    Displacements,
    EncodingPosition,
    FieldChange,
    FieldGradient,
    FixedPosition,
    LogMagnitude,
    SampleAtEncoding,
    SampleEachStep,
    StandardisePotential,
    TraceMoments,
)
from .physics_fit import FEATURES as FIT_FEATURES
from .simulation import MassScan

SIGMA_START = -2.25  # softplus(−2.25) ≈ 0.1: a first σ of a tenth of a mass unit
VIEWS = {"dnn": FEED_FORWARD, "cnn": FEED_FORWARD, "rnn": RECURRENT, "crnn": RECURRENT}


def field_channels(name: str, physics: PhysicsConfig) -> list[tuple[int, bool]]:
    """(channel, changes per step) of each task field in the view of ``name`` (channels 0
    and 1 are ψ and the encoding): a feed-forward view holds a field of every step as one
    static channel per step (:func:`~.data.make_view`)."""
    steps = physics.time_steps
    channels, next_channel = [], 2
    for shape in task_of(physics).observed_shapes(physics.grid, steps):
        per_step = len(shape) == 3
        if VIEWS[name] == FEED_FORWARD:
            count = steps if per_step else 1
            channels += [(next_channel + k, False) for k in range(count)]
            next_channel += count
        else:
            channels.append((next_channel, per_step))
            next_channel += 1
    return channels


def input_shape(name: str, physics: PhysicsConfig) -> tuple[int, ...]:
    grid = physics.grid
    channels = 2 + len(field_channels(name, physics))
    return ((grid, grid, channels) if VIEWS[name] == FEED_FORWARD
            else (physics.time_steps, grid, grid, channels))


def start_cell(physics: PhysicsConfig) -> tuple[float, float]:
    """The start position (x, y) in coarse-grid cells, as the encoding maps pixels."""
    return tuple(float(to_grid(p, physics.downsample, physics.grid))
                 for p in physics.start_position)


def _head(hidden, outputs: int, positive: bool, log_prior=None, targets=()):
    """Dense → (…, outputs) per target parameter. Ours predict log-mass (masses are
    positive, errors relative), starting from a constant guess (zero kernel) so that early
    steps cannot blow up — or, given ``log_prior`` (the physics fit's log-mass), a
    correction to it, starting at it. A task's other parameters ``targets`` ((low, high)
    each, after the mass) start at the middle of their prior, in units of its half-width."""
    if not positive:
        return layers.Dense(outputs * (1 + len(targets)), name="head")(hidden)
    bias = [math.log(0.5) if log_prior is None else 0.0] + [SIGMA_START] * (outputs - 1)
    bias += [0.0, *[SIGMA_START] * (outputs - 1)] * len(targets)
    out = layers.Dense(len(bias), kernel_initializer="zeros",
                       bias_initializer=keras.initializers.Constant(bias), name="head")(hidden)
    log_mass = out[..., :1] if log_prior is None else out[..., :1] + log_prior
    mean = ops.exp(log_mass)
    if not targets:
        return ops.concatenate([mean, out[..., 1:]], axis=-1) if outputs > 1 else mean
    parts = [mean, out[..., 1:outputs]]
    for k, (low, high) in enumerate(targets, start=1):
        chunk = out[..., k * outputs:(k + 1) * outputs]
        parts += [0.5 * (low + high) + 0.5 * (high - low) * chunk[..., :1], chunk[..., 1:]]
    return ops.concatenate(parts, axis=-1)


def _targets(physics: PhysicsConfig) -> tuple[tuple[float, float], ...]:
    """The prior ranges of the task's parameters after the mass (none for ``mass``)."""
    return tuple(p.bounds(physics) for p in task_of(physics).parameters[1:])


def _as_sequence(out):
    return layers.Reshape((1, out.shape[-1]))(out)


# --- the report's architectures ------------------------------------------------------
# Sizes and activations from the report (§3.2, §4.2) and its authors' published code:
# where the recurrent models process space (Flatten → Dense(32); Conv2D(10, 3) → MaxPool
# → Flatten) that code applies no activation; the GRU has 32 units and the head is linear.

def _dnn_report(inputs, cfg, n_outputs, physics, raw, fit):
    # Figure 6's sizes are not in the text. §4.2 gives the RNN "one dense, one GRU, and
    # another dense one with just the prediction" with "the same sizes as the dense model";
    # reading that as two hidden layers of 32 measured a median R² of 0.144 over five runs
    # of the report's regime, one hidden layer 0.253 (report: 0.373). We keep one.
    hidden = layers.Dense(32, activation="relu")(layers.Flatten()(inputs))
    return _as_sequence(_head(hidden, n_outputs, positive=False, targets=_targets(physics)))


def _cnn_report(inputs, cfg, n_outputs, physics, raw, fit):
    hidden = layers.Conv2D(10, 3, padding="same", activation="relu")(inputs)
    hidden = layers.Flatten()(layers.MaxPooling2D()(hidden))
    hidden = layers.Dense(32, activation="relu")(hidden)
    return _as_sequence(_head(hidden, n_outputs, positive=False, targets=_targets(physics)))


def _rnn_report(inputs, cfg, n_outputs, physics, raw, fit):
    hidden = layers.TimeDistributed(layers.Flatten())(inputs)
    hidden = layers.TimeDistributed(layers.Dense(32))(hidden)
    hidden = layers.GRU(32, return_sequences=True)(hidden)
    return _head(hidden, n_outputs, positive=False, targets=_targets(physics))


def _crnn_report(inputs, cfg, n_outputs, physics, raw, fit):
    hidden = layers.TimeDistributed(layers.Conv2D(10, 3, padding="same"))(inputs)
    hidden = layers.TimeDistributed(layers.MaxPooling2D())(hidden)
    hidden = layers.TimeDistributed(layers.Flatten())(hidden)
    hidden = layers.GRU(32, return_sequences=True)(hidden)
    return _head(hidden, n_outputs, positive=False, targets=_targets(physics))


# --- physics-informed -------------------------------------------------------------------

def _learned_filters(psi, cfg):
    """``conv_channels`` learned filters of [ψ, ∂ψ/∂x, ∂ψ/∂y], at every cell."""
    hidden = layers.Conv2D(cfg.conv_channels, 3, padding="same", activation="relu")(
        FieldGradient()(psi))
    return layers.Conv2D(cfg.conv_channels, 3, padding="same")(hidden)


def _recurrent_physics(inputs, cfg, n_outputs, physics, learned_filters: bool):
    """Per step: the cubic field and force at the particle, its position, displacement and
    their log-lengths; then a GRU. ψ is read once (it is the same at every step)."""
    psi = Channel(0, first_step=True, keep_dims=True)(inputs)
    encoding = Channel(1)(inputs)
    position = EncodingPosition()(encoding)
    field = CubicFieldAt()([psi, position])  # (B, T, 3)
    force = field[..., 1:]
    velocity = Displacements()(position)
    acceleration = Displacements()(velocity)
    initial_force = layers.RepeatVector(physics.time_steps)(LogMagnitude()(force[:, 0]))
    features = [field, LogMagnitude()(force), position, 10.0 * velocity, 30.0 * acceleration,
                LogMagnitude()(velocity), LogMagnitude()(acceleration),
                LogMagnitude()(position - position[:, :1]), initial_force]
    if learned_filters and cfg.conv_channels:
        features.append(SampleAtEncoding()([_learned_filters(psi, cfg), encoding]))
    for channel, per_step in field_channels("rnn", physics):  # a task's fields, at the particle
        if per_step:
            maps = FieldGradient()(Channel(channel, keep_dims=True)(inputs))
            at = SampleEachStep()([maps, encoding])
            features.append(FieldChange(channel)(inputs))
        else:
            at = CubicFieldAt()([Channel(channel, first_step=True, keep_dims=True)(inputs),
                                 position])
        features += [at, LogMagnitude()(at[..., 1:])]
    hidden = layers.GRU(cfg.width, return_sequences=True)(layers.Concatenate()(features))
    hidden = layers.Dense(cfg.width, activation="relu")(hidden)
    return _head(hidden, n_outputs, positive=True, targets=_targets(physics))


def _crnn_physics(inputs, cfg, n_outputs, physics, raw, fit):
    return _recurrent_physics(inputs, cfg, n_outputs, physics, learned_filters=True)


def _rnn_physics(inputs, cfg, n_outputs, physics, raw, fit):
    # no learned convolution: fixed read-out layers, a GRU and dense layers
    return _recurrent_physics(inputs, cfg, n_outputs, physics, learned_filters=False)


def _path_features(inputs, cfg, physics, raw, fit):
    """What a feed-forward model can read from ψ and the summed encodings without learning:
    the cubic field at the (known) start, the path's moments near the start, the
    field's finite differences summed along the path, (``mass_scan``) how well
    simulated paths of candidate masses fit the summed encodings (:class:`MassScan`), and
    (``physics_fit``) the physics inversion's log-mass and log-misfit, given as inputs."""
    psi = Channel(0, keep_dims=True)(inputs)
    trace = Channel(1)(inputs)
    grid = physics.grid
    start = start_cell(physics)
    at_start = CubicFieldAt()([psi, FixedPosition(tuple(s / (grid - 1) for s in start))(inputs)])
    at_start = at_start[:, 0]
    moments = TraceMoments(start)(trace)
    discs = layers.Reshape((-1, 3))(moments)
    along_path = SampleAtEncoding()([FieldGradient()(psi), layers.Reshape((1, grid, grid))(trace)])
    features = [at_start, LogMagnitude()(at_start[:, 1:]), moments,
                layers.Flatten()(LogMagnitude()(discs[..., 1:])), layers.Flatten()(along_path)]
    for channel, _ in field_channels("dnn", physics):  # a task's fields along the path
        gradient = FieldGradient()(Channel(channel, keep_dims=True)(inputs))
        features += [layers.Flatten()(SampleAtEncoding()(
            [gradient, layers.Reshape((1, grid, grid))(trace)])), FieldChange(channel)(inputs)]
    if cfg.mass_scan:
        features.append(MassScan.for_physics(physics)(raw))  # the physical ψ
    if fit is not None:
        features.append(fit)
    return psi, trace, features


def _feed_forward_head(features, cfg, n_outputs, physics, fit=None):
    hidden = layers.BatchNormalization()(layers.Concatenate()(features))
    hidden = layers.Dense(2 * cfg.width, activation="relu")(hidden)
    hidden = layers.Dense(cfg.width, activation="relu")(hidden)
    # with the physics fit, the network learns what to add to the fit's log-mass
    prior = None if fit is None else fit[:, :1]
    return _as_sequence(_head(hidden, n_outputs, positive=True, log_prior=prior,
                              targets=_targets(physics)))


def _cnn_physics(inputs, cfg, n_outputs, physics, raw, fit):
    psi, trace, features = _path_features(inputs, cfg, physics, raw, fit)
    fields = [FieldGradient()(Channel(channel, keep_dims=True)(inputs))
              for channel, _ in field_channels("cnn", physics)]
    hidden = layers.Concatenate()([FieldGradient()(psi), Channel(1, keep_dims=True)(inputs),
                                   *fields])
    for _ in range(3):  # 7 × 7 cells: wide enough to see the spacing of early positions
        hidden = layers.Conv2D(max(cfg.conv_channels, 4), 3, padding="same",
                               activation="relu")(hidden)
    grid = physics.grid
    along_path = SampleAtEncoding()([hidden, layers.Reshape((1, grid, grid))(trace)])
    features += [layers.GlobalMaxPooling2D()(hidden), layers.Flatten()(along_path)]
    return _feed_forward_head(features, cfg, n_outputs, physics, fit)


def _dnn_physics(inputs, cfg, n_outputs, physics, raw, fit):
    _, _, features = _path_features(inputs, cfg, physics, raw, fit)
    return _feed_forward_head(features + [layers.Flatten()(inputs)], cfg, n_outputs, physics,
                              fit)


BUILDERS = {
    ("dnn", "report"): _dnn_report, ("cnn", "report"): _cnn_report,
    ("rnn", "report"): _rnn_report, ("crnn", "report"): _crnn_report,
    ("dnn", "physics-informed"): _dnn_physics, ("cnn", "physics-informed"): _cnn_physics,
    ("rnn", "physics-informed"): _rnn_physics, ("crnn", "physics-informed"): _crnn_physics,
}


def contains_simulator(name: str, cfg: ModelTrainConfig) -> bool:
    """Whether the model runs the report's integrator: inside its graph (the mass scan) or
    for its inputs (the physics fit)."""
    return (name in FEED_FORWARD_MODELS and cfg.preset == "physics-informed"
            and (cfg.mass_scan or cfg.physics_fit))


def uses_physics_fit(name: str, cfg: ModelTrainConfig) -> bool:
    """Whether the model takes the physics inversion's two features as a second input."""
    return name in FEED_FORWARD_MODELS and cfg.preset == "physics-informed" and cfg.physics_fit


def check_model_name(name: str) -> str:
    if name not in MODEL_NAMES:
        raise ConfigError(f"unknown model {name!r}; valid models: {', '.join(MODEL_NAMES)}")
    return name


def build_model(name: str, cfg: ModelTrainConfig, physics: PhysicsConfig,
                normaliser: Normaliser) -> keras.Model:
    """An uncompiled model for ``name`` with ``cfg.preset``; outputs (batch, steps, n_outputs).

    The model takes ψ as stored; ``normaliser`` (the training store's statistics) is how
    its first layer standardises ψ for the learned layers. Builders get that view and the
    raw one, which layers that simulate read. With ``physics_fit`` (DNN/CNN), the model
    takes (view, physics-fit features) (:mod:`.physics_fit`).
    """
    check_model_name(name)
    keras.utils.set_random_seed(cfg.seed)
    inputs = keras.Input(input_shape(name, physics), name="view")
    fit = keras.Input((FIT_FEATURES,), name="physics_fit") if uses_physics_fit(name, cfg) else None
    view = inputs
    if cfg.preset != "report":
        # The report presets see ψ raw, as the report fed its networks (§2–3 standardise
        # nothing): with ψ standardised, four of five report-preset CRNN runs collapsed
        # to the mean.
        view = StandardisePotential(normaliser.mean, normaliser.std,
                                    fields=bool(field_channels(name, physics)))(inputs)
    outputs = BUILDERS[(name, cfg.preset)](view, cfg, 2 if cfg.loss == "gaussian" else 1,
                                           physics, inputs, fit)
    return keras.Model(inputs if fit is None else (inputs, fit), outputs,
                       name=f"{name}_{cfg.preset.replace('-', '_')}")
