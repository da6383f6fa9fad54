"""The import graph, drawn from the source with ``ast``: pure engines stay pure, and trace's
packages import each other in one direction only (no cycle)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "trace"

# Engines that turn values into values: no database, no web framework, nothing above them.
PURE = {
    "trace.gs1": {"trace.gs1"},
    "trace.epcis": {"trace.epcis", "trace.gs1"},
    "trace.labels": {"trace.labels"},
    "trace.render": {"trace.render"},
}
FRAMEWORKS = {"flask", "werkzeug", "jinja2", "sqlalchemy", "alembic", "marshmallow", "psycopg"}
SERVICE_CORE = {"actors", "errors", "audit", "pagination"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at the top or inside functions (a lazy import is still
    an arrow)."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield module
            # ``from trace import jobs`` is an arrow to trace.jobs, not to trace/__init__.py
            yield from (f"{module}.{alias.name}" for alias in node.names)


@cache
def graph() -> dict[str, set[str]]:
    sources = [p for p in ROOT.rglob("*.py") if "migrations" not in p.parts]
    known = {module_name(p) for p in sources}
    arrows: dict[str, set[str]] = {}
    for path in sources:
        targets = set()
        for target in imports(path):
            if target.split(".")[0] != "trace" or target in known:
                targets.add(target)
        arrows[module_name(path)] = targets
    return arrows


def unit(module: str, depth: int) -> str:
    """The package (or top-level module) a module belongs to, ``depth`` levels below trace."""
    return ".".join(module.split(".")[: depth + 1])


def find_cycle(arrows: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(arrows.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(arrows):
        if node not in state and (found := visit(node)):
            return found
    return None


def package_arrows(arrows: dict[str, set[str]], within: str, depth: int) -> dict[str, set[str]]:
    units: dict[str, set[str]] = {}
    for source, targets in arrows.items():
        if not source.startswith(within + ".") or source.count(".") < depth:
            continue
        a = unit(source, depth)
        for target in targets:
            if target.startswith(within + ".") and target.count(".") >= depth:
                b = unit(target, depth)
                if a != b:
                    units.setdefault(a, set()).add(b)
    return units


def test_the_graph_is_read_from_the_source() -> None:
    arrows = graph()
    assert "trace.services.events.capture" in arrows["trace.api.events"]
    assert "trace.labels.qr" in arrows["trace.labels.sheets"]
    assert "trace.jobs" in arrows["trace.services.labels.issuance"]  # ``from trace import jobs``
    assert "sqlalchemy.orm" in arrows["trace.services.events.ledger"]


@pytest.mark.parametrize("package", sorted(PURE))
def test_pure_engines_import_no_framework_and_nothing_above_them(package: str) -> None:
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in graph().items()
        if source == package or source.startswith(package + ".")
        for target in targets
        if (target.split(".")[0] == "trace" and unit(target, 1) not in PURE[package])
        or target.split(".")[0] in FRAMEWORKS
    )
    assert wrong == []


def test_no_cycle_among_traces_packages() -> None:
    # trace/__init__.py (the factory, which wires everything) is not among them: nothing
    # imports it but wsgi.py.
    assert find_cycle(package_arrows(graph(), "trace", 1)) is None


def test_no_cycle_among_the_services_domains() -> None:
    assert find_cycle(package_arrows(graph(), "trace.services", 2)) is None


def test_the_services_core_imports_no_domain() -> None:
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in graph().items()
        if source.removeprefix("trace.services.") in SERVICE_CORE
        for target in targets
        if target.startswith("trace.services.")
        and unit(target, 2).removeprefix("trace.services.") not in SERVICE_CORE
    )
    assert wrong == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_the_read_model_of_a_scanned_code_sits_between_services_and_public() -> None:
    """``trace.codeview`` uses the services and is used by ``public/``; it reaches no face, and
    no service reaches it (the arrows of one direction only)."""
    faces = ("trace.public", "trace.api", "trace.console")
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets
        if (source.startswith("trace.codeview") and target.startswith(faces))
        or (source.startswith("trace.services") and target.startswith("trace.codeview"))
    )
    assert wrong == []
    assert "trace.codeview.pageview" in graph()["trace.public.views"]
