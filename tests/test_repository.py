"""The repository keeps its promises: README commands, CI script, no data in git."""

import re
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


def test_readme_opens_with_the_pipeline_then_the_tests():
    commands = _readme_commands()
    assert "dvc repro" in commands[0] or "massfield" in commands[0]


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
