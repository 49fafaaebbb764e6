"""params.yaml → typed, validated, frozen objects.

Configuration enters the program once, here, and is passed down. Every check
names the offending key (``physics.mass_low``) so that a user can fix the file
or the ``--set`` override without reading code.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml

from .errors import ConfigError

DEFAULT_PARAMS = Path("params.yaml")


@dataclasses.dataclass(frozen=True)
class PhysicsConfig:
    """How one sample is made (report §2.1, §3.1). Lengths are in pixels of the fine grid."""

    size: int = 256  # fine grid, pixels per side; covers one noise unit
    downsample: int = 8  # k of equation 2: psi is (size/k)²
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
        _require(self.size // max(self.downsample, 1) >= 2, "physics.downsample",
                 "must leave a coarse grid of at least 2 × 2")
        _require(
            self.size % self.downsample == 0,
            "physics.size",
            f"({self.size}) must be divisible by physics.downsample ({self.downsample})",
        )
        _require(self.octaves >= 1, "physics.octaves", "must be ≥ 1")
        _require(self.persistence > 0, "physics.persistence", "must be > 0")
        _require(self.lacunarity > 0, "physics.lacunarity", "must be > 0")
        _require(self.repeat >= 1, "physics.repeat", "must be ≥ 1")
        _require(0 <= self.base <= 255, "physics.base", "must be in 0…255")
        _require(self.offset_high > 0, "physics.offset_high", "must be > 0")
        _require(self.trap_flatness > 0, "physics.trap_flatness", "must be > 0")
        _require(
            0 < self.mass_low < self.mass_high,
            "physics.mass_low",
            f"and physics.mass_high must satisfy 0 < mass_low < mass_high "
            f"(got {self.mass_low}, {self.mass_high})",
        )
        _require(self.n_positions >= 2, "physics.n_positions", "must be ≥ 2")
        _require(self.time_steps >= 1, "physics.time_steps", "must be ≥ 1")
        _require(self.stride >= 1, "physics.stride", "must be ≥ 1")
        _require(
            self.stride * (self.time_steps - 1) < self.n_positions,
            "physics.stride",
            f"× (time_steps − 1) = {self.stride * (self.time_steps - 1)} lies beyond the "
            f"trajectory (physics.n_positions = {self.n_positions})",
        )
        x, y = self.start_position
        _require(
            0 <= x < self.size and 0 <= y < self.size,
            "physics.start",
            f"must lie inside the grid [0, {self.size})",
        )
        _require(self.max_redraws >= 0, "physics.max_redraws", "must be ≥ 0")


@dataclasses.dataclass(frozen=True)
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


@dataclasses.dataclass(frozen=True)
class GenerateConfig:
    """How many samples, in which shards, from which seed."""

    seed: int = 2020
    n_samples: int = 20000
    shard_size: int = 1000
    splits: SplitFractions = SplitFractions()
    store_full_potential: bool = False
    compression_level: int = 1  # gzip level of every dataset (0 = none)

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
PRESETS = ("ours", "seed")
LOSSES = ("gaussian", "huber", "mse", "mape")
XLA_MODES = ("auto", "always", "never")


@dataclasses.dataclass(frozen=True)
class ModelTrainConfig:
    """How one model is built and trained (``train.<model>`` in params.yaml)."""

    preset: str = "ours"  # "ours": accurate and cheap; "seed": the report's architecture
    loss: str = "gaussian"  # gaussian (NLL, predicts σ too) | huber | mse | mape
    huber_delta: float = 0.3
    learning_rate: float = 0.003
    schedule: str = "cosine"  # cosine decay over the run, or constant
    batch_size: int = 64
    epochs: int = 10
    steps_per_epoch: int | None = None  # None: one pass over the train split per epoch
    patience: int = 3  # early stopping on validation loss, in epochs; 0 = off
    seed: int = 0
    loss_every_step: bool = False  # recurrent: a loss after every time step (report §2.2.3)
    width: int = 64  # hidden units of our presets
    conv_channels: int = 8  # learned field filters of our presets (0 = none)
    xla: str = "auto"  # compile the training step with XLA: auto (long runs) | always | never

    def validate(self, key: str) -> None:
        _require(self.preset in PRESETS, f"{key}.preset", f"must be one of {', '.join(PRESETS)}")
        _require(self.loss in LOSSES, f"{key}.loss", f"must be one of {', '.join(LOSSES)}")
        _require(self.schedule in ("cosine", "constant"), f"{key}.schedule",
                 "must be cosine or constant")
        _require(self.huber_delta > 0, f"{key}.huber_delta", "must be > 0")
        _require(self.learning_rate > 0, f"{key}.learning_rate", "must be > 0")
        _require(self.batch_size >= 1, f"{key}.batch_size", "must be ≥ 1")
        _require(self.epochs >= 1, f"{key}.epochs", "must be ≥ 1")
        _require(self.steps_per_epoch is None or self.steps_per_epoch >= 1,
                 f"{key}.steps_per_epoch", "must be ≥ 1 or null")
        _require(self.patience >= 0, f"{key}.patience", "must be ≥ 0")
        _require(self.width >= 1, f"{key}.width", "must be ≥ 1")
        _require(self.conv_channels >= 0, f"{key}.conv_channels", "must be ≥ 0")
        _require(self.xla in XLA_MODES, f"{key}.xla", f"must be one of {', '.join(XLA_MODES)}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    dnn: ModelTrainConfig = ModelTrainConfig()
    cnn: ModelTrainConfig = ModelTrainConfig()
    rnn: ModelTrainConfig = ModelTrainConfig()
    crnn: ModelTrainConfig = ModelTrainConfig()

    def model(self, name: str) -> ModelTrainConfig:
        return getattr(self, name)

    def validate(self) -> None:
        for name in MODEL_NAMES:
            self.model(name).validate(f"train.{name}")


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
    """A second, independently seeded store: do the models generalise beyond their seed?"""

    holdout_seed: int = 7777
    holdout_samples: int = 4000

    def validate(self) -> None:
        _require(self.holdout_seed >= 0, "evaluate.holdout_seed", "must be ≥ 0")
        _require(self.holdout_samples >= 1, "evaluate.holdout_samples", "must be ≥ 1")


@dataclasses.dataclass(frozen=True)
class Params:
    physics: PhysicsConfig = PhysicsConfig()
    generate: GenerateConfig = GenerateConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()

    def validate(self) -> None:
        self.physics.validate()
        self.generate.validate()
        self.train.validate()
        self.evaluate.validate()

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(dataclasses.asdict(self))


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key} {message}")


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Check ``value`` against a field annotation, converting ints to floats and lists to tuples."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        inner = [a for a in options if a is not type(None)]
        return _coerce(value, inner[0], key)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a mapping of keys to values, got {value!r}")
        return _build(annotation, value, key)
    if origin is tuple:
        args = typing.get_args(annotation)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"{key} must be a list of {len(args)} numbers, got {value!r}")
        return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    return value


def _build(cls: type, mapping: Mapping[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in mapping:
        if key not in names:
            where = f"{prefix}.{key}" if prefix else key
            raise ConfigError(f"unknown key {where}; valid keys here: {', '.join(sorted(names))}")
    values = {
        name: _coerce(mapping[name], hints[name], f"{prefix}.{name}" if prefix else name)
        for name in names
        if name in mapping
    }
    return cls(**values)


def params_from_dict(raw: Mapping[str, Any]) -> Params:
    """Build and validate Params; missing keys take the defaults above."""
    if not isinstance(raw, Mapping):
        raise ConfigError("params must be a mapping with sections physics, generate, …")
    params = _build(Params, raw)
    params.validate()
    return params


def read_params_file(path: Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found; pass --params FILE") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read params file ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must hold a mapping of sections (physics, generate, …)")
    return raw


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``KEY=VALUE`` overrides (``dvc exp run --set-param`` syntax); VALUE is YAML."""
    import copy

    result = copy.deepcopy(raw)
    defaults = Params().to_dict()
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. generate.n_samples=5000")
        parts = key.split(".")
        known = defaults
        for part in parts[:-1]:
            if not isinstance(known, dict) or part not in known:
                raise ConfigError(f"--set {key}: unknown key; see params.yaml for valid keys")
            known = known[part]
        if not isinstance(known, dict) or parts[-1] not in known:
            raise ConfigError(f"--set {key}: unknown key; see params.yaml for valid keys")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part} is not a section")
        node[parts[-1]] = value
    return result


def load_params(path: Path = DEFAULT_PARAMS, overrides: tuple[str, ...] = ()) -> Params:
    """The one entry point: read params.yaml, apply --set overrides, validate."""
    return params_from_dict(apply_overrides(read_params_file(path), list(overrides)))
