"""The real ``massfield`` CLI on generate and inspect: output, exit codes, one-line errors."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from conftest import assert_sample_figure_draws_sample
from pipeline.cli import main


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_generate_then_inspect(params_file, tmp_path):
    store = tmp_path / "shards"
    result = _run("generate", "--params", params_file, "--out", store, "--scheduler",
                  "synchronous", "--set", "generate.n_samples=16")
    assert result.exit_code == 0, result.output
    assert "16 samples in 2 shards" in result.output
    result = _run("inspect", store)
    assert result.exit_code == 0
    assert "samples 16" in result.output and "kB per sample" in result.output
    assert _run("inspect", store, "--verify").exit_code == 0
    png = tmp_path / "sample.png"
    result = _run("inspect", store, "--plot", png, "--sample", 9)
    assert result.exit_code == 0 and png.stat().st_size > 10_000
    assert_sample_figure_draws_sample(store, 9)


def test_bad_set_key_is_one_line_exit_2_nothing_written(params_file, tmp_path):
    store = tmp_path / "shards"
    result = _run("generate", "--params", params_file, "--out", store,
                  "--set", "generate.n_sampels=5")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "generate.n_sampels" in result.output
    assert not store.exists()


def test_invalid_value_and_missing_params_file(params_file, tmp_path):
    result = _run("generate", "--params", params_file, "--out", tmp_path / "s",
                  "--set", "physics.mass_low=2")
    assert result.exit_code == 2 and "physics.mass_low" in result.output
    result = _run("generate", "--params", tmp_path / "nope.yaml", "--out", tmp_path / "s")
    assert result.exit_code == 2 and "nope.yaml" in result.output


def test_unwritable_output_directory_is_a_clear_error(params_file, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = _run("generate", "--params", params_file, "--out", blocker / "shards")
    assert result.exit_code == 1
    assert "cannot write the output directory" in result.output and "--out" in result.output


def test_inspect_verify_reports_bad_files_and_exits_1(tiny_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(tiny_store, store)
    (store / "shard-00004.h5").write_bytes(b"garbage")
    result = _run("inspect", store, "--verify")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and "shard-00004.h5" in lines[0] and "1 with problems" in lines[1]
    assert "massfield repair" in lines[1]


def test_inspect_missing_directory(tmp_path):
    result = _run("inspect", tmp_path / "nothing")
    assert result.exit_code == 1 and "nothing: no such directory" in result.output
