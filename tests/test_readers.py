"""The Python API and the framework-neutral readers, on real shards: `import massfield`,
NumPy batches shuffled across checked shards, and a real PyTorch DataLoader that yields
exactly the NumPy iterator's samples under fork and spawn."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import massfield
from pipeline.errors import DataError
from pipeline.readers.order import Normaliser, epoch_blocks, epoch_order
from pipeline.store.reader import read_arrays, store_files


def test_a_store_opens_once_with_its_params_splits_and_statistics(tiny_store):

    store = massfield.open_store(tiny_store)
    assert store.params.generate.seed == 7 and store.n_samples == 40
    assert store.splits == {"train": 24, "validation": 8, "test": 8}
    assert [entry.split for entry in store.shards][:3] == ["train", "validation", "test"]
    normaliser = Normaliser.from_store(tiny_store)  # what a model standardises ψ with
    assert store.statistics["potential"]["mean"] == normaliser.mean
    assert store.statistics["potential"]["std"] == normaliser.std
    test = massfield.read_split(store, "test")
    assert set(test) == {"potential", "positions", "mass"} and test["mass"].shape == (8,)
    np.testing.assert_array_equal(test["mass"], read_arrays(store_files(tiny_store, "test"),
                                                            ("mass",))[0])


def test_the_order_mixes_shards_but_holds_few_at_once():
    sizes = [100] * 37 + [13]
    blocks = epoch_blocks(sizes, seed=5, group=4)
    assert all(len(np.unique(block[:, 0])) <= 4 for block in blocks)
    order = epoch_order(sizes, seed=5)
    assert len(np.unique(order, axis=0)) == sum(sizes) == len(order)  # each sample once
    assert not np.array_equal(order, epoch_order(sizes, seed=5, epoch=1))
    assert np.array_equal(order, epoch_order(sizes, seed=5))


def test_numpy_batches_are_one_seeded_pass_over_checked_shards(tiny_store, tmp_path):
    store = massfield.open_store(tiny_store)
    batches = list(massfield.batches(store, "train", 5, seed=1))
    assert [len(b["mass"]) for b in batches] == [5, 5, 5, 5, 4]
    mass = np.concatenate([b["mass"] for b in batches])
    everything = massfield.read_split(store, "train")["mass"]
    assert sorted(mass) == sorted(everything) and not np.array_equal(mass, everything)
    shards = {float(m): i // 8 for i, m in enumerate(everything)}
    assert len({shards[float(m)] for m in batches[0]["mass"]}) > 1  # mixed across shards
    again = list(massfield.batches(store, "train", 5, seed=1))
    assert all(np.array_equal(a["positions"], b["positions"])
               for a, b in zip(batches, again, strict=True))
    other = np.concatenate([b["mass"] for b in massfield.batches(store, "train", 5, seed=2)])
    assert not np.array_equal(mass, other)
    encoded = next(massfield.batches(store, "train", 8, seed=1, encode=True, normalise=True,
                                     fields=(*massfield.FIELDS, "encoding")))
    stored = next(massfield.batches(store, "train", 8, seed=1,
                                    fields=(*massfield.FIELDS, "encoding")))
    stats = store.statistics["potential"]
    np.testing.assert_allclose(encoded["potential"],
                               (stored["potential"] - stats["mean"]) / stats["std"], rtol=1e-5)
    np.testing.assert_array_equal(encoded["encoding"], stored["encoding"])
    damaged = tmp_path / "store"
    shutil.copytree(tiny_store, damaged)
    data = bytearray((damaged / "shard-00003.h5").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (damaged / "shard-00003.h5").write_bytes(bytes(data))
    with pytest.raises(DataError, match="shard-00003.h5.*massfield repair"):
        next(massfield.batches(damaged, "train", 5))


@pytest.mark.slow
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_torch_dataloader_yields_the_numpy_batches_bit_for_bit(start_method, tiny_store):
    """By sample (any sampler, the default collate) and by batch (batch_size=None: one
    shared block per batch), with 2 workers, the DataLoader gives the NumPy iterator's
    batches."""
    import torch.utils.data

    from massfield.torch import ShardBatches, ShardDataset

    store = massfield.open_store(tiny_store)
    options = dict(seed=3, normalise=True, encode=True)
    by_sample = torch.utils.data.DataLoader(
        ShardDataset(store, "train", **options), batch_size=5, num_workers=2,
        multiprocessing_context=start_method)
    by_batch = torch.utils.data.DataLoader(
        ShardBatches(store, "train", 5, **options), batch_size=None, num_workers=2,
        multiprocessing_context=start_method)
    expected = list(massfield.batches(store, "train", 5, **options))
    for loader in (by_sample, by_batch):
        got = list(loader)
        assert len(got) == len(expected) == 5
        for ours, theirs in zip(expected, got, strict=True):
            assert set(theirs) == {"potential", "positions", "mass", "encoding"}
            for name, values in ours.items():
                assert theirs[name].numpy().dtype == values.dtype
                np.testing.assert_array_equal(theirs[name].numpy(), values)


def test_shard_batches_are_the_numpy_batches_in_the_main_process(tiny_store):
    """Without workers too, with a short last batch or without it."""
    from massfield.torch import ShardBatches

    store = massfield.open_store(tiny_store)
    for drop in (False, True):
        batches = ShardBatches(store, "train", 7, seed=2, encode=True, drop_remainder=drop)
        expected = list(massfield.batches(store, "train", 7, seed=2, encode=True,
                                          drop_remainder=drop))
        assert len(batches) == len(expected) == (3 if drop else 4)
        for j, ours in enumerate(expected):
            for name, values in ours.items():
                np.testing.assert_array_equal(batches[j][name].numpy(), values)
        with pytest.raises(IndexError):
            batches[len(expected)]


def test_hugging_face_datasets_reads_the_checked_files_of_a_split(tiny_store, tmp_path,
                                                                 monkeypatch):
    """Another real client: the `datasets` library's hdf5 loader, given the file list that
    the store has checked (it checks nothing itself), reads every sample of the split."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from datasets import load_dataset

    store = massfield.open_store(tiny_store)
    files = [str(path) for path in store.files("train")]
    rows = load_dataset("hdf5", data_files=files, split="train", cache_dir=str(tmp_path))
    assert rows.num_rows == store.splits["train"] == 24
    assert {"mass", "potential", "positions", "trajectory", "encoding"} <= set(rows.column_names)
    ours = massfield.read_split(store, "train")
    np.testing.assert_array_equal(np.asarray(rows["mass"]), ours["mass"])
    np.testing.assert_array_equal(np.asarray(rows[5]["positions"]), ours["positions"][5])


@pytest.mark.parametrize("call,message", [
    (lambda store: next(massfield.batches(store, "train", 0)),
     "batch_size must be a whole number ≥ 1, got 0"),
    (lambda store: next(massfield.batches(store, "train", 2.5)),
     "batch_size must be a whole number ≥ 1, got 2.5"),
    (lambda store: next(massfield.batches(store, "train", 4, seed=-1)),
     "seed must be a whole number ≥ 0, got -1"),
    (lambda store: massfield.read_split(store, "tarin"),
     "split 'tarin' is not one of train, validation, test"),
    (lambda store: massfield.torch.ShardBatches(store, "train", 0),
     "batch_size must be a whole number ≥ 1, got 0"),
], ids=["batch 0", "batch 2.5", "seed -1", "split typo", "torch batch 0"])
def test_api_arguments_get_the_command_lines_one_line_errors(call, message, tiny_store):
    import massfield.torch

    with pytest.raises(massfield.ConfigError) as raised:
        call(massfield.open_store(tiny_store))
    assert str(raised.value) == message or str(raised.value).startswith(message)
