"""Shared column helpers for the models."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum
from sqlalchemy.orm import Mapped, mapped_column

from trace.db import Base

MAX_ID = 2**31 - 1
"""The largest id a row can have: ids are 32-bit integers on PostgreSQL."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def str_enum(cls: type[enum.Enum], name: str, length: int = 32) -> Enum:
    """An enum stored as its plain string values with a CHECK constraint: portable, and
    readable in raw SQL."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Archivable:
    """Things referenced by history are never deleted, only archived."""

    archived_at: Mapped[dt.datetime | None] = mapped_column(default=None)


__all__ = ["Archivable", "Base", "Timestamped", "str_enum", "utcnow"]
