"""``massfield evaluate``: every trained model and both baselines on the same samples.

Samples: the test split of a store, or every shard of a store, a directory of shards or
one shard file. Every shard is checked before it is read, every model is refused if it
was trained on other physics, and shards are streamed one at a time: memory does not
grow with the store (only the predictions themselves, a few floats a sample). Writes
metrics.json, every figure measured (strict JSON: what the table and the figures are made
from), one small JSON per model and baseline with its headline scalars (``--scores DIR``:
what ``dvc metrics show`` and ``dvc metrics diff`` print, one row a predictor) and one CSV
row per sample.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from ..config import params_from_dict
from ..errors import DataError
from ..physics.inversion import (
    CALIBRATION_SAMPLES,
    exact_field_variances,
    fit_and_misfit,
    physics_inversion,
    snapshot_variances,
)
from ..store.atomic import atomic_path, write_json
from ..store.reader import OBSERVED_FIELDS, first_samples, read_shard, shard_files, store_at
from ..store.store import Store
from ..tasks import task_of
from .compatibility import check_compatible, evaluation_params, physics_differences
from .joint import expected_coverage
from .metrics import parameter_scores, r2_per_step, regression_metrics, uncertainty_metrics
from .metrics_record import BaselineScores, Metrics, ModelScores

if TYPE_CHECKING:
    from ..learn.record import TrainingRecord

# The report's Table 1 (R² on its unseen data).
REPORT_TABLE_1 = {"dnn": 0.373, "cnn": 0.408, "rnn": -0.038, "crnn": 0.461}
HEADLINE_MODEL = ("r2", "median_relative_error", "coverage_90", "nll")
HEADLINE_BASELINE = ("r2", "median_relative_error")


def write_scores(directory: Path, metrics: Metrics) -> None:
    """DIR/KEY.json per model and baseline: the scalars a reader compares across runs (per
    model R², median relative error, 90 % coverage, NLL; per baseline R² and median
    relative error). As DVC metrics, one row a predictor: `dvc metrics show` fits a
    terminal. Files of predictors no longer scored are removed."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    scores = {**{key: {**{name: getattr(s, name) for name in HEADLINE_MODEL},
                       **{f"{p}_{name}": values[name] for p, values in (s.targets or {}).items()
                          for name in ("r2", "coverage_90")},
                       **({"joint_coverage_max_gap": s.joint_coverage["max_gap"]}
                          if s.joint_coverage else {})}
                 for key, s in metrics.models.items()},
              **{key: {name: getattr(s, name) for name in HEADLINE_BASELINE}
                 for key, s in metrics.baselines.items()}}
    for old in directory.glob("*.json"):
        if old.stem not in scores:
            old.unlink()
    for key, values in scores.items():
        write_json(directory / f"{key}.json", values)


def evaluation_files(location: Path, store: Store | None,
                     all_shards: bool = False) -> tuple[list[Path], str]:
    """The test split of a store (unless ``all_shards``), else every shard; all checked."""
    if store is None:
        return shard_files(location), "all shards"
    return (store.files(), "all shards") if all_shards else (store.files("test"), "test split")


def model_key(path: Path, models_dir: Path, alone: bool = True) -> str:
    """A model's name in metrics: its folders below ``models_dir`` joined by "-"
    (data/models/dnn-no-scan/dnn.keras → "dnn-no-scan"; models/pos-1/crnn/crnn.keras →
    "pos-1-crnn"), then its own name unless it is ``alone`` in its folder
    (models/p0.3/cnn.keras beside crnn.keras → "p0.3-cnn"), or its own name when it lies
    directly in ``models_dir``."""
    folders = path.parent.relative_to(models_dir).parts
    return "-".join([*folders, *([] if alone and folders else [path.stem])])


def trained_models(models_dir: Path, only: str | None = None) -> dict[str, Path]:
    """Every MODEL.keras under ``models_dir`` by :func:`model_key`; with ``only``, those whose
    key matches one of its comma-separated fnmatch patterns ("crnn,rnn", "pos-*"). Two
    models never share a name: DataError if the folders make one twice."""
    models_dir = Path(models_dir)
    paths = sorted(models_dir.glob("**/*.keras"))
    per_folder = collections.Counter(path.parent for path in paths)
    found: dict[str, Path] = {}
    for path in paths:
        key = model_key(path, models_dir, alone=per_folder[path.parent] == 1)
        if key in found:
            raise DataError(f"{found[key]} and {path} would both be named {key!r} in the "
                            f"metrics; move one into a folder of its own")
        found[key] = path
    return matching(found, only)


def matching(found: dict[str, Path], only: str | None) -> dict[str, Path]:
    """The models of ``found`` whose key matches one of ``only``'s patterns (None: all)."""
    patterns = [p.strip() for p in only.split(",") if p.strip()] if only else ["*"]
    return {key: path for key, path in found.items()
            if any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)}


def _baseline_mean(histories: dict[str, TrainingRecord]) -> float:
    """The train-split mean mass of the store the models were trained on."""
    means = {round(h.store.train_mass_mean, 12) for h in histories.values()}
    if len(means) != 1:
        raise DataError("the models were trained on different stores (their train mean "
                        "masses differ); evaluate each store's models separately")
    return next(iter(means))


def calibration_files(store: Store | None, files: list[Path]) -> tuple[list[Path], str | None]:
    """Where the physics inversion measures its snapshot variances: a store's train split,
    else (loose shards) the scored samples themselves, with a note saying so."""
    if store is not None:
        return store.files("train"), None
    return files, ("physics inversion weights measured on the scored samples themselves "
                   "(loose shards have no train split)")


def baselines_on(files: list[Path], physics, calibration: list[Path]
                 ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray], dict]:
    """True mass and the physics inversion — from ψ, as the models see the field, and from
    the fine field φ, which no model sees — one shard at a time; per sample whether the φ
    its ``noise_offset`` makes reproduces its ψ (else the φ baseline means nothing); each
    inversion's snapshot variances (ψ's measured on ``calibration`` shards); and the ψ fit
    as the hybrids' inputs ({repr(fit): {shard: features}}): a hybrid trained on this store
    fits with the same variances, so its inputs are these and are not fitted again."""
    from ..learn.physics_fit import PhysicsFit

    variances = {"physics": snapshot_variances(
                     *first_samples(calibration, CALIBRATION_SAMPLES, OBSERVED_FIELDS), physics),
                 "physics_fine_field": exact_field_variances(physics)}
    fit = PhysicsFit(physics, tuple(float(v) for v in variances["physics"]))
    features: dict[str, np.ndarray] = {}
    columns = {"mass": [], "physics": [], "physics_fine_field": []}
    reproduced: list[bool] = []
    fields = (OBSERVED_FIELDS + ("noise_offset",)
              + (("potential_true",) if physics.potential_noise > 0 else ()))
    for path in files:  # each shard opened once, every field in one read
        psi, positions, mass, offset, *true_field = read_shard(str(path), fields)
        truth = true_field[0] if true_field else None
        columns["mass"].append(mass)
        estimate, misfit = fit_and_misfit(psi, positions, physics, variances["physics"])
        columns["physics"].append(estimate)
        features[str(path)] = fit.features_of(estimate, misfit)
        columns["physics_fine_field"].append(physics_inversion(
            psi, positions, physics, variances["physics_fine_field"], noise_offset=offset,
            reproduced=reproduced, true_potential=truth))
    return ({name: np.concatenate(values) for name, values in columns.items()},
            np.array(reproduced, bool), variances, {repr(fit): features})


def task_truths(files: list[Path], task) -> dict[str, np.ndarray]:
    """The true value of every hidden parameter of a task's samples, in file order."""
    names = task.parameter_names
    shards = [read_shard(str(path), names) for path in files]
    return {name: np.concatenate([shard[k] for shard in shards])
            for k, name in enumerate(names)}


def fine_field_note(reproduced: np.ndarray) -> str | None:
    """Why the φ baseline is left out, or None when every sample's offsets give its ψ."""
    if reproduced.all():
        return None
    return (f"physics inversion from φ left out: for {int((~reproduced).sum())} of "
            f"{reproduced.size} samples the field regenerated from noise_offset does not give "
            f"the stored ψ (shards made by other code?)")


def score_model(path: Path, model, history: TrainingRecord, files: list[Path],
                mass: np.ndarray, features: dict | None = None) -> tuple[ModelScores, dict]:
    """Metrics and per-sample columns of one saved model. ``features`` (a dict, kept by the
    caller across models) holds the physics-fit inputs per fit: the DNN and CNN trained on
    one store share theirs, and the fit is half of a hybrid's scoring time."""
    from ..learn.calibration import parameter_predictions, predictive, value_range
    from ..learn.physics_fit import PhysicsFit
    from ..learn.predict import other_targets, predict_files

    def cache(fit: PhysicsFit) -> dict | None:
        return None if features is None else features.setdefault(repr(fit), {})

    names = [str(f) for f in files]
    targets = other_targets(history.store.checked_params.physics)
    fit = PhysicsFit.from_history(history)
    shared = fit.shard_features(names, cache(fit)) if fit is not None else None
    raw = predict_files(model, names, history.view, fit, features=shared, targets=targets)
    if not np.array_equal(raw["mass"], mass.astype(np.float32).astype(np.float64)):
        raise DataError(f"{path}: the loader and the baseline read different samples")
    noise_fit = PhysicsFit.noise_of(history)
    if noise_fit is not None:  # calibrated per noise tercile: the estimate it was made on
        raw["noise"] = noise_fit.noise_estimates(names, cache(noise_fit))
    calibration = history.calibration
    out = predictive(raw, calibration)
    mass_range = tuple(calibration["mass_range"])
    per_step = np.clip(raw["per_step"], *mass_range)
    scores = {**regression_metrics(mass, out["mean"]),
               **uncertainty_metrics(mass, out["center"], out["sigma_log"], mass_range),
               "uncertainty": calibration["method"], "model": history.model,
               "preset": history.config.preset, "mass_scan": history.config.mass_scan,
               "physics_fit": history.physics_fit is not None,
               "simulator": history.simulator, "parameters": history.parameters,
               "train_seconds": history.train_seconds, "train_samples": history.train_samples,
               "loss_every_step": history.config.loss_every_step or None}
    columns = {"": out["mean"], "_sigma": out["sigma"], "_lower_90": out["lower_90"],
               "_upper_90": out["upper_90"]}
    if per_step.shape[1] > 1:
        scores["r2_per_step"] = r2_per_step(mass, per_step)
        columns.update({f"_t{t}": per_step[:, t] for t in range(per_step.shape[1])})
    others, joint = {}, [(mass, out["center"], out["sigma"], mass_range)]
    for name, _ in targets:  # a task's other parameters, each with its own calibration
        values = parameter_predictions(raw, name)
        calibrated = history.calibration_of(name)
        out = predictive(values, calibrated)
        others[name] = parameter_scores(values["mass"], out, value_range(calibrated))
        joint.append((values["mass"], out["center"], out["sigma"], value_range(calibrated)))
        columns.update({f"_{name}{suffix}": out[part] for suffix, part in (
            ("", "mean"), ("_sigma", "sigma"), ("_lower_90", "lower_90"),
            ("_upper_90", "upper_90"))})
    if others:
        scores["targets"] = others
        truth, center, sigma, bounds = (list(part) for part in zip(*joint, strict=True))
        scores["joint_coverage"] = expected_coverage(
            np.stack(truth, 1), np.stack(center, 1), np.stack(sigma, 1), bounds)
    return ModelScores(**scores), columns


XLA_SAMPLES = 1000  # fewer samples to score: XLA's compile costs more than it saves


def samples_in(files: list[Path]) -> int:
    """How many samples (checked) shard files hold, from their metadata alone."""
    total = 0
    for path in files:
        try:
            with h5py.File(path, "r") as h5:
                total += h5["positions"].shape[0]
        except (OSError, KeyError) as exc:
            raise DataError(f"{path}: no positions to score ({exc}); check it with "
                            f"`massfield inspect --verify {path}`") from None
    return total


def load_models(models_dir: Path, stores: list[tuple[dict, Path]], allow_shift: bool = False,
                only: str | None = None, samples: int = XLA_SAMPLES
                ) -> dict[str, tuple[Path, object, TrainingRecord]]:
    """Every trained model under ``models_dir`` (or those ``only`` matches), loaded, with
    its history; each checked, before any work, against the physics of every store to
    score in ``stores`` (its params, its location). ``samples``: how many the models will
    score, which decides whether they predict through XLA."""
    from ..learn.record import TrainingRecord
    from ..learn.train import load_model

    found = trained_models(models_dir)
    if not found:
        raise DataError(f"{models_dir}: no trained models; run `massfield train MODEL` first")
    if only is not None:
        chosen = matching(found, only)
        if not chosen:
            pattern = bool(set("*?[,") & set(only))
            raise DataError(f"{models_dir}: no trained "
                            f"{f'model matches {only!r}' if pattern else only}; run `massfield "
                            f"train {'MODEL' if pattern else only}` first "
                            f"(found: {', '.join(found)})")
        found = chosen
    models = {}
    for key, path in found.items():
        history = TrainingRecord.read(path.with_name(f"{path.stem}.history.json"))
        for given, location in stores:
            check_compatible(path, history, given, location, allow_shift)
        model = load_model(path)
        # Keras leaves XLA off on CPU; scoring thousands of samples pays for the compile
        # (all six default models: 75 → 62 s on 2 cores, the same R² to 4 decimals)
        model.jit_compile = samples >= XLA_SAMPLES
        models[key] = (path, model, history)
    return models


HOLDOUT = "_holdout"


def holdout_path(path: Path) -> Path:
    """Where a holdout store's results go: ``path`` with "_holdout" before its suffix
    (data/metrics.json → data/metrics_holdout.json, data/scores → data/scores_holdout)."""
    path = Path(path)
    return path.with_name(f"{path.stem}{HOLDOUT}{path.suffix}")


@dataclasses.dataclass(frozen=True)
class Scoring:
    """One store to score and where its results go."""

    data_dir: Path
    all_shards: bool
    metrics_path: Path
    predictions_path: Path
    scores_dir: Path | None

    def holdout(self, data_dir: Path) -> Scoring:
        """Every shard of ``data_dir``, written beside this one's files as *_holdout."""
        return Scoring(data_dir, True, holdout_path(self.metrics_path),
                       holdout_path(self.predictions_path),
                       None if self.scores_dir is None else holdout_path(self.scores_dir))

    def written(self) -> list[str]:
        """What scoring this store writes, as a user would name it."""
        return [str(self.metrics_path), *([f"{self.scores_dir}/"] if self.scores_dir else []),
                str(self.predictions_path)]


def scorings_of(data_dir: Path, metrics_path: Path, predictions_path: Path,
                all_shards: bool = False, scores_dir: Path | None = None,
                holdout: Path | None = None) -> list[Scoring]:
    """``data_dir``'s scoring, and with ``holdout`` that store's, written beside it."""
    first = Scoring(data_dir, all_shards, metrics_path, predictions_path, scores_dir)
    return [first] if holdout is None else [first, first.holdout(holdout)]


def evaluate(data_dir: Path, models_dir: Path, metrics_path: Path, predictions_path: Path,
             all_shards: bool = False, allow_shift: bool = False, log=print,
             scores_dir: Path | None = None, only: str | None = None,
             holdout: Path | None = None) -> Metrics:
    """Score the models on ``data_dir`` (and, with ``holdout``, on every shard of that
    store too, in the same process: the models load and compile once). Returns the first
    store's metrics."""
    return evaluate_scorings(scorings_of(data_dir, metrics_path, predictions_path, all_shards,
                                         scores_dir, holdout),
                             models_dir, allow_shift, log, only)


def evaluate_scorings(scorings: list[Scoring], models_dir: Path, allow_shift: bool = False,
                      log=print, only: str | None = None) -> Metrics:
    """Every store of ``scorings`` checked and opened, the models loaded once, then each
    store scored; the first store's metrics."""
    opened = []
    for scoring in scorings:
        store = store_at(scoring.data_dir)
        files, scope = evaluation_files(scoring.data_dir, store, scoring.all_shards)
        opened.append((scoring, store, files, scope, evaluation_params(files, store)))
    models = load_models(models_dir, [(given, scoring.data_dir)
                                      for scoring, _, _, _, given in opened], allow_shift, only,
                         samples=sum(samples_in(files) for _, _, files, _, _ in opened))
    return [_evaluate_store(*where, models, log) for where in opened][0]


def _evaluate_store(scoring: Scoring, store, files, scope, given, models, log) -> Metrics:
    data_dir = scoring.data_dir
    out = (scoring.metrics_path, scoring.predictions_path, log, scoring.scores_dir)
    physics = store.params.physics if store else params_from_dict(given, f"{data_dir}").physics
    task = task_of(physics)
    if task.name != "mass":
        return _evaluate_task(task, files, scope, data_dir, store, physics, models, given, *out)
    calibration, calibration_note = calibration_files(store, files)
    columns, reproduced, variances, features = baselines_on(files, physics, calibration)
    mass = columns["mass"]
    log(f"evaluating on {len(mass)} samples ({scope} of {data_dir})")
    omitted = fine_field_note(reproduced)
    notes = [note for note in [omitted, calibration_note] if note]
    columns["mean_baseline"] = np.full_like(mass, _baseline_mean(
        {key: history for key, (_, _, history) in models.items()}))
    baselines = {"predict_the_mean": regression_metrics(mass, columns["mean_baseline"]),
                 "physics_inversion": regression_metrics(mass, columns["physics"]),
                 "physics_inversion_fine_field": regression_metrics(
                     mass, columns["physics_fine_field"])}
    for key, column in (("physics_inversion", "physics"),
                        ("physics_inversion_fine_field", "physics_fine_field")):
        baselines[key]["snapshot_sd_px"] = np.sqrt(variances[column]).round(4).tolist()
    if omitted:
        columns["physics_fine_field"] = np.full_like(mass, np.nan)
        baselines["physics_inversion_fine_field"] = {
            key: None for key in baselines["physics_inversion_fine_field"]}
        baselines["physics_inversion_fine_field"]["omitted"] = omitted
    for note in notes:
        log(f"note: {note}")
    log(f"physics inversion baseline: R² {baselines['physics_inversion']['r2']:.4f}")
    return _score_models(models, files, scope, given, columns, baselines, notes, features, *out)


def _evaluate_task(task, files, scope, data_dir, store, physics, models, given, metrics_path,
                   predictions_path, log, scores_dir) -> Metrics:
    """A store of another task: every model and both of the task's physics references on
    every hidden parameter, beside the mean."""
    from .references import reference_scores, task_references

    columns = task_truths(files, task)
    mass = columns["mass"]
    log(f"evaluating on {len(mass)} samples ({scope} of {data_dir}), task {task.name}")
    calibration, calibration_note = calibration_files(store, files)
    references, variances, reproduced = task_references(files, calibration, task, physics)
    omitted = fine_field_note(reproduced)
    notes = [note for note in [omitted, calibration_note] if note]
    for note in notes:
        log(f"note: {note}")
    if omitted:
        references.update({key: np.full_like(mass, np.nan) for key in references
                           if key.startswith("physics_fine_field")})
    truths = dict(columns)
    columns.update(references)
    columns["mean_baseline"] = np.full_like(mass, _baseline_mean(
        {key: history for key, (_, _, history) in models.items()}))
    baselines = {"predict_the_mean": regression_metrics(mass, columns["mean_baseline"])}
    for key, column in (("physics_inversion", "physics"),
                        ("physics_inversion_fine_field", "physics_fine_field")):
        baselines[key] = reference_scores(truths, references, task, column, variances[column],
                                          omitted if column == "physics_fine_field" else None)
        others = "".join(f", {name} R² {s['r2']:.4f}"
                         for name, s in (baselines[key].get("targets") or {}).items())
        if baselines[key]["r2"] is not None:
            log(f"{key}: mass R² {baselines[key]['r2']:.4f}{others}")
    return _score_models(models, files, scope, given, columns, baselines, notes, {},
                         metrics_path, predictions_path, log, scores_dir)


def _score_models(models, files, scope, given, columns, baselines, notes, features,
                  metrics_path, predictions_path, log, scores_dir) -> Metrics:
    """Score every model on the samples whose true values ``columns`` holds; write it all."""
    mass = columns["mass"]
    scores = {}
    for key, (path, model, history) in models.items():
        scores[key], model_columns = score_model(path, model, history, files, mass, features)
        shift = [f"physics.{name} {a} (trained) vs {b}" for name, a, b in physics_differences(
            history.store.params["physics"], given["physics"])]
        if shift:  # only with --allow-shift: these scores are a distribution-shift experiment
            scores[key] = dataclasses.replace(scores[key], shift=shift)
            log(f"note: {key} scored off its training data: {', '.join(shift)}")
        columns.update({f"{key}{suffix}": values for suffix, values in model_columns.items()})
        others = "".join(f", {name} R² {s['r2']:.4f} (coverage {s['coverage_90']:.3f})"
                         for name, s in (scores[key].targets or {}).items())
        if scores[key].joint_coverage:
            others += (f"; joint coverage off by ≤ "
                       f"{scores[key].joint_coverage['max_gap']:.3f} (TARP)")
        log(f"{key}: R² {scores[key].r2:.4f}, 90 % coverage {scores[key].coverage_90:.3f}"
            f"{others}")
    metrics = Metrics(samples=int(len(mass)), scope=scope, models=scores,
                      baselines={key: BaselineScores(**b) for key, b in baselines.items()},
                      report_table_1_r2=REPORT_TABLE_1, notes=notes or None)
    metrics.write(metrics_path)
    if scores_dir is not None:
        write_scores(scores_dir, metrics)
    write_predictions(Path(predictions_path), columns)
    return metrics


def write_predictions(path: Path, columns: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial, open(partial, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample", *columns])
        for i in range(len(columns["mass"])):
            writer.writerow([i, *(f"{values[i]:.6g}" for values in columns.values())])


def read_predictions(path: Path) -> dict[str, np.ndarray]:
    """The predictions CSV as columns; DataError naming the file if missing or damaged."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        return {key: np.array([float(row[key]) for row in rows]) for key in rows[0]}
    except FileNotFoundError:
        raise DataError(f"{path}: missing; run `massfield evaluate` first") from None
    except (OSError, ValueError, IndexError, TypeError, UnicodeDecodeError, csv.Error):
        raise DataError(f"{path}: damaged predictions file; re-run `massfield evaluate`") \
            from None
