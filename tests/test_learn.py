"""tf.data over real shards and the four Keras models, trained for a few real steps."""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import massfield
from conftest import made_store
from pipeline.cli import main
from pipeline.config import MODEL_NAMES, ModelTrainConfig, Params, load_params
from pipeline.errors import ConfigError, DataError
from pipeline.learn.data import FEED_FORWARD, RECURRENT, split_dataset
from pipeline.learn.layers import StandardisePotential
from pipeline.learn.models import build_model, input_shape, uses_physics_fit
from pipeline.learn.physics_fit import MISFIT_FLOOR, PhysicsFit
from pipeline.learn.predict import predict_outputs
from pipeline.learn.record import HISTORY_FORMAT, TrainedOn, TrainingRecord
from pipeline.learn.train import XLA_MIN_STEPS, load_model, split_files, train_model, use_xla
from pipeline.physics.inversion import fit_and_misfit, snapshot_variances
from pipeline.readers.order import Normaliser
from pipeline.store.reader import read_arrays, store_files
from pipeline.store.store import Store


def _quick(params_file, model, *extra):
    """params for a few steps of ``model``."""
    return load_params(params_file, (f"train.{model}.epochs=2", f"train.{model}.steps_per_epoch=3",
                                     f"train.{model}.batch_size=8", *extra))


def test_views_have_the_report_shapes_and_the_stored_psi(tiny_store):
    normaliser = Normaliser.from_store(tiny_store)
    flat = next(iter(split_dataset(tiny_store, "validation", FEED_FORWARD, 8)))
    steps = next(iter(split_dataset(tiny_store, "validation", RECURRENT, 8)))
    assert flat[0].shape == (8, 32, 32, 2) and steps[0].shape == (8, 10, 32, 32, 2)
    psi, encoding, mass = read_arrays(store_files(tiny_store, "validation"),
                                     ("potential", "encoding", "mass"))
    # the loader gives ψ as stored (float32): the model standardises it itself
    np.testing.assert_array_equal(flat[0][..., 0], psi.astype(np.float32))
    # the loader encodes the stored positions itself: bit for bit the stored encoding
    np.testing.assert_array_equal(steps[0][..., 1], encoding)
    np.testing.assert_allclose(flat[0][..., 1], encoding.sum(axis=1), atol=1e-6)
    np.testing.assert_allclose(steps[0][:, 7, ..., 0], flat[0][..., 0])
    np.testing.assert_allclose(flat[1], mass, rtol=1e-6)
    # the physics-informed presets' first layer: ψ standardised, the encodings untouched
    standardised = StandardisePotential(normaliser.mean, normaliser.std)(flat[0])
    np.testing.assert_allclose(standardised[..., 0], (psi - normaliser.mean) / normaliser.std,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(standardised[..., 1], flat[0][..., 1])


@pytest.mark.slow
def test_the_hybrids_read_the_physics_fit_and_start_from_it(tiny_store, params_file):
    """The loader's physics-fit features are the inversion's log-mass and log-misfit on the
    same samples, and an untrained hybrid predicts the fit's mass exactly (zero kernel)."""
    store = Store.open(tiny_store)
    physics = store.params.physics
    fit = PhysicsFit.measure(store.files("train"), physics)
    psi, positions, mass = read_arrays(store.files("train"), ("potential", "positions", "mass"))
    np.testing.assert_array_equal(fit.variances, snapshot_variances(psi, positions, mass, physics))
    (view, features), _ = next(iter(split_dataset(tiny_store, "validation", FEED_FORWARD, 8,
                                                  fit=fit)))
    psi, positions = read_arrays(store.files("validation"), ("potential", "positions"))
    fitted, misfit = fit_and_misfit(psi, positions, physics, np.asarray(fit.variances))
    np.testing.assert_allclose(features[:, 0], np.log(fitted), rtol=1e-6)
    np.testing.assert_allclose(features[:, 1], np.log(misfit + MISFIT_FLOOR), rtol=1e-5)
    params = load_params(params_file)
    for name in ("dnn", "cnn"):
        model = build_model(name, params.train.model(name), physics,
                            Normaliser.from_statistics(store.statistics))
        np.testing.assert_allclose(np.asarray(model((view, features)))[:, 0, 0], fitted,
                                   rtol=1e-5)


def test_training_shuffles_with_its_seed_in_the_readers_order(tiny_store):
    """One reader core: tf.data trains in the order the NumPy and PyTorch readers give for
    the same seed, pass after pass (each pass a new order), ψ and targets alike."""
    def first_masses(seed):
        data = split_dataset(tiny_store, "train", FEED_FORWARD, 24, shuffle_seed=seed)
        return next(iter(data))[1].numpy()

    np.testing.assert_array_equal(first_masses(1), first_masses(1))
    assert not np.array_equal(first_masses(1), first_masses(2))
    assert sorted(first_masses(1)) == sorted(first_masses(2))  # same samples, new order
    store = Store.open(tiny_store)
    passes = split_dataset(store, "train", FEED_FORWARD, 8, shuffle_seed=3, repeat=True)
    batches = [(view.numpy(), mass.numpy()) for view, mass in passes.take(6)]  # 2 passes
    for epoch in (0, 1):
        expected = list(massfield.batches(store, "train", 8, seed=3, epoch=epoch))
        for (view, mass), numpy in zip(batches[3 * epoch:], expected, strict=False):
            np.testing.assert_array_equal(mass, numpy["mass"].astype(np.float32))
            np.testing.assert_array_equal(view[..., 0], numpy["potential"])
    assert not np.array_equal(batches[0][1], batches[3][1])


@pytest.mark.parametrize("preset", ["physics-informed", "report"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_builds_with_output_per_step(name, preset, params_file):
    params = load_params(params_file, (f"train.{name}.preset={preset}",))
    cfg = params.train.model(name)
    model = build_model(name, cfg, params.physics, Normaliser(0.0, 1.0))
    view = np.zeros((3, *input_shape(name, params.physics)), np.float32)
    if uses_physics_fit(name, cfg):  # the DNN and CNN hybrids: (view, physics-fit features)
        view = (view, np.zeros((3, 2), np.float32))
    assert uses_physics_fit(name, cfg) is (name in ("dnn", "cnn") and preset != "report")
    steps = 10 if name in ("rnn", "crnn") else 1
    n_outputs = 2 if cfg.loss == "gaussian" else 1
    assert model(view).shape == (3, steps, n_outputs)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_each_model_trains_saves_and_reloads(name, tiny_store, params_file, tmp_path):
    params = _quick(params_file, name)
    trained, history = train_model(name, params, tiny_store, tmp_path, log=lambda line: None)
    assert len(history.step_loss) == 6 and len(history.epochs) == 2
    steps = np.reshape(history.step_loss, (2, 3))
    for epoch, losses in zip(history.epochs, steps, strict=True):
        assert np.ptp(losses) > 0  # each step's own loss: Keras' epoch loss is their mean
        np.testing.assert_allclose(np.mean(losses), epoch["loss"], rtol=1e-5, atol=1e-6)
    assert "val_loss" in history.epochs[-1]
    calibration = history.calibration
    assert len(calibration["lower"]) == len(calibration["upper"]) == 1  # 8 validation samples
    assert all(lo < hi for lo, hi in zip(calibration["lower"], calibration["upper"], strict=True))
    assert history.store.checked_params.physics.size == 256
    model = load_model(tmp_path / f"{name}.keras")
    assert TrainingRecord.read(tmp_path / f"{name}.history.json") == history
    fit = PhysicsFit.from_history(history)
    assert (fit is not None) is (name in ("dnn", "cnn"))  # the hybrids take the physics fit
    batch = next(iter(split_dataset(tiny_store, "validation", history.view, 8, fit=fit)))[0]
    assert model.count_params() == trained.count_params()
    np.testing.assert_allclose(np.asarray(model(batch)), np.asarray(trained(batch)), rtol=1e-6)


@pytest.mark.slow
def test_xla_training_is_the_plain_training_compiled(tiny_store, params_file, tmp_path):
    histories = {}
    for mode in ("always", "never"):
        params = _quick(params_file, "rnn", f"train.rnn.xla={mode}")
        model, histories[mode] = train_model("rnn", params, tiny_store, tmp_path / mode,
                                             log=lambda line: None)
        assert model.jit_compile is (mode == "always")
    np.testing.assert_allclose(histories["always"].step_loss, histories["never"].step_loss,
                               rtol=1e-4, atol=1e-5)
    auto = _quick(params_file, "rnn").train.rnn
    assert (use_xla(auto, total_steps=6), use_xla(auto, total_steps=XLA_MIN_STEPS)) == (False, True)


@pytest.mark.slow
def test_loss_falls_on_a_small_learnable_set(tiny_store, params_file, tmp_path):
    params = load_params(params_file, ("train.crnn.epochs=12", "train.crnn.steps_per_epoch=5",
                                       "train.crnn.batch_size=12", "train.crnn.loss=mse",
                                       "train.crnn.patience=0"))
    _, history = train_model("crnn", params, tiny_store, tmp_path, log=lambda line: None)
    losses = [epoch["loss"] for epoch in history.epochs]
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:2])


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Path:
    """800 samples: enough for a recurrent model to learn something in a few seconds."""
    return made_store(tmp_path_factory.mktemp("small"), n_samples=800, shard_size=100)


@pytest.mark.slow
def test_a_loss_at_every_step_buys_early_predictions(small_store, tmp_path):
    """The same RNN, data and steps, with the loss after the last snapshot only or after
    every one: only the second predicts from the first snapshots (README: R² 0.98 from
    t = 2 on, against about 0 without)."""
    params_file = small_store.parent / "params.yaml"
    early = {}
    for every in (False, True):
        params = load_params(params_file, ("train.rnn.epochs=1", "train.rnn.steps_per_epoch=250",
                                           "train.rnn.batch_size=32", "train.rnn.patience=0",
                                           f"train.rnn.loss_every_step={str(every).lower()}"))
        train_model("rnn", params, small_store, tmp_path / str(every), log=lambda line: None)
        model = load_model(tmp_path / str(every) / "rnn.keras")
        out = predict_outputs(model, split_dataset(small_store, "validation", RECURRENT, 64))
        mass = read_arrays(store_files(small_store, "validation"), ("mass",))[0]
        early[every] = [1 - np.mean((out["per_step"][:, t] - mass) ** 2) / np.var(mass)
                        for t in (1, 2, 3)]  # after snapshots 2, 3 and 4
    assert min(early[True]) > 0.5, early
    assert min(early[True]) > max(early[False]) + 0.3, early


def test_training_refuses_damaged_shards(tiny_store, params_file, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(tiny_store, store)
    (store / "shard-00001.h5").write_bytes(b"broken")
    with pytest.raises(DataError, match="shard-00001.h5.*massfield repair"):
        train_model("dnn", _quick(params_file, "dnn"), store, tmp_path)


def test_train_cli_errors_are_one_line(params_file, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["train", "mlp", "--params", str(params_file)])
    assert result.exit_code == 2 and "dnn, cnn, rnn, crnn" in result.output
    result = runner.invoke(main, ["train", "dnn", "--params", str(params_file),
                                  "--data", str(tmp_path / "none")])
    assert result.exit_code == 1 and "manifest" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # a run that succeeds: test_train_reads_the_manifest_once_and_never_the_test_split


@pytest.mark.parametrize("kind", ["huber", "mse", "mape", "gaussian"])
def test_losses_match_independent_oracles(kind):
    """Each loss against Keras' own (Huber, MSE, MAPE) or scipy's normal density (the
    Gaussian NLL of σ = softplus(raw) + floor), on the last step and averaged over steps."""
    import keras
    from scipy.stats import norm

    from pipeline.learn.losses import SIGMA_FLOOR, MassLoss

    rng = np.random.default_rng(5)
    target = rng.uniform(0.1, 1.0, 64)
    outputs = np.stack([rng.uniform(0.05, 1.2, (64, 3)), rng.normal(-2, 1, (64, 3))], axis=-1)
    if kind != "gaussian":
        outputs = outputs[..., :1]

    def oracle(step):
        mean = outputs[:, step, 0]
        if kind == "gaussian":
            sigma = np.logaddexp(0, outputs[:, step, 1]) + SIGMA_FLOOR
            return -norm.logpdf(target, loc=mean, scale=sigma).mean()
        keras_loss = {"huber": keras.losses.Huber(delta=0.3),
                      "mse": keras.losses.MeanSquaredError(),
                      "mape": keras.losses.MeanAbsolutePercentageError()}[kind]
        return float(keras_loss(target[:, None], mean[:, None]))

    last = float(MassLoss(kind, huber_delta=0.3)(target, outputs.astype(np.float32)))
    every = float(MassLoss(kind, huber_delta=0.3, every_step=True)(target,
                                                                   outputs.astype(np.float32)))
    assert last == pytest.approx(oracle(2), rel=1e-5)
    assert every == pytest.approx(np.mean([oracle(t) for t in range(3)]), rel=1e-5)


_MANIFEST_OPENS: list[str] | None = None  # while a list, the audit hook below records into it


def _record_manifest_opens(event, args):
    if _MANIFEST_OPENS is not None and event == "open" and str(args[0]).endswith(
            "manifest.json"):
        _MANIFEST_OPENS.append(str(args[0]))


@pytest.mark.slow
def test_train_reads_the_manifest_once_and_never_the_test_split(tiny_store, tmp_path):
    """The store is opened once and passed down: every open(2) of manifest.json counted by
    Python's audit hook (hooks cannot be removed, so this one records only while asked).
    The test shard is deleted: any read of it would fail the run."""
    global _MANIFEST_OPENS
    store, out = tmp_path / "store", tmp_path / "models"
    shutil.copytree(tiny_store, store)
    (store / "shard-00002.h5").unlink()  # the test shard
    sys.addaudithook(_record_manifest_opens)
    _MANIFEST_OPENS = []
    try:
        result = CliRunner().invoke(main, [
            "train", "dnn", "--params", str(tiny_store.parent / "params.yaml"), "--data",
            str(store), "--out", str(out), "--set", "train.dnn.epochs=1",
            "--set", "train.dnn.steps_per_epoch=1", "--set", "train.dnn.batch_size=8"])
        opened = list(_MANIFEST_OPENS)
    finally:
        _MANIFEST_OPENS = None
    assert result.exit_code == 0, result.output
    assert (out / "dnn.keras").exists() and (out / "dnn.history.json").exists()
    assert opened == [str(store / "manifest.json")]


def test_split_files_takes_the_first_shards_holding_enough(tiny_store):
    """train_samples and validation_samples take whole shards from the front of a split:
    a subset that does not depend on the order anything else ran in."""
    store = Store.open(tiny_store)
    train = [str(p) for p in store.files("train")]
    assert split_files(store, "train", None) == (train, [8, 8, 8])
    assert split_files(store, "train", 9) == (train[:2], [8, 8])
    assert split_files(store, "train", 8) == (train[:1], [8])
    assert split_files(store, "validation", 8) == ([str(store.files("validation")[0])], [8])
    with pytest.raises(ConfigError, match="validation_samples 9: the validation split .* "
                                          "holds only 8"):
        split_files(store, "validation", 9)


def _record(tmp_path) -> tuple[TrainingRecord, Path]:
    """A training record as `train` writes it, without the training."""
    record = TrainingRecord(
        format=HISTORY_FORMAT, model="rnn", config=ModelTrainConfig(epochs=2), view=RECURRENT,
        simulator=False, physics_fit=None,
        store=TrainedOn(params=Params().to_dict(), train_mass_mean=0.55, n_train_samples=24,
                        path=str(tmp_path)),
        train_samples=24, parameters=123, train_seconds=1.5, step_loss=[1.0, 0.5],
        epochs=[{"loss": 0.75}], calibration={"method": "point", "space": "log", "edges": [],
                                              "lower": [-0.1], "upper": [0.1],
                                              "mass_range": [0.1, 1.0]})
    path = tmp_path / "rnn.history.json"
    record.write(path)
    return record, path


def test_a_training_record_reads_back_typed_and_checked(tmp_path):
    record, path = _record(tmp_path)
    read = TrainingRecord.read(path)
    assert read == record and read.config.epochs == 2
    assert read.store.checked_params.physics.size == Params().physics.size
    raw = json.loads(path.read_text())
    for change, problem in [(lambda r: r.pop("calibration"), "(no calibration)"),
                            (lambda r: r.update(train_samples="24"), "train_samples is a str"),
                            (lambda r: r.update(extra=1), "unknown field extra"),
                            (lambda r: r["store"].pop("path"), "(no store.path)"),
                            (lambda r: r["calibration"].pop("edges"), "no calibration.edges"),
                            (lambda r: r["config"].update(epochs=0), "config.epochs must be ≥ 1")]:
        broken = copy.deepcopy(raw)
        change(broken)
        path.write_text(json.dumps(broken))
        with pytest.raises(DataError) as caught:
            TrainingRecord.read(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: ") and problem in message, message
        assert message.endswith("retrain the model with `massfield train rnn`"), message
