"""Keyset (cursor) pagination by ascending id, stable while rows are being inserted; and the
equality filters list endpoints share."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from trace.models import MAX_ID
from trace.services.errors import invalid

T = TypeVar("T")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "id" or not 0 <= int(value) <= MAX_ID:
            raise ValueError(kind)
        return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("/cursor", "cursor is not one this API returned") from None


def paginate(
    session: Session, stmt: Select[Any], id_column: Any, limit: int, cursor: str | None
) -> tuple[Sequence[Any], str | None]:
    """One page of ``stmt`` after ``cursor``, and the cursor of the next page (None at the end)."""
    if cursor:
        stmt = stmt.where(id_column > decode_cursor(cursor))
    rows = session.scalars(stmt.order_by(id_column).limit(limit + 1)).all()
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None


def where_equal(
    stmt: Select[Any], filters: Mapping[str, Any], columns: Mapping[str, Any]
) -> Select[Any]:
    """``column == filters[key]`` for every key of ``columns`` the filters carry."""
    for key, column in columns.items():
        if key in filters:
            stmt = stmt.where(column == filters[key])
    return stmt
