"""tf.data pipelines over the shards of one split, in the two views the models take.

Feed-forward models (DNN, CNN) get (32, 32, 2) = [ψ, Σₜ encodingₜ]; recurrent models
(RNN, CRNN) get (T, 32, 32, 2) = [ψ, encodingₜ] per time step (report figure 5). A task's
own observed fields follow as further channels (docs/tasks.md): a field of one snapshot
(χ̄) as one channel, repeated at every step for recurrent models; a field per kept step
(ψ_t) as that step's channel, or as T channels for feed-forward models. The target is the
mass, (batch,), or for a task of P hidden parameters (batch, P) in the task's order.
ψ comes as stored: the model standardises it itself (the reader core's ``Normaliser``,
saved inside the model), so whoever feeds a saved model gives it raw values.

Samples come in the order of the reader core (:mod:`pipeline.readers.order`), the one the
NumPy and PyTorch readers follow: with a seed, each pass a new seeded order of the shards,
four at a time, their samples shuffled together; without, file order. A shard's ψ, kept
positions and targets are read whole (9 MB), and the encodings are rebuilt from the
positions, identical to the stored ones (:mod:`.fourwarm`): inflating the stored 40 KB
per sample took CPU time that a training step on a 2-core machine could not spare
(benchmarks/loader_speed).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..readers.order import pass_rows
from ..store.reader import OBSERVED_FIELDS, read_shard, shard_layout
from ..store.store import Store
from .fourwarm import four_warm
from .physics_fit import FEATURES, PhysicsFit

FEED_FORWARD, RECURRENT = "feed_forward", "recurrent"


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


def split_dataset(store: Store | Path | str, split: str, view: str, batch_size: int, *,
                  shuffle_seed: int | None = None, repeat: bool = False,
                  fit: PhysicsFit | None = None) -> tf.data.Dataset:
    """Batches of (input view, target) over one split of a store (an open :class:`Store`, a
    directory or a URL; see :func:`files_dataset`)."""
    store = store if isinstance(store, Store) else Store.open(store)
    files = [str(path) for path in store.files(split)]
    sizes = [entry.n_samples for entry in store.entries(split)]
    return files_dataset(files, view, batch_size, sizes=sizes, shuffle_seed=shuffle_seed,
                         repeat=repeat, fit=fit)


def files_dataset(files: list[str], view: str, batch_size: int, *,
                  sizes: list[int] | None = None, shuffle_seed: int | None = None,
                  repeat: bool = False, fit: PhysicsFit | None = None,
                  features: dict[str, np.ndarray] | None = None) -> tf.data.Dataset:
    """Batches of (input view, target) over shard files; with ``fit``, of ((view,
    physics-fit features), target), the features computed here for every shard before the
    first batch, unless given (``features``: :meth:`PhysicsFit.shard_features` of these
    files or more, for callers that read the same shards with the same fit twice).

    With ``shuffle_seed`` (and the files' ``sizes``, samples per shard), every pass follows
    a new seeded order of the reader core; without it, file order.
    """
    if shuffle_seed is not None and sizes is None:
        raise ValueError("a shuffled dataset needs the samples per shard (sizes)")
    grid, steps, downsample, task = shard_layout(files[0])
    extras = task.observed_fields[1:]
    fits = features if features is not None or fit is None else fit.shard_features(files)
    names = OBSERVED_FIELDS[:2] + extras + task.parameter_names
    signature = (tf.TensorSpec((None, grid, grid), tf.float32),
                 tf.TensorSpec((None, steps, 2), tf.float64),
                 *(tf.TensorSpec((None, *shape), tf.float32)
                   for shape in task.observed_shapes(grid, steps)),
                 *([tf.TensorSpec((None, FEATURES), tf.float32)] if fits else []),
                 tf.TensorSpec((None,) if len(task.parameters) == 1
                               else (None, len(task.parameters)), tf.float32))

    def load(f: int) -> dict[str, np.ndarray]:
        arrays = dict(zip(names, read_shard(files[f], names), strict=True))
        if fits:
            arrays["features"] = fits[os.fsdecode(files[f])]
        return arrays

    def slices():
        """Rows in the core's order: each block (a group of shards, or one shard) gathered
        once, then handed over a batch's worth at a time (views of the block)."""
        for epoch in itertools.count() if repeat else range(1):
            for rows in pass_rows(load, sizes or [0] * len(files), shuffle_seed, epoch):
                targets = [rows[name] for name in task.parameter_names]
                block = (rows["potential"].astype(np.float32), rows["positions"],
                         *(rows[name].astype(np.float32) for name in extras),
                         *((rows["features"],) if fits else ()),
                         (targets[0] if len(targets) == 1
                          else np.stack(targets, axis=1)).astype(np.float32))
                for start in range(0, len(block[-1]), batch_size):
                    yield tuple(values[start:start + batch_size] for values in block)

    # Slices of a batch enter tf.data (a block as one element would hold a third copy of
    # it) and rebatch joins a block's short last slice to the next block's: per-sample
    # tf.data ops, or parallel Python readers contending for the GIL, cost more than a
    # 2-core machine can spare beside the step (benchmarks/loader_speed). Encodings are
    # built from the positions by TensorFlow in its own threads, outside the GIL; the
    # final prefetch overlaps all of it with training.
    data = tf.data.Dataset.from_generator(slices, output_signature=signature)
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
    # No autotuning: its optimisation thread made `fit` wait up to 40 s for it when the
    # iterator was let go, and some epochs run at half speed (RNN, 4 epochs: 41-85 s with
    # it, 41-47 s without; same batches, deterministic order)
    options.autotune.enabled = False
    return data.prefetch(tf.data.AUTOTUNE).with_options(options)
