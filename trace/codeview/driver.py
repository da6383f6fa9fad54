"""Statements of the page view's hot path, sent through the database driver itself."""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import Engine

from trace.db import db


class _Held(threading.local):
    """The connection this thread keeps for the view's statements, and whose it is."""

    engine: Engine | None = None
    pid: int = 0
    driver: Any = None
    cursor: Any = None


_held = _Held()


def _cursor() -> Any:
    """This thread's cursor on :func:`_connection`: kept, and with results in binary.

    A cursor per statement set up its row loaders anew (thirty columns on a first view); a kept
    cursor reuses them, and binary results are parsed with less work than text (together a
    third of the driver's time on a first view)."""
    driver = _connection()
    cursor = _held.cursor
    if cursor is None or cursor.connection is not driver or cursor.closed:
        cursor = _held.cursor = driver.cursor(binary=True)
    return cursor


def _connection() -> Any:
    """This thread's own connection to the app's database, in autocommit mode for good.

    Taking a pooled connection per statement cost a checkout, a checkin and two round trips of
    the driver to turn autocommit on and off again (a third of a first view's database time).
    The connection is taken from the pool once (so the pool's connect hooks run) and detached
    from it: the pool's sessions keep all of their connections. It is replaced when the app's
    engine changes (another app in this thread) or in a forked process."""
    engine = db.engine
    pid = os.getpid()
    driver: Any = _held.driver
    if driver is not None and _held.engine is engine and _held.pid == pid and not driver.closed:
        return driver
    if driver is not None and _held.pid == pid:
        driver.close()
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    pooled.detach()
    driver.autocommit = True
    _held.engine, _held.pid, _held.driver = engine, pid, driver
    return driver


def execute(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """One statement in autocommit mode on this thread's connection (:func:`_connection`),
    through its kept cursor (:func:`_cursor`): no SQLAlchemy result machinery, the row is a
    plain tuple.

    A connection the driver reports broken (database restarted, network cut) is closed and
    dropped: the request fails, the next one opens a fresh connection."""
    cursor = _cursor()
    try:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row
    except Exception:
        driver = cursor.connection
        if driver.broken or driver.closed:
            driver.close()
            _held.driver = _held.cursor = None
        raise
