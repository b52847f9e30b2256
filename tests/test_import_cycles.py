"""No import cycle anywhere in pytest_ecr (issue #17).

Every module is parsed with ``ast``; every ``import`` / ``from ... import`` of a pytest_ecr module
counts, wherever it stands: at module level, inside a function (a function-level import only
postpones the cycle to call time), and under ``if TYPE_CHECKING:`` too (a type-only cycle still
means two modules that cannot be understood apart). Strongly connected components are found with
Tarjan's algorithm; a failure prints each cycle as a path of imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_ecr

PACKAGE = "pytest_ecr"
ROOT = Path(pytest_ecr.__file__).parent


def module_name(path: Path) -> str:
    parts = (PACKAGE, *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}

    def known(name: str) -> str | None:
        # "from .service import images" names the submodule; "from .store import Image" the module
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = resolve(name, is_package, node)
                targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
            for target in targets:
                if target.split(".")[0] != PACKAGE:
                    continue
                hit = known(target)
                # importing a package's submodule runs the package's __init__ too, but an
                # __init__ that imports nothing back cannot close a cycle: count the submodule
                if hit is not None and hit != name:
                    graph[name].add(hit)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the components with more than one module, or a self-import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def a_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete cycle inside a strongly connected component, as a path start -> ... -> start."""
    members = set(component)
    start = component[0]
    parent: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return component


def test_the_checker_finds_a_cycle() -> None:
    # the checker itself must be able to fail
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert a_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_function_level_type_checking_and_relative_imports_are_edges() -> None:
    graph = import_graph()
    # relative, module level: "from ..store import ..." in service/context.py
    assert "pytest_ecr.store" in graph["pytest_ecr.service.context"]
    # function level: "from .oci_layout import ..." inside FakeECR.import_oci_layout
    assert "pytest_ecr.oci_layout" in graph["pytest_ecr.fake"]
    # under "if TYPE_CHECKING:" only: "from .synthetic import SyntheticImage" in upstreams.py
    assert "pytest_ecr.synthetic" in graph["pytest_ecr.upstreams"]
    # "from .service import manifests" names the submodule, not the package
    assert "pytest_ecr.service.manifests" in graph["pytest_ecr.fake"]


def test_no_import_cycle_in_pytest_ecr() -> None:
    graph = import_graph()
    cycles = [" -> ".join(a_cycle(graph, c)) for c in strongly_connected(graph)]
    components = [", ".join(c) for c in strongly_connected(graph)]
    assert not cycles, "import cycles in pytest_ecr:\n" + "\n".join(
        f"  {path}\n    (component: {members})" for path, members in zip(cycles, components, strict=True)
    )
