"""ARCHITECTURE.md is the map a newcomer reads first, so it is held to the code.

Its module table names every module with its layer: each named module exists, each module of
the code is named, no module imports from a layer above its own, and modules import each other
in no cycle. Every dotted `pushfake...` name in the prose exists too.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"pushfake": ROOT / "src" / "pushfake", "pytest_pushfake": ROOT / "pytest_plugin" / "pytest_pushfake"}
MAP = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `((?:pushfake|pytest_pushfake)(?:\.\w+)*)` \| (\d+) \|", re.MULTILINE)
DOTTED = re.compile(r"`((?:pushfake|pytest_pushfake)\.[\w.]+)`")


def layers() -> dict[str, int]:
    """The table's rows: module -> layer."""
    return {name: int(layer) for name, layer in ROW.findall(MAP)}


def code_modules() -> dict[str, Path]:
    """Every module of the code, by dotted name (a package by its `__init__`)."""
    found: dict[str, Path] = {}
    for top, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [top, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path) -> Iterator[tuple[str, bool]]:
    """(module imported, at module level?) for every import of ours in `path`, relative ones
    resolved. Imports under `if TYPE_CHECKING:` are for type checkers only and are not counted
    as module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        top_level.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                yield target, id(node) in top_level


def owner(target: str, known: dict[str, object]) -> str:
    """The module an imported name lives in: its longest dotted prefix that is a module."""
    parts = target.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts)


def test_every_module_in_the_map_exists() -> None:
    missing = sorted(set(layers()) - set(code_modules()))
    assert not missing, f"ARCHITECTURE.md names modules that do not exist: {missing}"


def test_every_module_is_in_the_map() -> None:
    unnamed = sorted(set(code_modules()) - set(layers()))
    assert not unnamed, f"modules ARCHITECTURE.md's table does not name: {unnamed}"


def test_every_dotted_name_in_the_prose_exists() -> None:
    wrong, modules = [], code_modules()
    for name in sorted(set(DOTTED.findall(MAP)) - set(modules)):  # modules: the table's tests
        module = owner(name, modules)
        target = importlib.import_module(module)
        for attribute in name[len(module) + 1:].split("."):
            if not hasattr(target, attribute):
                wrong.append(name)
                break
            target = getattr(target, attribute)
    assert not wrong, f"ARCHITECTURE.md names what the code does not have: {wrong}"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    table, modules = layers(), code_modules()
    upward = [f"{name} (layer {table[name]}) imports {owner(target, modules)} (layer {table[owner(target, modules)]})"
              for name, path in modules.items() if name in table
              for target, _ in imports(name, path)
              if owner(target, modules) in table and table[owner(target, modules)] > table[name]]
    assert not upward, "\n".join(upward)


SIBLINGS = (("pushfake.leanplum", "pushfake.dengage"), ("pushfake.gateway", "pushfake.faults"))


@pytest.mark.parametrize("pair", SIBLINGS, ids=lambda pair: " / ".join(pair))
def test_siblings_of_one_layer_import_nothing_of_each_other(pair: tuple[str, str]) -> None:
    modules = code_modules()
    crossing = [f"{name} imports {target}" for name, path in modules.items()
                for mine, other in (pair, pair[::-1]) if name == mine or name.startswith(f"{mine}.")
                for target, _ in imports(name, path) if target == other or target.startswith(f"{other}.")]
    assert not crossing, "\n".join(crossing)


def test_no_import_cycles_at_module_level() -> None:
    modules = code_modules()
    graph = {name: {owner(t, modules) for t, top in imports(name, path) if top} - {name, ""}
             for name, path in modules.items()}
    for name in graph:  # a package's __init__ runs before its modules: importing it is no edge back
        graph[name] = {t for t in graph[name] if not name.startswith(f"{t}.")}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()
    for start in sorted(graph):
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        path = [start]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                done.add(node)
                stack.pop()
                path.pop()
            elif child in path:
                return [*path[path.index(child):], child]
            elif child not in done and child in graph:
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
    return None


@pytest.mark.parametrize("name", ["pushfake.leanplum.actions", "pushfake.dengage.state", "pushfake.core.store"])
def test_vendor_rules_and_state_never_import_http(name: str) -> None:
    """State and rules apart from HTTP: these modules run without Starlette."""
    path = code_modules()[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.startswith("starlette")]
