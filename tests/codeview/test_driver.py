"""The view statement's connection (:mod:`trace.codeview.driver`): kept by its thread in
autocommit mode, left out of the pool, replaced after it breaks."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from flask import Flask

from trace.codeview import driver
from trace.db import db


@pytest.fixture
def pg(app: Flask) -> Flask:
    if db.engine_for(app).dialect.name != "postgresql":
        pytest.skip("the driver's path is PostgreSQL's: this runs in CI's PostgreSQL pass")
    return app


def _backend(sql: str = "SELECT pg_backend_pid()") -> Any:
    row = driver.execute(sql, {})
    assert row is not None
    return row[0]


def test_the_thread_keeps_one_connection_in_autocommit_outside_the_pool(pg: Flask) -> None:
    with pg.app_context():
        checked_out = db.engine.pool.checkedout()  # type: ignore[attr-defined]
        first = _backend()
        assert _backend() == first  # the same connection for the next statement
        assert _backend("SELECT txid_current_if_assigned() IS NULL AND now() = now()") is True
        # Each statement is its own transaction: two statements see two transaction times.
        assert _backend("SELECT now()") != _backend("SELECT now()")
        assert db.engine.pool.checkedout() == checked_out  # type: ignore[attr-defined]


def test_a_broken_connection_fails_its_statement_and_the_next_gets_a_new_one(pg: Flask) -> None:
    with pg.app_context():
        first = _backend()
        with db.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(first)})")
        with pytest.raises(psycopg.OperationalError):
            _backend()
        second = _backend()
        assert second != first


def test_a_failing_statement_leaves_the_connection_usable(pg: Flask) -> None:
    with pg.app_context():
        first = _backend()
        with pytest.raises(psycopg.errors.DivisionByZero):
            _backend("SELECT 1 / 0")
        assert _backend() == first


def test_the_thread_keeps_its_cursor_and_reads_values_as_they_were_written(pg: Flask) -> None:
    """Results come in binary on a kept cursor: the values the page reads (times with their
    zone, arrays of text, Vietnamese text, nulls) arrive as a cursor of the driver's own
    reads them."""
    sql = (
        "SELECT now(), ARRAY['a', 'b'], 'Vải thiều Lục Ngạn'::text, NULL::text, 42::bigint, "
        "true, %(code)s::text"
    )
    with pg.app_context():
        row = driver.execute(sql, {"code": "8FBNYCDN2ZAW09"})
        kept = driver._held.cursor
        again = driver.execute(sql, {"code": "8FBNYCDN2ZAW09"})
        assert driver._held.cursor is kept  # not a cursor per statement
        with driver._connection().cursor() as plain:
            expected = plain.execute(sql, {"code": "8FBNYCDN2ZAW09"}).fetchone()
    assert row is not None and again is not None and expected is not None
    assert row[1:] == again[1:] == expected[1:]
    assert row[0].utcoffset() is not None and row[1] == ["a", "b"]
