"""Shared column helpers for the models."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Mapped, mapped_column

from trace.db import Base


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Archivable:
    """Things referenced by history are never deleted, only archived."""

    archived_at: Mapped[dt.datetime | None] = mapped_column(default=None)


__all__ = ["Archivable", "Base", "Timestamped", "utcnow"]
