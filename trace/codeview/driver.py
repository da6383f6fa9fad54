"""Statements of the page view's hot path, sent through the database driver itself."""

from __future__ import annotations

from typing import Any

from trace.db import db


def execute(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """One statement on a pooled connection in autocommit mode, through the driver's own cursor
    (no SQLAlchemy result machinery: the row is a plain tuple).

    A connection the driver reports broken (database restarted, network cut) is invalidated,
    so the pool replaces it: the request fails, the next one gets a fresh connection.
    """
    pooled = db.engine.raw_connection()
    driver: Any = pooled.driver_connection
    try:
        driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                cursor.execute(sql, params)
                row: tuple[Any, ...] | None = cursor.fetchone()
        finally:
            if not driver.broken:
                driver.autocommit = False
        return row
    except Exception:
        if driver.broken or driver.closed:
            pooled.invalidate()
        raise
    finally:
        pooled.close()
