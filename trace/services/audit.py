"""The audit trail: every write leaves an AuditEntry with the state before and after."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from trace.db import table_of
from trace.models import AuditEntry
from trace.services.actors import Actor

_SKIPPED = {"search_text", "created_at", "updated_at"}
IMPORT_KEY = "trace.import_id"
"""``session.info[IMPORT_KEY]``: the spreadsheet import the session's writes belong to; every
audit entry recorded meanwhile points to it."""


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(entity: Any) -> dict[str, Any]:
    """The entity's column values as JSON-ready data."""
    mapper = inspect(entity).mapper
    return {
        column.key: _plain(getattr(entity, column.key))
        for column in mapper.column_attrs
        if column.key not in _SKIPPED
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        token_id=actor.token_id,
        user_id=actor.user_id,
        actor=actor.label,
        actor_organization_id=actor.organization_id,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
        import_id=session.info.get(IMPORT_KEY),
    )
    session.add(entry)
    return entry


#: (actor, action, entity type, entity id, before, after)
Change = tuple[Actor, str, str, object, "dict[str, Any] | None", "dict[str, Any] | None"]


def record_many(session: Session, changes: Sequence[Change]) -> None:
    """The entries of many changes in one INSERT (what :func:`record` adds one by one)."""
    if not changes:
        return
    import_id = session.info.get(IMPORT_KEY)
    now = dt.datetime.now(dt.UTC)
    session.execute(
        insert(table_of(AuditEntry)),
        [
            {
                "at": now,
                "token_id": actor.token_id,
                "user_id": actor.user_id,
                "actor": actor.label,
                "actor_organization_id": actor.organization_id,
                "action": action,
                "entity_type": entity_type,
                "entity_id": str(entity_id),
                "before": before,
                "after": after,
                "import_id": import_id,
            }
            for actor, action, entity_type, entity_id, before, after in changes
        ],
    )
