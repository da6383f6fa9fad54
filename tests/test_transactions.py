"""One transaction boundary (issue 11, item 3): ``trace.db.transaction`` commits, nothing else.

Two guards: the source is scanned for ``.commit(`` calls (only the boundary may make one), and
while the suite runs every ORM commit is checked at run time (``tests/conftest.py``:
``_commits_only_at_the_boundary``): a commit made by application code that is not the boundary
fails the test that caused it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trace.db import db, transaction
from trace.models import Organization

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "trace"

# Where a commit may be written down: the boundary itself. (Alembic's ``engine.begin()`` in
# trace/migrate.py and the scan COPY's ``transaction(bind=engine)`` commit through a context
# manager, not a call.)
BOUNDARIES = {("trace/db.py", "_session_transaction")}


def _commit_calls(path: Path, root: Path = ROOT) -> list[tuple[str, str, int]]:
    """``(file, enclosing function, line)`` of every ``<something>.commit(...)`` call."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "commit"
            ):
                found.append((path.relative_to(root).as_posix(), function, child.lineno))
            visit(child, inner)

    visit(tree, "<module>")
    return found


def _all_commit_calls(under: Path) -> list[tuple[str, str, int]]:
    return [call for path in sorted(under.rglob("*.py")) for call in _commit_calls(path)]


def test_services_never_commit() -> None:
    calls = _all_commit_calls(PACKAGE / "services")
    assert calls == [], f"services commit: {calls}"


def test_commits_are_written_only_at_the_named_boundary() -> None:
    calls = _all_commit_calls(PACKAGE)
    assert calls, "the scan found no commit at all: it no longer sees the boundary"
    outside = [call for call in calls if (call[0], call[1]) not in BOUNDARIES]
    assert outside == [], f"commits outside trace.db.transaction: {outside}"


def test_the_source_scan_finds_a_commit(tmp_path: Path) -> None:
    """The scan itself: a service module that commits is found, in a nested function too."""
    module = tmp_path / "service.py"
    module.write_text(
        "def create(session):\n    def inner():\n        session.commit()\n    inner()\n"
    )
    assert _commit_calls(module, tmp_path) == [("service.py", "inner", 3)]


def _organizations(app: Flask) -> int:
    with db.new_session(app) as fresh:
        return fresh.scalar(select(func.count()).select_from(Organization)) or 0


def _organization(n: int) -> Organization:
    return Organization(
        kind="cooperative",
        name=f"HTX giao dịch {n}",
        tax_code=f"{2490000000 + n}",
        province_code="24",
        address="xã Lục Ngạn, tỉnh Bắc Ninh",
    )


def test_a_writing_transaction_commits(app: Flask) -> None:
    with app.app_context(), transaction(write=True) as session:
        session.add(_organization(1))
    assert _organizations(app) == 1


def test_a_failed_transaction_writes_nothing(app: Flask) -> None:
    with (
        app.app_context(),
        pytest.raises(ZeroDivisionError),
        transaction(write=True) as session,
    ):
        session.add(_organization(2))
        session.flush()
        _ = 1 / 0
    assert _organizations(app) == 0


def test_a_reading_transaction_never_commits(app: Flask) -> None:
    with app.app_context(), transaction(write=False) as session:
        session.add(_organization(3))
        session.flush()
    assert _organizations(app) == 0


def test_boundaries_do_not_nest_and_do_not_swallow_unflushed_changes(app: Flask) -> None:
    with app.app_context():
        outer = transaction(write=True)
        with outer, pytest.raises(RuntimeError, match="nested"), transaction(write=True):
            pass
        session = db.session
        session.add(_organization(4))
        with pytest.raises(RuntimeError, match="unflushed"), transaction(write=True):
            pass
        session.rollback()
    assert _organizations(app) == 0


def test_a_commit_from_application_code_fails_at_run_time(app: Flask, session: Session) -> None:
    """The run-time guard: a commit made from a module of ``trace`` other than the boundary
    (here code compiled as if it were ``trace/services/registry.py``) raises."""
    fake = str(PACKAGE / "services" / "registry.py")
    code = compile("session.commit()", fake, "exec")
    session.add(_organization(5))
    # conftest.CommitOutsideBoundary (conftest is not importable under one name): an assertion
    with pytest.raises(AssertionError, match=r"trace/services/registry\.py:1 commits outside"):
        exec(code, {"session": session})
    session.rollback()
    assert _organizations(app) == 0
