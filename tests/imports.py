"""Static import analysis of ``pipeline``: which files a CLI command can run, which layers
a module reaches. Used by the DVC deps test and the layering test."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "pipeline"


def module_file(module: str) -> Path | None:
    """pipeline.store.reader → pipeline/store/reader.py (or the package's __init__.py)."""
    path = REPO.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_in(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """pipeline modules imported anywhere inside ``tree`` (module level or in functions)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module, is_package)
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "pipeline" and module_file(name)}


@cache
def direct_imports(module: str) -> frozenset[str]:
    path = module_file(module)
    tree = ast.parse(path.read_text())
    return frozenset(imports_in(tree, module, path.name == "__init__.py"))


def with_parents(module: str) -> set[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py too."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def closure(start: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = [m for name in start for m in with_parents(name)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo += [m for name in direct_imports(module) for m in with_parents(name)]
    return seen


def command_modules(command: str) -> set[str]:
    """Every pipeline module ``massfield COMMAND`` can import: cli.py's module-level
    imports and everything the command's own module (pipeline/commands/) imports,
    anywhere in it — not the other commands' modules, which cli.py loads only by name."""
    tree = ast.parse((PACKAGE / "cli.py").read_text())
    table = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and getattr(node.targets[0], "id", None) == "COMMANDS")
    modules = ast.literal_eval(table)
    start = imports_in(ast.Module(body=[n for n in tree.body if isinstance(
        n, (ast.Import, ast.ImportFrom))], type_ignores=[]), "pipeline.cli", False)
    start.add(f"pipeline.commands.{modules[command]}")
    return closure(start) | {"pipeline.cli"}


def command_files(command: str) -> set[str]:
    return {str(module_file(m).relative_to(REPO)) for m in command_modules(command)}
