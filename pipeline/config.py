"""params.yaml → typed, validated objects.

Configuration enters the program once, here, and is passed down. OmegaConf (which DVC
installs) owns the mechanics: it reads the YAML (YAML 1.2 numbers such as ``1e-3``),
coerces each value to the type of its dataclass field and applies dotted ``--set``
overrides. ``validate()`` then checks meaning. Every error names its key
(``physics.mass_low``) so that a user can fix the file or the override without
reading code.

One source of defaults: the dataclass defaults below are the values of the
repository's params.yaml (tests/test_config.py holds the two equal).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from .errors import ConfigError
from .tasks import task_named

DEFAULT_PARAMS = Path("params.yaml")
SECTIONS = ("physics", "generate", "train", "evaluate")


@dataclasses.dataclass
class PhysicsConfig:
    """How one sample is made (report §2.1, §3.1). Lengths are in pixels of the fine grid."""

    size: int = 256  # fine grid, pixels per side; covers one noise unit
    downsample: int = 8  # the report's k (equation 2): psi is (size/downsample)²
    octaves: int = 4
    persistence: float = 0.5
    lacunarity: float = 2.0
    repeat: float = 1024.0  # pnoise2's repeatx/repeaty
    base: int = 0  # pnoise2's base
    offset_high: float = 1024.0  # noise offsets ~ U[0, offset_high) (report: ±1e5, see field.py)
    trap_flatness: float = 25.0
    trap_safety: float = 1.1
    mass_low: float = 0.1
    mass_high: float = 1.0
    n_positions: int = 100  # positions t = 0 … n_positions-1 of the full trajectory
    time_steps: int = 10  # positions kept for the models
    stride: int = 10  # kept positions are t = 0, stride, 2·stride, …
    start: tuple[float, float] | None = None  # (x, y) in pixels; None = grid centre
    start_velocity: tuple[float, float] = (0.0, 0.0)
    max_redraws: int = 1000  # per sample, before giving up on escaping particles
    position_noise: float = 0.0  # observation: σ of Gaussian noise on each kept position (px)
    # ... or, set, each sample's own σ ~ U[position_noise, position_noise_high): a nuisance,
    # so that one model serves every noise level in the range (stored as position_noise)
    position_noise_high: float | None = None
    potential_noise: float = 0.0  # observation: σ of Gaussian noise on each ψ cell
    # the task: which physics and which hidden parameters (pipeline/tasks, docs/tasks.md)
    task: str = "mass"
    charge_low: float = -1.0  # mass-charge: charge q ~ U[charge_low, charge_high)
    charge_high: float = 1.0
    drag_low: float = 0.0  # mass-drag: drag coefficient b ~ U[drag_low, drag_high)
    drag_high: float = 0.05
    drag_start_speed: float = 1.0  # mass-drag: start velocity uniform in a disc (px/step)
    field_speed_low: float = 0.0  # moving-field: ω ~ U[low, high), radians per time step
    field_speed_high: float = 0.02

    def __post_init__(self):
        self.start = None if self.start is None else tuple(self.start)
        self.start_velocity = tuple(self.start_velocity)

    @property
    def grid(self) -> int:
        """Side of the coarse grid psi and the encodings live on."""
        return self.size // self.downsample

    @property
    def start_position(self) -> tuple[float, float]:
        return self.start if self.start is not None else (self.size / 2, self.size / 2)

    @property
    def kept_steps(self) -> tuple[int, ...]:
        return tuple(range(0, self.stride * self.time_steps, self.stride))

    def validate(self) -> None:
        _require(self.size >= 8, "physics.size", "must be at least 8")
        _require(self.downsample >= 1, "physics.downsample", "must be ≥ 1")
        _require(self.size // self.downsample >= 4, "physics.downsample",
                 "must leave a coarse grid of at least 4 × 4 (physics.size / downsample)")
        _require(self.size % self.downsample == 0, "physics.size",
                 f"({self.size}) must be divisible by physics.downsample ({self.downsample})")
        _require(self.octaves >= 1, "physics.octaves", "must be ≥ 1")
        _require(self.persistence > 0, "physics.persistence", "must be > 0")
        _require(self.lacunarity > 0, "physics.lacunarity", "must be > 0")
        _require(self.repeat >= 1, "physics.repeat", "must be ≥ 1")
        _require(0 <= self.base <= 255, "physics.base", "must be in 0…255")
        _require(self.offset_high > 0, "physics.offset_high", "must be > 0")
        _require(self.trap_flatness > 0, "physics.trap_flatness", "must be > 0")
        _require(self.trap_safety > 0, "physics.trap_safety", "must be > 0")
        _require(0 < self.mass_low < self.mass_high, "physics.mass_low",
                 f"and physics.mass_high must satisfy 0 < mass_low < mass_high "
                 f"(got {self.mass_low}, {self.mass_high})")
        _require(self.n_positions >= 2, "physics.n_positions", "must be ≥ 2")
        _require(self.time_steps >= 2, "physics.time_steps",
                 "must be ≥ 2 (a path needs two snapshots)")
        _require(self.stride >= 1, "physics.stride", "must be ≥ 1")
        _require(self.stride * (self.time_steps - 1) < self.n_positions, "physics.stride",
                 f"× (time_steps − 1) = {self.stride * (self.time_steps - 1)} lies beyond the "
                 f"trajectory (physics.n_positions = {self.n_positions})")
        for key in ("start", "start_velocity"):
            value = getattr(self, key)
            _require(value is None or len(value) == 2, f"physics.{key}",
                     f"must be a list of two numbers [x, y], got {value and list(value)}")
        x, y = self.start_position
        _require(0 <= x < self.size and 0 <= y < self.size, "physics.start",
                 f"must lie inside the grid [0, {self.size})")
        _require(self.max_redraws >= 0, "physics.max_redraws", "must be ≥ 0")
        # σ beyond the grid (positions) or ten times ψ's span (≈ 2) leaves nothing to
        # observe, and far beyond, a value that is no longer finite (1e308 px)
        for key, bound, unit in (("position_noise", self.size, "px: the grid's size"),
                                 ("potential_noise", 20.0, ": ten times ψ's span")):
            sigma = getattr(self, key)
            _require(0 <= sigma <= bound, f"physics.{key}",
                     f"must be a standard deviation in [0, {bound:g}{unit}], got {sigma}")
        high = self.position_noise_high
        _require(high is None or self.position_noise < high <= self.size,
                 "physics.position_noise_high",
                 f"must be null or satisfy physics.position_noise < position_noise_high ≤ "
                 f"{self.size} px (got {self.position_noise}, {high})")
        task_named(self.task).validate(self)  # the task checks its own keys

    @property
    def noisy(self) -> bool:
        """Whether what a model observes differs from the truth (docs/dataset.md)."""
        return self.position_noise_range[1] > 0 or self.potential_noise > 0

    @property
    def position_noise_drawn(self) -> bool:
        """Whether each sample draws its own position σ (a range was given)."""
        return self.position_noise_high is not None

    @property
    def position_noise_range(self) -> tuple[float, float]:
        """(low, high) of the position σ; (σ, σ) when it is fixed."""
        high = self.position_noise if self.position_noise_high is None else \
            self.position_noise_high
        return self.position_noise, high

    @property
    def position_noise_variance(self) -> float:
        """The mean σ² of a kept position's noise (px²): σ² fixed, (l² + lh + h²)/3 drawn."""
        low, high = self.position_noise_range
        if not self.position_noise_drawn:
            return low ** 2
        return (low * low + low * high + high * high) / 3


@dataclasses.dataclass
class SplitFractions:
    train: float = 0.8
    validation: float = 0.1
    test: float = 0.1

    def validate(self) -> None:
        for name in ("train", "validation", "test"):
            _require(0 <= getattr(self, name) <= 1, f"generate.splits.{name}", "must be in [0, 1]")
        total = self.train + self.validation + self.test
        _require(abs(total - 1) < 1e-9, "generate.splits", f"fractions must sum to 1 (got {total})")
        _require(self.train > 0, "generate.splits.train", "must be > 0")


MAX_SHARD_BYTES = 2 << 30  # a worker holds one shard in memory while it makes it


@dataclasses.dataclass
class GenerateConfig:
    """How many samples, in which shards, from which seed."""

    seed: int = 2020
    n_samples: int = 40000
    shard_size: int = 2000
    splits: SplitFractions = dataclasses.field(default_factory=SplitFractions)
    store_full_potential: bool = False
    compression_level: int = 1  # see params.yaml: which datasets it applies to

    @property
    def n_shards(self) -> int:
        return -(-self.n_samples // self.shard_size)

    def shard_samples(self, index: int) -> int:
        """Samples in shard ``index``: all full but possibly the last."""
        return min(self.shard_size, self.n_samples - index * self.shard_size)

    def validate(self) -> None:
        _require(self.seed >= 0, "generate.seed", "must be a non-negative integer")
        _require(self.n_samples >= 1, "generate.n_samples", "must be ≥ 1")
        _require(self.shard_size >= 1, "generate.shard_size", "must be ≥ 1")
        _require(0 <= self.compression_level <= 9, "generate.compression_level", "must be in 0…9")
        self.splits.validate()


MODEL_NAMES = ("dnn", "cnn", "rnn", "crnn")
MODEL_LABELS = {"dnn": "DNN", "cnn": "CNN", "rnn": "RNN", "crnn": "CRNN"}
FEED_FORWARD_MODELS = ("dnn", "cnn")
PRESETS = ("physics-informed", "report")
LOSSES = ("gaussian", "huber", "mse", "mape")
XLA_MODES = ("auto", "always", "never")


@dataclasses.dataclass
class ModelTrainConfig:
    """How one model is built and trained (``train.<model>`` in params.yaml)."""

    preset: str = "physics-informed"  # or "report": the report's architecture (§3.2)
    mass_scan: bool = True  # DNN/CNN physics-informed: simulate candidate masses in the graph
    physics_fit: bool = True  # DNN/CNN physics-informed: the physics inversion as two inputs
    loss: str = "gaussian"  # gaussian (NLL, predicts σ too) | huber | mse | mape
    huber_delta: float = 0.3
    learning_rate: float = 0.003
    schedule: str = "cosine"  # cosine decay over the run, or constant
    batch_size: int = 64
    epochs: int = 6
    steps_per_epoch: int | None = None  # None: one pass over the train split per epoch
    train_samples: int | None = None  # None: all; else the first train shards holding this many
    validation_samples: int | None = None  # val_loss each epoch on the first validation
    # shards holding this many (None: all); calibration always uses the whole split
    patience: int = 0  # early stopping on val_loss, in epochs; 0 = off (val_loss once, at the end)
    seed: int = 0
    loss_every_step: bool = False  # recurrent: a loss after every time step (report §2.2.3)
    width: int = 64  # hidden units of the physics-informed presets
    conv_channels: int = 8  # learned field filters of the physics-informed presets (0 = none)
    xla: str = "auto"  # compile the training step with XLA: auto (long runs) | always | never

    def validate(self, key: str) -> None:
        _require(self.preset in PRESETS, f"{key}.preset",
                 f"must be one of {', '.join(PRESETS)} (formerly ours and seed)")
        _require(self.loss in LOSSES, f"{key}.loss", f"must be one of {', '.join(LOSSES)}")
        _require(self.schedule in ("cosine", "constant"), f"{key}.schedule",
                 "must be cosine or constant")
        _require(self.huber_delta > 0, f"{key}.huber_delta", "must be > 0")
        _require(self.learning_rate > 0, f"{key}.learning_rate", "must be > 0")
        _require(self.batch_size >= 1, f"{key}.batch_size", "must be ≥ 1")
        _require(self.epochs >= 1, f"{key}.epochs", "must be ≥ 1")
        _require(self.steps_per_epoch is None or self.steps_per_epoch >= 1,
                 f"{key}.steps_per_epoch", "must be ≥ 1 or null")
        _require(self.train_samples is None or self.train_samples >= 1,
                 f"{key}.train_samples", "must be ≥ 1 or null")
        _require(self.validation_samples is None or self.validation_samples >= 1,
                 f"{key}.validation_samples", "must be ≥ 1 or null")
        _require(self.patience >= 0, f"{key}.patience", "must be ≥ 0")
        _require(self.seed >= 0, f"{key}.seed", "must be ≥ 0")
        _require(self.width >= 1, f"{key}.width", "must be ≥ 1")
        _require(self.conv_channels >= 0, f"{key}.conv_channels", "must be ≥ 0")
        _require(self.xla in XLA_MODES, f"{key}.xla", f"must be one of {', '.join(XLA_MODES)}")


def _model_defaults(**values):
    return dataclasses.field(default_factory=lambda: ModelTrainConfig(**values))


@dataclasses.dataclass
class TrainConfig:
    dnn: ModelTrainConfig = _model_defaults(epochs=2)
    cnn: ModelTrainConfig = _model_defaults(epochs=2)
    rnn: ModelTrainConfig = _model_defaults(epochs=4, conv_channels=0)
    crnn: ModelTrainConfig = _model_defaults(epochs=3)

    def model(self, name: str) -> ModelTrainConfig:
        return getattr(self, name)

    def validate(self) -> None:
        for name in MODEL_NAMES:
            self.model(name).validate(f"train.{name}")


@dataclasses.dataclass
class EvaluateConfig:
    """A second, independently seeded store: do the models generalise beyond their seed?"""

    holdout_seed: int = 7777
    holdout_samples: int = 4000

    def validate(self) -> None:
        _require(self.holdout_seed >= 0, "evaluate.holdout_seed", "must be ≥ 0")
        _require(self.holdout_samples >= 1, "evaluate.holdout_samples", "must be ≥ 1")


@dataclasses.dataclass
class Params:
    physics: PhysicsConfig = dataclasses.field(default_factory=PhysicsConfig)
    generate: GenerateConfig = dataclasses.field(default_factory=GenerateConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = dataclasses.field(default_factory=EvaluateConfig)

    def validate(self) -> None:
        _require_finite(self)
        self.physics.validate()
        self.generate.validate()
        self.train.validate()
        self.evaluate.validate()

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(dataclasses.asdict(self))


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key} {message}")


def _require_finite(config: Any, prefix: str = "") -> None:
    """NaN and ±inf pass every comparison-free check and fail much later: refuse them here."""
    for field in dataclasses.fields(config):
        value, key = getattr(config, field.name), f"{prefix}{field.name}"
        if dataclasses.is_dataclass(value):
            _require_finite(value, f"{key}.")
        for item in value if isinstance(value, tuple) else (value,):
            _require(not isinstance(item, float) or math.isfinite(item), key,
                     f"must be a finite number, got {item}")


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value


def _schema() -> DictConfig:
    """The typed tree every params file is merged into (writable: OmegaConf marks nothing
    read-only for non-frozen dataclasses)."""
    return OmegaConf.structured(Params)


def _merge(base: DictConfig, update: DictConfig, source: str) -> DictConfig:
    """Merge ``update`` into ``base``; errors name the key and where it came from."""
    try:
        return OmegaConf.merge(base, update)
    except ConfigKeyError as exc:
        key = str(exc.full_key or "")
        parent = key.rpartition(".")[0]
        valid = OmegaConf.select(base, parent) if parent else base
        names = ", ".join(sorted(valid.keys())) if isinstance(valid, DictConfig) else ""
        raise ConfigError(f"{source}: unknown key {key}; valid keys here: {names}") from None
    except OmegaConfBaseException as exc:
        reason = str(exc).splitlines()[0].replace("Merge error: ", "")
        where = f"{exc.full_key}: " if exc.full_key else ""
        raise ConfigError(f"{source}: {where}{reason}") from None


def _finish(config: DictConfig) -> Params:
    params = OmegaConf.to_object(config)
    params.validate()
    return params


def params_from_dict(raw: Mapping[str, Any], source: str = "params") -> Params:
    """Build and validate Params from plain data (a shard's or manifest's params)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: must be a mapping with sections {', '.join(SECTIONS)}")
    return _finish(_merge(_schema(), OmegaConf.create(dict(raw)), source))


def read_params_file(path: Path) -> DictConfig:
    """The params file as an untyped tree; ConfigError naming the file if unreadable."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found; pass --params FILE") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a params file; pass --params FILE") \
            from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read params file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") \
            from None
    try:
        raw = OmegaConf.create(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, DictConfig) or not raw:
        raise ConfigError(f"{path}: must hold a mapping of sections ({', '.join(SECTIONS)}); "
                          f"see the repository's params.yaml")
    return raw


def overrides_tree(overrides: tuple[str, ...] | list[str]) -> DictConfig:
    """``KEY=VALUE`` overrides (``dvc exp run --set-param`` syntax; VALUE is YAML)."""
    for item in overrides:
        key, sep, _ = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. generate.n_samples=5000")
    try:
        return OmegaConf.from_dotlist(list(overrides))
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set: a value is not valid YAML ({str(exc).splitlines()[0]})") \
            from None


def load_params(path: Path = DEFAULT_PARAMS, overrides: tuple[str, ...] = ()) -> Params:
    """The one entry point: read params.yaml, apply --set overrides, validate."""
    config = _merge(_schema(), read_params_file(path), str(path))
    for item in overrides:
        config = _merge(config, overrides_tree([item]), f"--set {item}")
    return _finish(config)
