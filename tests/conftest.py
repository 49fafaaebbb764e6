"""Shared fixtures: tiny real params files and shard stores built through the user's code."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.config import Params, load_params
from pipeline.learn import quiet_tensorflow
from pipeline.store.generate import generate_store

quiet_tensorflow()  # once for the whole session, before any test imports Keras

REPO = Path(__file__).resolve().parents[1]
TINY_GENERATE = {"seed": 7, "n_samples": 40, "shard_size": 8,
                 "splits": {"train": 0.6, "validation": 0.2, "test": 0.2}}


def pytest_collection_modifyitems(items):
    """The `dvc repro` test first: pytest-xdist hands tests out in collection order, and
    this one, minutes long, then runs beside the rest instead of alone at the end."""
    items.sort(key=lambda item: item.path.name != "test_pipeline_dvc.py")


def write_params(path: Path, **sections) -> Path:
    """A params.yaml: the defaults, tiny generate sizes, then ``sections`` merged in."""
    raw = Params().to_dict()
    raw["generate"].update(TINY_GENERATE)
    for name, values in sections.items():
        raw.setdefault(name, {})
        raw[name] = _merge(raw[name], values)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _merge(base, update):
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def made_store(root: Path, **generate) -> Path:
    """A store of the defaults with ``generate`` merged in (one process), in root/store,
    its params.yaml beside it."""
    params = load_params(write_params(root / "params.yaml", generate=generate))
    generate_store(params, root / "store", scheduler="synchronous")
    return root / "store"


@pytest.fixture
def params_file(tmp_path) -> Path:
    return write_params(tmp_path / "params.yaml")


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory) -> Path:
    """A complete 40-sample store (5 shards: 3 train, 1 validation, 1 test), made once."""
    root = tmp_path_factory.mktemp("store")
    params = load_params(write_params(root / "params.yaml"))
    generate_store(params, root / "shards", scheduler="synchronous")
    return root / "shards"


@pytest.fixture(scope="session")
def tiny_models(tiny_store, tmp_path_factory) -> Path:
    """Two quickly trained models beside the tiny store: a physics-informed RNN (Gaussian
    head) and the report's DNN (Huber, a point model)."""
    from pipeline.learn.train import train_model

    models = tmp_path_factory.mktemp("models")
    params = load_params(tiny_store.parent / "params.yaml",
                         ("train.rnn.epochs=1", "train.rnn.steps_per_epoch=3",
                          "train.dnn.epochs=1", "train.dnn.steps_per_epoch=3",
                          "train.dnn.loss=huber", "train.dnn.preset=report"))
    for name in ("rnn", "dnn"):
        train_model(name, params, tiny_store, models / name, log=lambda line: None)
    return models


def assert_sample_figure_draws_sample(store, index: int) -> None:
    """The sample figure shows that sample's ψ and each step's encoding, pixel for pixel."""
    import matplotlib.pyplot as plt

    from pipeline.config import params_from_dict
    from pipeline.figures.samples import plot_sample
    from pipeline.store.reader import shard_files, shard_params
    from pipeline.store.summary import read_sample

    sample = read_sample(store, index)
    physics = params_from_dict(shard_params(shard_files(store)[0])).physics
    fig = plot_sample(sample, physics, None)
    by_title = {ax.get_title(): ax for ax in fig.axes}
    psi = by_title[f"ψ ({physics.grid}×{physics.grid}) — model input channel 1"]
    psi = psi.get_images()[0].get_array()
    np.testing.assert_array_equal(psi, sample["potential"])
    last = by_title[f"t = {physics.kept_steps[-1]} (zoomed)"]
    np.testing.assert_array_equal(last.get_images()[0].get_array(), sample["encoding"][-1])
    assert len([t for t in by_title if t.startswith("t = ")]) == physics.time_steps
    plt.close(fig)
