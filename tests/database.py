"""Raw SQL in tests, on what the test's sessions see.

A test runs inside one transaction rolled back at its end (see ``tests/conftest.py``): a
connection taken from the engine would not see its rows (PostgreSQL) or would wait for its write
lock (SQLite). :func:`connection` is the test's own connection, used directly (no savepoint of
its own, so the sessions' savepoints keep their order); in a ``committed`` test, a transaction
of the engine, committed at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from trace.db import db

# The connection of the running test's rolled-back transaction (set by tests/conftest.py).
current: Connection | None = None


@contextmanager
def connection(app: Flask) -> Iterator[Connection]:
    if current is not None:
        yield current
        return
    with db.engine_for(app).begin() as conn:
        yield conn


def throwaway_postgres(server_url: str, prefix: str) -> Iterator[str]:
    """A database of our own on the PostgreSQL server ``server_url``, dropped afterwards."""
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
