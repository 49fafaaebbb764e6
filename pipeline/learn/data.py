"""tf.data pipelines over the shards of one split, in the two views the models take.

Feed-forward models (DNN, CNN) get (32, 32, 2) = [ψ, Σₜ encodingₜ]; recurrent models
(RNN, CRNN) get (T, 32, 32, 2) = [ψ, encodingₜ] per time step (report figure 5).
ψ is standardised with the train split's statistics (stats.json).

h5py serialises threads and its handles do not survive a fork, so every reader opens
its own file inside the generator; shards are read in blocks and interleaved.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import tensorflow as tf

from ..errors import DataError
from ..store.manifest import read_stats
from ..store.reader import read_blocks, store_files

FEED_FORWARD, RECURRENT = "feed_forward", "recurrent"


@dataclasses.dataclass(frozen=True)
class Normaliser:
    """ψ → (ψ − mean) / std, with the train split's statistics."""

    mean: float
    std: float

    @classmethod
    def from_store(cls, directory: Path) -> "Normaliser":
        stats = read_stats(directory)["potential"]
        return cls(mean=float(stats["mean"]), std=float(stats["std"]) or 1.0)


def make_view(potential, encoding, normaliser: Normaliser, view: str):
    """Model input from raw ψ (…, G, G) and encodings (…, T, G, G), in NumPy or TensorFlow."""
    psi = (tf.cast(potential, tf.float32) - normaliser.mean) / normaliser.std
    encoding = tf.cast(encoding, tf.float32)
    if view == FEED_FORWARD:
        return tf.stack([psi, tf.reduce_sum(encoding, axis=-3)], axis=-1)
    steps = tf.shape(encoding)[-3]
    psi_steps = tf.repeat(tf.expand_dims(psi, -3), steps, axis=-3)
    return tf.stack([psi_steps, encoding], axis=-1)


def _block_dataset(files: list[str], grid: int, steps: int, parallel: int) -> tf.data.Dataset:
    """Blocks from ``parallel`` shards at a time, interleaved (1: strictly in file order)."""
    signature = (tf.TensorSpec((None, grid, grid), tf.float32),
                 tf.TensorSpec((None, steps, grid, grid), tf.float32),
                 tf.TensorSpec((None,), tf.float64))
    paths = tf.data.Dataset.from_tensor_slices(files)
    return paths.interleave(
        lambda path: tf.data.Dataset.from_generator(read_blocks, args=(path,),
                                                    output_signature=signature),
        cycle_length=min(parallel, len(files)), block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def split_dataset(directory: Path, split: str, view: str, batch_size: int, *,
                  shuffle_seed: int | None = None, normaliser: Normaliser | None = None,
                  repeat: bool = False) -> tf.data.Dataset:
    """Batches of (input view, mass) over one split's shards (see :func:`files_dataset`)."""
    files = [str(path) for path in store_files(directory, split)]
    return files_dataset(files, view, batch_size, normaliser or Normaliser.from_store(directory),
                         shuffle_seed=shuffle_seed, repeat=repeat)


def _shapes(path: str) -> tuple[int, int]:
    try:
        with h5py.File(path, "r") as h5:
            return h5["encoding"].shape[-1], h5["encoding"].shape[1]
    except (OSError, KeyError):
        raise DataError(f"{path}: not a readable shard with an encoding dataset; "
                        f"check it with `massfield inspect --verify`") from None


def files_dataset(files: list[str], view: str, batch_size: int, normaliser: Normaliser, *,
                  shuffle_seed: int | None = None, repeat: bool = False,
                  shuffle_buffer: int = 2048) -> tf.data.Dataset:
    """Batches of (input view, mass) over shard files.

    With ``shuffle_seed``, the shard order and samples are shuffled (seeded, reshuffled
    every epoch); without it, samples come in file order, for evaluation.
    """
    grid, steps = _shapes(files[0])
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(files))
        files = [files[i] for i in order]
    data = _block_dataset(files, grid, steps, 4 if shuffle_seed is not None else 1).unbatch()
    if shuffle_seed is not None:
        data = data.shuffle(shuffle_buffer, seed=shuffle_seed, reshuffle_each_iteration=True)
    if repeat:
        data = data.repeat()
    data = data.batch(batch_size, drop_remainder=repeat)
    data = data.map(lambda psi, enc, mass: (make_view(psi, enc, normaliser, view),
                                            tf.cast(mass, tf.float32)),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return data.prefetch(tf.data.AUTOTUNE)
