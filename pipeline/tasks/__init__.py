"""The family of inference tasks: ``physics.task`` chooses one (docs/tasks/).

A task is one module: its hidden parameters and priors, its physics, what the models see
(:class:`~pipeline.tasks.base.Task`). To add one, write the module and list it here.
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import Task
from .mass import Mass
from .mass_charge import MassCharge
from .mass_drag import MassDrag
from .moving_field import MovingField

TASKS: dict[str, Task] = {task.name: task for task in (Mass(), MassCharge(), MassDrag(),
                                                       MovingField())}
DEFAULT = "mass"


def task_named(name: str) -> Task:
    """The task of that name, or one line listing the names there are."""
    if name not in TASKS:
        raise ConfigError(f"physics.task {name!r} is not a task; choose one of "
                          f"{', '.join(TASKS)}")
    return TASKS[name]


def task_of(physics) -> Task:
    return task_named(physics.task)


def make_samples(rngs, physics, store_full_potential: bool = False):
    """One sample per stream, of the task ``physics.task`` names."""
    return task_of(physics).make_samples(rngs, physics, store_full_potential)


def recorded_physics(physics: dict) -> dict:
    """The physics keys a store records: another task's keys never, ``task`` only when it
    is not ``mass`` and ``position_noise_high`` only when set — so a store of the default
    physics is byte for byte what it was before tasks and noise ranges."""
    task = physics.get("task", DEFAULT)
    foreign = {key for other in TASKS.values() if other.name != task for key in other.keys}
    skip = foreign | ({"task"} if task == DEFAULT else set()) \
        | ({"position_noise_high"} if physics.get("position_noise_high") is None else set())
    return {key: value for key, value in physics.items() if key not in skip}
