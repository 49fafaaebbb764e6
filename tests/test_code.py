"""The code keeps its own rules: a clean linter, layers that import downward, no import-time
side effects, and DVC stages that list every part of pipeline/ they run."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from imports import PACKAGE, command_files, direct_imports, module_name

LAYERS = ["pipeline.errors", "pipeline.watchdog", "pipeline.interrupts", "pipeline.physics",
          "pipeline.tasks", "pipeline.references", "pipeline.config",
          "pipeline.records",
          "pipeline.store", "pipeline.readers", "pipeline.learn", "pipeline.evaluate",
          "pipeline.figures", "pipeline.api", "pipeline.console", "pipeline.commands",
          "pipeline.cli"]


def _layer(module: str) -> int:
    if module == "pipeline":
        return -1
    return max(i for i, prefix in enumerate(LAYERS)
               if module == prefix or module.startswith(prefix + "."))


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_layers_import_only_downward(path):
    """physics → store → learn → evaluate → figures → cli: no module reaches up."""
    module = module_name(path)
    upward = [name for name in direct_imports(module) if _layer(name) > _layer(module)]
    assert not upward, f"{module} imports {upward}"


def test_importing_the_package_loads_no_tensorflow():
    code = ("import sys, pipeline.cli, pipeline.learn, pipeline.evaluate.metrics; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def _stages():
    """(stage, massfield command, pipeline/ deps relative to the repository) of every
    dvc.yaml: the default pipeline's and the experiments'."""
    for dvc_yaml in [REPO / "dvc.yaml", *sorted(REPO.glob("experiments/*/dvc.yaml"))]:
        for name, stage in yaml.safe_load(dvc_yaml.read_text())["stages"].items():
            stage = stage.get("do", stage)  # foreach stages
            if not stage["cmd"].startswith("massfield "):
                continue
            deps = [str((dvc_yaml.parent / dep).resolve().relative_to(REPO))
                    for dep in stage["deps"]]
            yield (f"{dvc_yaml.parent.name}:{name}", stage["cmd"].split()[1],
                   [dep for dep in deps if dep.startswith("pipeline")])


@pytest.mark.parametrize("stage,command,deps", list(_stages()), ids=lambda v: str(v)[:20])
def test_each_stage_lists_exactly_the_code_it_imports(stage, command, deps):
    """No more and no less: a module no stage runs leaves `dvc status` clean when edited
    (store/cluster.py makes only the generate stages stale, test_pipeline_dvc)."""
    imported = command_files(command)
    listed = {str(path.relative_to(REPO)) for dep in deps
              for path in ([REPO / dep] if dep.endswith(".py") else (REPO / dep).rglob("*.py"))}
    missing, extra = sorted(imported - listed), sorted(listed - imported)
    assert not missing, f"{stage} runs {missing} but does not list them in dvc.yaml"
    assert not extra, f"{stage} lists {extra}, which `massfield {command}` never imports"


def test_the_table_command_is_no_stage_s_code():
    """A stage depends on its own command's module: editing `massfield table` (or any
    command a stage does not run) leaves every stage up to date (test_pipeline_dvc checks
    it with dvc status)."""
    for stage, command, deps in _stages():
        assert "pipeline/commands/table.py" not in command_files(command), stage
        assert not any(dep.startswith("pipeline/commands/table") for dep in deps), stage
