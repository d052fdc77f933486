"""The house's layers: imports only go down, and no module imports itself round a cycle.

Every import is counted, including those inside functions and `imports_passed_through`
blocks: a lazy import that goes up is still an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import repo_root

# Each top-level part of the project, with the parts it may import (besides itself).
MAY_IMPORT: dict[str, set[str]] = {
    "models": set(),
    "core": {"models"},
    "workflows": {"models"},  # deterministic code: no database, no I/O
    "store": {"core", "models"},
    "migrations": {"core", "store", "models"},
    "activities": {"store", "core", "models"},
    "notify": {"store", "core", "models"},
    "cases": {"workflows", "store", "core", "models"},
    "api": {"cases", "store", "core", "models"},
    # The browser console runs the API's own commands and reads; the API never imports it.
    "console": {"api", "cases", "store", "core", "models"},
    # The composition roots wire the rest together.
    "worker": {"activities", "workflows", "notify", "store", "core", "models"},
    "ops": {
        "worker",
        "console",
        "api",
        "cases",
        "notify",
        "activities",
        "workflows",
        "store",
        "core",
    }
    | {"models", "migrations"},
    # The benchmark starts the system as `mediation up` does and drives it over HTTP; and
    # times the store's writes alone (bench.steps: a step, an audit row, the outbox).
    "bench": {"ops", "api", "cases", "workflows", "notify", "store", "core", "models"},
}


def project_modules(root: Path) -> dict[str, Path]:
    """Module name → file, for every module of ours (tests aside)."""
    out: dict[str, Path] = {}
    for part in MAY_IMPORT:
        single = root / f"{part}.py"
        if single.exists():
            out[part] = single
        for path in (root / part).rglob("*.py") if (root / part).is_dir() else ():
            rel = path.relative_to(root).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports (the deepest known module each import names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
                break
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules(repo_root())
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def part_of(module: str) -> str:
    return module.split(".")[0]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{src} imports {dst}"
        for src, targets in graph.items()
        for dst in targets
        if part_of(dst) != part_of(src) and part_of(dst) not in MAY_IMPORT[part_of(src)]
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Module-level import cycles (Tarjan's strongly connected components of size > 1)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_import_goes_down_a_layer_or_stays_in_its_own() -> None:
    graph = import_graph()
    assert len(graph) > 40, "the walk found too few modules to mean anything"
    assert upward_imports(graph) == []


def test_no_module_imports_itself_round_a_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_check_catches_an_upward_import_and_a_cycle() -> None:
    graph = import_graph()
    graph["core.settings"] = {*graph["core.settings"], "api.app"}
    graph["store.seed"] = {*graph["store.seed"], "store.principals"}
    graph["store.principals"] = {*graph["store.principals"], "store.seed"}
    assert upward_imports(graph) == ["core.settings imports api.app"]
    assert ["store.principals", "store.seed"] in cycles(graph)
