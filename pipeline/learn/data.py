"""tf.data pipelines over the shards of one split, in the two views the models take.

Feed-forward models (DNN, CNN) get (32, 32, 2) = [ψ, Σₜ encodingₜ]; recurrent models
(RNN, CRNN) get (T, 32, 32, 2) = [ψ, encodingₜ] per time step (report figure 5). A task's
own observed fields follow as further channels (docs/tasks.md): a field of one snapshot
(χ̄) as one channel, repeated at every step for recurrent models; a field per kept step
(ψ_t) as that step's channel, or as T channels for feed-forward models. The target is the
mass, (batch,), or for a task of P hidden parameters (batch, P) in the task's order.
ψ comes as stored: the model standardises it itself (:class:`Normaliser`, saved inside
the model), so whoever feeds a saved model gives it raw values.

h5py serialises threads and its handles do not survive a fork, so every reader opens
its own file inside the generator. A shard's ψ, kept positions and masses are read whole
(9 MB), and the encodings are rebuilt from the positions, identical to the stored ones
(:mod:`.fourwarm`): inflating the stored 40 KB per sample took CPU time that a training
step on a 2-core machine could not spare (benchmarks/loader_speed). Samples within and
across shards are independent draws, so a seeded shard order, a seeded order within each
shard and the interleave of four shards make a full shuffle.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..store.manifest import read_stats
from ..store.reader import OBSERVED_FIELDS, read_shard, shard_layout, store_files
from .fourwarm import four_warm
from .physics_fit import FEATURES, PhysicsFit

FEED_FORWARD, RECURRENT = "feed_forward", "recurrent"


@dataclasses.dataclass(frozen=True)
class Normaliser:
    """ψ → (ψ − mean) / std, with the train split's statistics: the constants a model's
    first layer standardises ψ with (:class:`~pipeline.learn.layers.StandardisePotential`)."""

    mean: float
    std: float

    @classmethod
    def from_store(cls, directory: Path) -> Normaliser:
        return cls.from_statistics(read_stats(directory))

    @classmethod
    def from_statistics(cls, statistics: dict) -> Normaliser:
        """From a store's train statistics (``Store.statistics``)."""
        stats = statistics["potential"]
        return cls(mean=float(stats["mean"]), std=float(stats["std"]) or 1.0)


def make_view(potential, encoding, view: str, extras=()):
    """Model input from raw ψ (…, G, G), encodings (…, T, G, G) and a task's observed
    fields (each (…, G, G) or (…, T, G, G)), in NumPy or TensorFlow."""
    psi = tf.cast(potential, tf.float32)
    encoding = tf.cast(encoding, tf.float32)
    extras = [tf.cast(field, tf.float32) for field in extras]
    if view == FEED_FORWARD:
        channels = [psi, tf.reduce_sum(encoding, axis=-3)]
        for field in extras:
            channels += [field] if field.shape.rank == psi.shape.rank else tf.unstack(
                field, axis=-3)
        return tf.stack(channels, axis=-1)
    # ψ is the same at every step: broadcast it (tf.repeat gathers; 5.6 → 3.6 ms per 64)
    def steps(field):
        if field.shape.rank == encoding.shape.rank:
            return field
        return tf.broadcast_to(tf.expand_dims(field, -3), tf.shape(encoding))

    return tf.stack([steps(psi), encoding, *(steps(field) for field in extras)], axis=-1)


def view_builder(view: str, downsample: int, grid: int, compiled: bool = True):
    """(raw ψ, kept positions, task fields…) → model input view, as one TensorFlow function.

    Compiled by XLA into one pass over the view; without XLA each kernel writes its own
    full-size intermediate (benchmarks/loader_speed times both).
    """
    @tf.function(jit_compile=compiled)
    def build(potential, positions, *extras):
        return make_view(potential, four_warm(positions, downsample, grid), view, extras)

    return build


MIX_BLOCK = 64  # samples taken from one shard before the interleave moves to the next
MIXED_SHARDS = 4  # shards open at once and interleaved during training


def _shard_schedule(files: list[str], shuffle_seed: int | None, repeat: bool):
    """(shard, seed) per shard visited: each pass in a new seeded shard order, each visit
    with a new seed for the order of its samples (−1: file order)."""
    for epoch in itertools.count() if repeat else range(1):
        if shuffle_seed is None:
            yield from ((path, -1) for path in files)
            continue
        rng = np.random.default_rng([shuffle_seed, epoch])
        for index in rng.permutation(len(files)):
            yield files[index], int(rng.integers(2**31))


def _shard_blocks(path, seed, fits=None, extras=(), targets=("mass",)):
    """One shard's ψ, kept positions, the task's ``extras`` fields[, physics-fit features]
    and targets, read whole, in blocks of MIX_BLOCK."""
    potential, positions, *fields = read_shard(path, OBSERVED_FIELDS[:2] + extras + targets)
    fields, target = fields[:len(extras)], fields[len(extras):]
    target = (target[0] if len(target) == 1 else np.stack(target, axis=1)).astype(np.float32)
    arrays = ((potential.astype(np.float32), positions)
              + tuple(field.astype(np.float32) for field in fields)
              + ((fits[os.fsdecode(path)],) if fits else ()) + (target,))
    order = (np.random.default_rng(seed).permutation(len(target)) if seed >= 0
             else np.arange(len(target)))
    for start in range(0, len(target), MIX_BLOCK):
        rows = order[start:start + MIX_BLOCK]
        yield tuple(values[rows] for values in arrays)


def split_dataset(directory: Path, split: str, view: str, batch_size: int, *,
                  shuffle_seed: int | None = None, repeat: bool = False,
                  fit: PhysicsFit | None = None) -> tf.data.Dataset:
    """Batches of (input view, target) over one split's shards (see :func:`files_dataset`)."""
    files = [str(path) for path in store_files(directory, split)]
    return files_dataset(files, view, batch_size, shuffle_seed=shuffle_seed, repeat=repeat,
                         fit=fit)


def files_dataset(files: list[str], view: str, batch_size: int, *,
                  shuffle_seed: int | None = None, repeat: bool = False,
                  fit: PhysicsFit | None = None,
                  features: dict[str, np.ndarray] | None = None) -> tf.data.Dataset:
    """Batches of (input view, mass) over shard files; with ``fit``, of ((view, physics-fit
    features), mass), the features computed here for every shard before the first batch,
    unless given (``features``: :meth:`PhysicsFit.shard_features` of these files or more,
    for callers that read the same shards with the same fit twice).

    With ``shuffle_seed``, every pass visits the shards in a new seeded order, four at a
    time, each shard's samples in a new seeded order; without it, in file order.
    """
    grid, steps, downsample, task = shard_layout(files[0])
    extras = task.observed_fields[1:]
    fits = features if features is not None or fit is None else fit.shard_features(files)
    signature = (tf.TensorSpec((None, grid, grid), tf.float32),
                 tf.TensorSpec((None, steps, 2), tf.float64),
                 *(tf.TensorSpec((None, *shape), tf.float32)
                   for shape in task.observed_shapes(grid, steps)),
                 *([tf.TensorSpec((None, FEATURES), tf.float32)] if fits else []),
                 tf.TensorSpec((None,) if len(task.parameters) == 1
                               else (None, len(task.parameters)), tf.float32))
    schedule = tf.data.Dataset.from_generator(
        lambda: _shard_schedule(files, shuffle_seed, repeat),
        output_signature=(tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int64)))
    cycle = min(MIXED_SHARDS, len(files)) if shuffle_seed is not None else 1
    # Shards are interleaved a block at a time and rebatch cuts exact batches from the
    # blocks: per-sample tf.data ops, or parallel Python readers contending for the GIL,
    # cost more than a 2-core machine can spare beside the step (benchmarks/loader_speed).
    # Encodings are built from the positions by TensorFlow in its own threads, outside
    # the GIL; the final prefetch overlaps all of it with training.
    data = schedule.interleave(
        lambda path, seed: tf.data.Dataset.from_generator(
            functools.partial(_shard_blocks, fits=fits, extras=extras,
                              targets=task.parameter_names), args=(path, seed),
            output_signature=signature),
        cycle_length=cycle, block_length=1)  # sequential: one reader, deterministic
    data = data.rebatch(batch_size, drop_remainder=repeat)
    encode = view_builder(view, downsample, grid)
    n = len(extras)
    if fits:
        data = data.map(lambda psi, positions, *rest:
                        ((encode(psi, positions, *rest[:n]), rest[n]), rest[n + 1]),
                        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        data = data.map(lambda psi, positions, *rest: (encode(psi, positions, *rest[:n]),
                                                       rest[n]),
                        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # A private pool, one thread per op: TensorFlow's default lets the loader spread
    # over every core, and a 2-core training step then waits on its busiest thread.
    options = tf.data.Options()
    options.threading.private_threadpool_size = max(2, (os.cpu_count() or 2) // 2)
    options.threading.max_intra_op_parallelism = 1
    return data.prefetch(tf.data.AUTOTUNE).with_options(options)
