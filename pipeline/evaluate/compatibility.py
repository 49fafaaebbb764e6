"""Which store a model may be scored on: the one whose physics it was trained on.

A model's history records the physics of its training store. Keys that fix the input's
shape or meaning or the target's range (grid, snapshots, start, mass range) must match
always: a network given them would return garbage without a word, or a Keras traceback.
The other physics keys change the distribution of fields; scoring across them is a
distribution-shift experiment, allowed only when asked for (``--allow-shift``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import PhysicsConfig, params_from_dict
from ..errors import DataError
from ..store.reader import shard_params
from ..store.store import Store

if TYPE_CHECKING:
    from ..learn.record import TrainingRecord

LAYOUT_KEYS = ("task", "size", "downsample", "time_steps", "stride", "start", "start_velocity",
               "mass_low", "mass_high")


def _physics(raw: dict, source: str) -> PhysicsConfig:
    return _parsed(json.dumps(raw, sort_keys=True), source)


@functools.lru_cache(maxsize=16)
def _parsed(raw: str, source: str) -> PhysicsConfig:
    """Parsed once per process: checking seven models against two stores parsed the same
    two physics 28 times, 4 s of 0.16 s each."""
    return params_from_dict({"physics": json.loads(raw)}, source).physics


def _comparable(physics: PhysicsConfig) -> dict:
    values = {key: getattr(physics, key) for key in PhysicsConfig.__dataclass_fields__
              if key != "max_redraws"}  # how long to retry escapes: no physics
    values["start"] = physics.start_position  # null means the centre: compare positions
    return values


def evaluation_params(files: list[Path], store: Store | None = None) -> dict:
    """The generation params of the shards to score: the store's (``store``, already open),
    or those every loose file records alike."""
    if store is not None:
        return store.manifest["params"]
    found = {str(path): shard_params(path) for path in files}
    first = next(iter(found.values()))
    for path, params in found.items():
        if params["physics"] != first["physics"]:
            raise DataError(f"{path}: made with other physics than {files[0]}; score shards of "
                            f"one physics at a time")
    return first


NOISE_KEYS = ("position_noise", "position_noise_high")


def noise_inside(trained: PhysicsConfig, given: PhysicsConfig) -> bool:
    """Whether a model trained on a range of position σ meets σ inside it: no shift."""
    low, high = trained.position_noise_range
    given_low, given_high = given.position_noise_range
    return trained.position_noise_drawn and low <= given_low and given_high <= high


def physics_differences(trained: dict, given: dict) -> list[tuple[str, object, object]]:
    """(key, trained value, given value) for every physics key that differs (the position
    noise not, where the store's σ lies inside the range the model was trained on)."""
    trained_physics = _physics(trained, "the model's training store")
    given_physics = _physics(given, "the store to score")
    a, b = _comparable(trained_physics), _comparable(given_physics)
    same = NOISE_KEYS if noise_inside(trained_physics, given_physics) else ()
    return [(key, a[key], b[key]) for key in a if a[key] != b[key] and key not in same]


def check_compatible(model_path: Path, history: TrainingRecord, given: dict, location: Path,
                     allow_shift: bool = False) -> None:
    """DataError naming the keys and both values if ``model_path`` must not score ``given``."""
    differences = physics_differences(history.store.params["physics"], given["physics"])
    layout = [d for d in differences if d[0] in LAYOUT_KEYS]
    refused = layout if allow_shift else differences
    if not refused:
        return
    listed = ", ".join(f"physics.{key} {a} (trained) vs {b}" for key, a, b in refused[:4])
    hint = ("" if layout or allow_shift else
            "; pass --allow-shift to score it anyway (a distribution-shift experiment)")
    raise DataError(f"{model_path}: trained on other physics than {location}: {listed}; "
                    f"score it on a store of its physics or retrain it on this one{hint}")
