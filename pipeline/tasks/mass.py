"""``mass``: the report's task — one particle of unknown mass in a static trapped field.

Its samples are made by :mod:`pipeline.physics.sample` (the report's physics, §2.1), and
its shards are those of every store made before tasks existed, byte for byte: a ``mass``
store records neither ``physics.task`` nor another task's keys.
"""

from __future__ import annotations

from ..physics.sample import make_samples
from .base import MASS, Task


class Mass(Task):
    name = "mass"
    summary = "the report's task: a = −∇φ/m in a static field; hidden m"
    parameters = (MASS,)

    def make_samples(self, rngs, physics, store_full_potential=False):
        return make_samples(rngs, physics, store_full_potential)
