"""Raw SQL in tests, on what the test's sessions see.

A test runs inside one transaction rolled back at its end (see ``tests/conftest.py``): a
connection taken from the engine would not see its rows (PostgreSQL) or would wait for its write
lock (SQLite). :func:`connection` is one of the test's own, committed at the end (to the test's
savepoint, or for real in a ``committed`` test).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import Connection

from trace.db import db


@contextmanager
def connection(app: Flask) -> Iterator[Connection]:
    with db.new_session(app) as own:
        yield own.connection()
        own.commit()
