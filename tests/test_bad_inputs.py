"""Bad input, every command: the real CLI answers with one line, exit 1 or 2, no traceback.

Each case builds what a user could hand the tool — a bad parameter, a damaged file, a
wrong store, a typo — and runs ``massfield`` on it. Exit 2: parameters and usage; exit 1:
data. The expected fragment is the file or key the line must name.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

from conftest import write_params
from pipeline.cli import main


def _copy(store: Path, tmp: Path) -> Path:
    target = tmp / "store"
    shutil.copytree(store, target)
    return target


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_value(path: Path) -> None:
    """Change one stored mass in place: a silent corruption no HDF5 error would reveal."""
    with h5py.File(path, "r+") as h5:
        h5["mass"][0] = h5["mass"][0] + 1e-3


def _models(models: Path, tmp: Path) -> Path:
    target = tmp / "models"
    shutil.copytree(models, target)
    return target


# Each case: (id, function(ctx) -> args, exit code, fragment the line must contain).
# ctx gives the tiny store, the trained models, a params file and a scratch directory.
P, S, M = "--params", "--set", "--models"


def gen(ctx, *sets):
    args = ["generate", P, ctx.params, "--out", ctx.tmp / "out", "--scheduler", "synchronous"]
    for item in sets:
        args += [S, item]
    return args


def params_file(ctx, text: bytes | str):
    path = ctx.tmp / "p.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return ["generate", P, path, "--out", ctx.tmp / "out"]


def store(ctx, damage=None, name="shard-00001.h5"):
    copy = _copy(ctx.store, ctx.tmp)
    if damage:
        damage(copy / name if name else copy)
    return copy


def train(ctx, data, *sets):
    args = ["train", "dnn", P, ctx.params, "--data", data, "--out", ctx.tmp / "m"]
    for item in sets:
        args += [S, item]
    return args


def evaluate(ctx, data=None, models=None):
    return ["evaluate", "--data", data or ctx.store, M, models or ctx.models,
            "--metrics", ctx.tmp / "m.json", "--predictions", ctx.tmp / "p.csv"]


def predict(ctx, data=None, models=None, name="rnn"):
    return ["predict", name, "--data", data or ctx.store, M, models or ctx.models]


def _earlier_record(model: Path) -> None:
    """The training record an earlier massfield wrote: no format, ψ standardised outside."""
    path = model.with_name(f"{model.stem}.history.json")
    record = json.loads(path.read_text())
    del record["format"]
    path.write_text(json.dumps({**record, "normaliser": {"mean": 0.0, "std": 1.0}}))


def _format_2_record(model: Path) -> None:
    """A record of format 2, whose calibration bins are of the predicted mass."""
    path = model.with_name(f"{model.stem}.history.json")
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": 2}))


def _record_without(key: str):
    def damage(model: Path) -> None:
        path = model.with_name(f"{model.stem}.history.json")
        record = json.loads(path.read_text())
        del record[key]
        path.write_text(json.dumps(record))
    return damage


def broken_model(ctx, how):
    models = _models(ctx.models, ctx.tmp)
    path = models / "rnn" / "rnn.keras"
    how(path)
    return models


def other_physics_store(ctx):
    params = write_params(ctx.tmp / "other.yaml", physics={"mass_low": 2.0, "mass_high": 4.0})
    CliRunner().invoke(main, ["generate", P, str(params), "--out", str(ctx.tmp / "other"),
                              "--scheduler", "synchronous"])
    return ctx.tmp / "other"


def noisy_store(ctx):
    params = write_params(ctx.tmp / "noisy.yaml", physics={"position_noise": 0.3})
    CliRunner().invoke(main, ["generate", P, str(params), "--out", str(ctx.tmp / "noisy"),
                              "--scheduler", "synchronous"])
    return ctx.tmp / "noisy"


def old_schema_store(ctx):
    """A store as massfield 0.2 wrote it: schema version 2 in manifest and shards."""
    copy = _copy(ctx.store, ctx.tmp)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest.update(schema_version=2, package_version="0.2.0")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def manifest(ctx, text):
    copy = _copy(ctx.store, ctx.tmp)
    (copy / "manifest.json").write_text(text)
    return copy


def plot(ctx, metrics=None, predictions=None):
    return ["plot", "--metrics", metrics or ctx.tmp / "absent.json", "--predictions",
            predictions or ctx.tmp / "absent.csv", M, ctx.models, "--data", ctx.store,
            "--out", ctx.tmp / "plots"]


def table(ctx, *args):
    absent = ctx.tmp / "absent.json"
    return ["table", "--metrics", ctx.metrics, "--holdout", absent,
            "--repeats", ctx.tmp / "no-repeats", *args]


def written(ctx, name, text):
    path = ctx.tmp / name
    path.write_text(text)
    return path


CASES = [
    # parameters, through --set
    ("size not divisible", lambda c: gen(c, "physics.size=250"), 2, "physics.size"),
    ("mass_low zero", lambda c: gen(c, "physics.mass_low=0"), 2, "physics.mass_low"),
    ("mass range inverted", lambda c: gen(c, "physics.mass_low=2"), 2, "physics.mass_low"),
    ("offset inf", lambda c: gen(c, "physics.offset_high=.inf"), 2, "physics.offset_high"),
    ("persistence nan", lambda c: gen(c, "physics.persistence=.nan"), 2, "physics.persistence"),
    ("position noise negative", lambda c: gen(c, "physics.position_noise=-0.1"), 2,
     "physics.position_noise must be a standard deviation in [0, 256px"),
    ("position noise 1e308", lambda c: gen(c, "physics.position_noise=1e308"), 2,
     "physics.position_noise must be a standard deviation in [0, 256px: the grid's size]"),
    ("potential noise huge", lambda c: gen(c, "physics.potential_noise=1e30"), 2,
     "physics.potential_noise must be a standard deviation in [0, 20: ten times ψ's span]"),
    ("position noise inf", lambda c: gen(c, "physics.position_noise=.inf"), 2,
     "physics.position_noise must be a finite number"),
    ("potential noise nan", lambda c: gen(c, "physics.potential_noise=.nan"), 2,
     "physics.potential_noise must be a finite number"),
    ("potential noise text", lambda c: gen(c, "physics.potential_noise=low"), 2,
     "physics.potential_noise"),
    ("octaves float", lambda c: gen(c, "physics.octaves=2.5"), 2, "physics.octaves"),
    ("octaves text", lambda c: gen(c, "physics.octaves=abc"), 2, "physics.octaves"),
    ("start three numbers", lambda c: gen(c, "physics.start=[1,2,3]"), 2, "physics.start"),
    ("start outside", lambda c: gen(c, "physics.start=[300,10]"), 2, "physics.start"),
    ("stride too long", lambda c: gen(c, "physics.stride=20"), 2, "physics.stride"),
    ("one snapshot", lambda c: gen(c, "physics.time_steps=1"), 2, "physics.time_steps"),
    ("downsample zero", lambda c: gen(c, "physics.downsample=0"), 2, "physics.downsample"),
    ("base too large", lambda c: gen(c, "physics.base=300"), 2, "physics.base"),
    ("unknown physics key", lambda c: gen(c, "physics.sizee=3"), 2, "physics.sizee"),
    ("no samples", lambda c: gen(c, "generate.n_samples=0"), 2, "generate.n_samples"),
    ("negative shard", lambda c: gen(c, "generate.shard_size=-1"), 2, "generate.shard_size"),
    ("splits sum", lambda c: gen(c, "generate.splits.train=0.5"), 2, "generate.splits"),
    ("compression 10", lambda c: gen(c, "generate.compression_level=10"), 2, "compression_level"),
    ("negative seed", lambda c: gen(c, "generate.seed=-1"), 2, "generate.seed"),
    ("bool maybe", lambda c: gen(c, "generate.store_full_potential=maybe"), 2,
     "store_full_potential"),
    ("set without value", lambda c: gen(c, "generate.n_samples"), 2, "KEY=VALUE"),
    ("unknown section", lambda c: gen(c, "x.y=1"), 2, "unknown key x"),
    ("section as value", lambda c: gen(c, "physics=5"), 2, "physics=5"),
    ("bad yaml value", lambda c: gen(c, "generate.n_samples=[1,"), 2, "not valid YAML"),
    ("escaping particles", lambda c: gen(c, "physics.trap_safety=0.001", "physics.mass_low=0.001",
                                         "physics.mass_high=0.002", "physics.max_redraws=0",
                                         "generate.n_samples=4", "generate.shard_size=4"),
     2, "physics.max_redraws"),
    # parameters, in the file
    ("params missing", lambda c: ["generate", P, c.tmp / "none.yaml"], 2, "none.yaml"),
    ("params is a directory", lambda c: ["generate", P, c.tmp], 2, "is a directory"),
    ("params bad yaml", lambda c: params_file(c, "physics: [unclosed\n"), 2, "not valid YAML"),
    ("params not utf-8", lambda c: params_file(c, b"physics:\n  size: 256 # \xb5\n"), 2,
     "not UTF-8"),
    ("params empty", lambda c: params_file(c, ""), 2, "must hold a mapping"),
    ("params a list", lambda c: params_file(c, "- 1\n- 2\n"), 2, "must hold a mapping"),
    ("params unknown section", lambda c: params_file(c, "fysics: {size: 8}\n"), 2, "fysics"),
    ("params duplicate key", lambda c: params_file(c, "physics: {}\nphysics: {}\n"), 2,
     "not valid YAML"),
    ("params learning rate", lambda c: train(c, c.store, "train.dnn.learning_rate=-1"), 2,
     "train.dnn.learning_rate"),
    ("old preset name", lambda c: train(c, c.store, "train.dnn.preset=seed"), 2,
     "train.dnn.preset"),
    ("xla true", lambda c: train(c, c.store, "train.dnn.xla=true"), 2, "train.dnn.xla"),
    ("batch zero", lambda c: train(c, c.store, "train.dnn.batch_size=0"), 2, "batch_size"),
    ("unknown loss", lambda c: train(c, c.store, "train.dnn.loss=l1"), 2, "train.dnn.loss"),
    ("physics fixed by store", lambda c: train(c, c.store, "physics.size=128"), 2,
     "--set physics.size"),
    ("too few train samples", lambda c: train(c, c.store, "train.dnn.train_samples=1000"), 2,
     "train_samples"),
    ("too few validation samples",
     lambda c: train(c, c.store, "train.dnn.validation_samples=1000"), 2, "validation_samples"),
    ("validation samples zero", lambda c: train(c, c.store, "train.dnn.validation_samples=0"),
     2, "train.dnn.validation_samples"),
    # usage
    ("unknown command", lambda c: ["frobnicate"], 2, "frobnicate"),
    ("unknown option", lambda c: ["generate", "--frob"], 2, "--frob"),
    ("zero workers", lambda c: ["generate", "--workers", "0"], 2, "--workers"),
    ("scheduler typo", lambda c: gen(c) + ["--scheduler", "procesess"], 2, "procesess"),
    ("unknown model", lambda c: ["train", "mlp", P, c.params], 2, "mlp"),
    ("predict without data", lambda c: ["predict", "rnn"], 2, "--data"),
    # data: stores
    ("train no store", lambda c: train(c, c.tmp / "none"), 1, "manifest"),
    ("train flipped manifest", lambda c: train(c, store(c, lambda p: _flip(p, 40),
                                                       "manifest.json")), 1, "manifest.json"),
    ("train empty-list manifest", lambda c: train(c, manifest(c, "[]")), 1, "massfield repair"),
    ("train manifest of other store", lambda c: train(c, manifest(c, json.dumps(
        {"schema_version": 3, "params": {}, "shards": []}))), 1, "manifest.json"),
    ("train store of schema 2", lambda c: train(c, old_schema_store(c)), 1,
     "a store of schema version 2 (massfield 0.2.0); massfield"),
    ("generate over schema 2", lambda c: gen(c) + ["--out", old_schema_store(c)], 1,
     "massfield generate --overwrite --out"),
    ("train missing shard", lambda c: train(c, store(c, Path.unlink)), 1, "shard-00001.h5"),
    ("train truncated shard", lambda c: train(c, store(c, _truncate)), 1, "shard-00001.h5"),
    ("train changed value", lambda c: train(c, store(c, _flip_value)), 1, "shard-00001.h5"),
    ("train loose directory", lambda c: train(c, store(c, Path.unlink, "manifest.json")), 1,
     "manifest"),
    ("train on a shard file", lambda c: train(c, c.store / "shard-00000.h5"), 1, "shard-00000.h5"),
    # data: evaluate and predict
    ("evaluate flipped test shard", lambda c: evaluate(c, store(c, _flip_value, "shard-00002.h5")),
     1, "shard-00002.h5"),
    ("evaluate no models", lambda c: evaluate(c, models=c.tmp), 1, "no trained models"),
    ("evaluate garbage model", lambda c: evaluate(c, models=broken_model(
        c, lambda p: p.write_bytes(b"garbage"))), 1, "rnn.keras"),
    ("evaluate truncated model", lambda c: evaluate(c, models=broken_model(c, _truncate)), 1,
     "rnn.keras: damaged or not a Keras model (not a complete .keras zip archive"),
    ("evaluate no history", lambda c: evaluate(c, models=broken_model(
        c, lambda p: p.with_name("rnn.history.json").unlink())), 1, "rnn.history.json"),
    ("evaluate damaged history", lambda c: evaluate(c, models=broken_model(
        c, lambda p: p.with_name("rnn.history.json").write_text("{"))), 1, "rnn.history.json"),
    ("evaluate earlier record", lambda c: evaluate(c, models=broken_model(c, _earlier_record)),
     1, "rnn.history.json: made by another massfield (training record format 1, this one "
        "reads 3); retrain the model with `massfield train rnn`"),
    ("evaluate record calibrated on the predicted mass", lambda c: evaluate(
        c, models=broken_model(c, _format_2_record)), 1, "rnn.history.json: made by another "
        "massfield (training record format 2, this one reads 3)"),
    ("evaluate record short of a field", lambda c: evaluate(c, models=broken_model(
        c, _record_without("calibration"))), 1, "rnn.history.json: not a training record of "
        "this massfield (no calibration); retrain the model with `massfield train rnn`"),
    ("evaluate other physics", lambda c: evaluate(c, other_physics_store(c)), 1,
     "physics.mass_low"),
    ("evaluate other physics, shift", lambda c: evaluate(c, other_physics_store(c)) +
     ["--allow-shift"], 1, "physics.mass_high"),
    ("evaluate noisy store", lambda c: evaluate(c, noisy_store(c)), 1,
     "physics.position_noise 0.0 (trained) vs 0.3; score it on a store of its physics"),
    ("predict noisy store", lambda c: predict(c, noisy_store(c)), 1,
     "pass --allow-shift to score it anyway"),
    ("predict untrained model", lambda c: predict(c, name="crnn"), 1, "massfield train crnn"),
    ("predict a pattern", lambda c: predict(c, name="r*"), 1,
     "'r*': predict scores one model; give its name"),
    ("predict non-hdf5 file", lambda c: predict(c, written(c, "x.h5", "not hdf5")), 1, "x.h5"),
    ("predict truncated shard", lambda c: predict(c, store(c, _truncate) / "shard-00001.h5"), 1,
     "shard-00001.h5"),
    ("predict flipped store", lambda c: predict(c, store(c, _flip_value)), 1, "shard-00001.h5"),
    ("predict other physics", lambda c: predict(c, other_physics_store(c)), 1, "physics.mass"),
    # data: inspect, plot, table, repair, generate
    ("inspect nothing", lambda c: ["inspect", c.tmp / "nothing"], 1, "nothing"),
    ("inspect truncated shard", lambda c: ["inspect", store(c, _truncate) / "shard-00001.h5"], 1,
     "shard-00001.h5"),
    ("inspect loose truncated", lambda c: ["inspect", store(c, lambda s: (
        (s / "manifest.json").unlink(), _truncate(s / "shard-00001.h5")), None)], 1,
     "shard-00001.h5"),
    ("plot a non-hdf5 file", lambda c: ["inspect", written(c, "y.h5", "text"), "--plot",
                                        c.tmp / "s.png"], 1, "y.h5"),
    ("plot sample beyond", lambda c: ["inspect", c.store, "--plot", c.tmp / "s.png", "--sample",
                                      "100000"], 1, "--sample"),
    ("plot no metrics", lambda c: plot(c), 1, "absent.json"),
    ("plot metrics not json", lambda c: plot(c, written(c, "m.json", "{")), 1, "m.json"),
    ("plot old metrics", lambda c: plot(c, written(c, "m.json", json.dumps(
        {"samples": 1, "scope": "x", "models": {"dnn": {"r2": 0.5}}, "baselines": {}}))), 1,
     "m.json: not metrics of this massfield (no models.dnn.pearson); re-run `massfield "
     "evaluate`"),
    ("table no metrics", lambda c: ["table", "--metrics", c.tmp / "absent.json"], 1,
     "absent.json"),
    ("table metrics of another type", lambda c: table(c) + ["--metrics", written(
        c, "m.json", c.metrics.read_text().replace('"samples": 8', '"samples": "8"'))], 1,
     "m.json: not metrics of this massfield (samples is a str)"),
    ("table readme no markers", lambda c: table(c, "--readme", written(c, "R.md", "# title\n")),
     1, "R.md"),
    ("table junk repeats", lambda c: table(c, "--repeats", written(c, "rep/x.json", "[]").parent),
     1, "x.json"),
    ("repair empty directory", lambda c: ["repair", c.tmp], 1, "nothing to rebuild"),
    ("generate over other params", lambda c: gen(c, "generate.seed=9") + [
        "--out", _copy(c.store, c.tmp)], 2, "--overwrite"),
    ("generate under a file", lambda c: gen(c) + ["--out", written(c, "f", "") / "s"], 1,
     "--out"),
]


class Context:
    def __init__(self, store, models, params, tmp, metrics):
        self.store, self.models, self.params, self.tmp, self.metrics = (store, models, params,
                                                                         tmp, metrics)


@pytest.fixture(scope="module")
def metrics_file(tiny_store, tiny_models, tmp_path_factory):
    path = tmp_path_factory.mktemp("metrics") / "metrics.json"
    result = CliRunner().invoke(main, ["evaluate", "--data", str(tiny_store), M, str(tiny_models),
                                       "--metrics", str(path), "--predictions",
                                       str(path.with_suffix(".csv"))])
    assert result.exit_code == 0, result.output
    return path


def test_there_are_at_least_sixty_cases():
    assert len(CASES) >= 60 and len({case[0] for case in CASES}) == len(CASES)


TRAINED = ("evaluate", "predict", "plot", "table")  # cases that need trained models: slow


def _case(name, make, code, fragment):
    marks = [pytest.mark.slow] if name.startswith(TRAINED) else []
    return pytest.param(name, make, code, fragment, marks=marks, id=name)


@pytest.mark.parametrize("name,make,code,fragment", [_case(*case) for case in CASES])
def test_bad_input_gets_one_line(name, make, code, fragment, tiny_store, request, tmp_path):
    (tmp_path / "rep").mkdir()
    trained = name.startswith(TRAINED)
    ctx = Context(tiny_store, request.getfixturevalue("tiny_models") if trained else None,
                  write_params(tmp_path / "params.yaml"), tmp_path,
                  request.getfixturevalue("metrics_file") if trained else None)
    args = [str(a) for a in make(ctx)]
    result = CliRunner().invoke(main, args)
    assert isinstance(result.exception, SystemExit), (
        f"{name}: {type(result.exception).__name__}: {result.exception}\n{result.output}")
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0] == lines[-1], result.stderr  # progress may precede
    assert fragment in errors[0], errors[0]
    assert "Traceback" not in result.output
