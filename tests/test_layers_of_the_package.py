"""The package is in layers, and imports go one way: down (docs/design.md).

Each module's imports are read from its source (``ast``), the lazy ones inside
functions included.  A module may import its own layer and the layers below it,
never one above; and no two modules may import each other, directly or round a
longer circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "digits"

# Each layer and the layers it may import (besides itself).
ALLOWED = {
    "system": set(),
    "nn": {"system"},
    "data": {"nn", "system"},
    "store": {"nn", "system"},
    "app": {"store", "data", "nn", "system"},
    "replication": {"book", "app", "store", "data", "nn", "system"},    # the bench times digits.book
    "book": {"app", "store", "data", "nn", "system"},
}
# The top of the package: its public names, and ``python -m digits``.
TOP = {"digits/__init__.py": {"nn", "data"}, "digits/__main__.py": {"app"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every ``digits...`` module that ``path`` imports, resolving relative imports."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # ``from digits.nn import network`` imports the module digits.nn.network
            found.update(f"{module}.{alias.name}" for alias in node.names
                         if (PACKAGE.parent / f"{module}.{alias.name}".replace(".", "/")).with_suffix(".py").exists())
    return {name for name in found if name == "digits" or name.startswith("digits.")}


MODULES = sorted(PACKAGE.rglob("*.py"))


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE.parent)) for p in MODULES])
def test_a_module_imports_only_its_own_layer_and_those_below(path):
    relative = str(path.relative_to(PACKAGE.parent))
    if relative in TOP:
        allowed = TOP[relative]
    else:
        own = layer_of(module_name(path))
        assert own is not None, f"{relative} is in no layer: put it in one of {sorted(ALLOWED)}"
        allowed = ALLOWED[own] | {own}
    against = sorted(name for name in imported_modules(path)
                     if name != "digits" and layer_of(name) not in allowed)
    assert not against, f"{relative} imports {against}, against the layers of docs/design.md"


def test_within_the_application_only_the_command_line_reaches_the_commands():
    for path in (PACKAGE / "app").rglob("*.py"):
        if "commands" in path.parts:
            continue
        commands = [name for name in imported_modules(path) if name.startswith("digits.app.commands")]
        assert not commands, f"{path.relative_to(PACKAGE.parent)} imports the commands {commands}"


def test_a_command_imports_no_other_command():
    for path in (PACKAGE / "app" / "commands").glob("*.py"):
        others = [name for name in imported_modules(path)
                  if name.startswith("digits.app.commands.") and name != module_name(path)]
        assert not others, f"{path.relative_to(PACKAGE.parent)} imports the commands {others}"


def test_no_modules_import_each_other_round_a_circle():
    graph = {module_name(path): {name for name in imported_modules(path) if name != module_name(path)}
             for path in MODULES}
    graph = {module: {name for name in names if name in graph and not graph.get(name) is None}
             for module, names in graph.items()}
    packages = {module for module in graph if (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()}
    # An import of a package runs its __init__, which is no circle when the package is
    # the importer's own parent.
    graph = {module: {name for name in names if not (name in packages and module.startswith(name + "."))}
             for module, names in graph.items()}
    state, circle = {}, []

    def visit(module, path):
        state[module] = "open"
        for name in sorted(graph[module]):
            if state.get(name) == "open":
                circle.append(path[path.index(name):] + [name])
            elif name not in state:
                visit(name, path + [name])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circle, "imports round a circle: " + "; ".join(" -> ".join(c) for c in circle)
