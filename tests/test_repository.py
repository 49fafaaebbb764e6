"""The repository keeps its promises: README commands, CI script, no data in git."""

import importlib.metadata
import importlib.util
import os
import re
import shlex
import subprocess

from conftest import REPO


def _readme_commands():
    text = (REPO / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    commands = _readme_commands()
    test_command = commands[1].strip()
    assert "pytest" in test_command and "pip install" in test_command
    assert test_command in (REPO / ".ci/run").read_text()


def test_readme_opens_with_the_whole_pipeline_on_pinned_versions():
    """The first command installs the pinned pipeline extra, then runs every stage."""
    install, run = (shlex.split(part) for part in _readme_commands()[0].split("&&"))
    assert install[:2] == ["pip", "install"]
    assert install[install.index("-r") + 1] == "requirements.lock"
    assert install[install.index("-e") + 1] == ".[pipeline]"
    assert run == ["dvc", "repro"]  # the whole default pipeline: no stage named, no -s
    pinned = {line.split("==")[0] for line in (REPO / "requirements.lock").read_text().split()
              if "==" in line}
    assert {"dvc", "tensorflow", "keras", "h5py", "numba", "dask", "noise"} <= pinned
    requires = importlib.metadata.requires("massfield")
    assert any(dep.startswith("dvc") and "extra == \"pipeline\"" in dep for dep in requires)


def test_readme_fits_on_a_page():
    assert len((REPO / "README.md").read_text().splitlines()) <= 180


def test_readme_results_table_is_the_committed_metrics():
    """README's table is what `massfield table` makes of the committed data/metrics*.json
    and data/repeats (run from the repository, as `massfield table --readme` is)."""
    from click.testing import CliRunner

    from pipeline.cli import main
    from pipeline.evaluate.table import BEGIN, END

    text = (REPO / "README.md").read_text()
    shown = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
    with_cwd = os.getcwd()
    try:
        os.chdir(REPO)
        result = CliRunner().invoke(main, ["table"])
    finally:
        os.chdir(with_cwd)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == shown


def test_results_doc_tables_are_rendered_from_the_experiments_results():
    """docs/results.md's tables are written by `python experiments/render.py`."""
    spec = importlib.util.spec_from_file_location("render", REPO / "experiments/render.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    assert render.DOC.read_text() == render.render(render.DOC.read_text())
    readme = render.README.read_text()
    assert readme == render.render(readme, render.readme_tables(), render.README)


def test_generated_data_is_not_tracked():
    tracked = subprocess.run(["git", "ls-files", "data"], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    assert all(not name.endswith((".h5", ".keras", ".png")) for name in tracked)


def test_benchmark_doc_is_rendered_from_the_saved_figures():
    """docs/benchmarks.md is written by `python -m benchmarks.render`, never by hand."""
    from benchmarks.render import DOC, render

    assert DOC.read_text() == render()


def test_the_readme_python_example_runs(tmp_path):
    """README's Python blocks (the API, then PyTorch's loaders), as a user would run them
    from a directory with params.yaml."""
    import shutil
    import sys

    text = (REPO / "README.md").read_text()
    api, loaders = re.findall(r"```python\n(.*?)\n```", text, flags=re.S)[:2]
    shutil.copy(REPO / "params.yaml", tmp_path)
    check = ("\nprint(len(test['mass']))\nfirst, other = next(iter(loader)), next(iter(by_sample))"
             "\nassert all((first[k] == other[k]).all() for k in first)\nprint(len(first['mass']))")
    result = subprocess.run([sys.executable, "-c", api + "\n" + loaders + check],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["100", "64"]
    assert "{'train': 200, 'validation': 100, 'test': 100} 32" in result.stdout
