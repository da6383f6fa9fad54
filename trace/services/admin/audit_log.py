"""The audit log for the administrator: every :class:`~trace.models.AuditEntry`, newest first,
filtered by user, organisation, kind of change (action, kind of thing) and time, a page at a
time by id (keyset: the table grows with every write, an offset would read it all)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from trace.models import AuditEntry
from trace.services.actors import Actor
from trace.services.admin import require_admin


@dataclass(frozen=True)
class AuditFilters:
    user_id: int | None = None
    organization_id: int | None = None
    action: str | None = None
    entity_type: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def entries(
    session: Session, actor: Actor, filters: AuditFilters, limit: int, before_id: int | None
) -> tuple[Sequence[AuditEntry], int | None]:
    """A page of entries with ids below ``before_id``, newest first, and the id the next page
    continues before (``None`` at the end)."""
    require_admin(actor)
    stmt = select(AuditEntry)
    if filters.user_id is not None:
        stmt = stmt.where(AuditEntry.user_id == filters.user_id)
    if filters.organization_id is not None:
        stmt = stmt.where(AuditEntry.actor_organization_id == filters.organization_id)
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.entity_type:
        stmt = stmt.where(AuditEntry.entity_type == filters.entity_type)
    if filters.since is not None:
        stmt = stmt.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEntry.at < filters.until)
    if filters.since is None and filters.until is None:
        stmt = stmt.order_by(AuditEntry.id.desc())
        if before_id is not None:
            stmt = stmt.where(AuditEntry.id < before_id)
    else:
        # Within a time range, by time (index (at, id)): ordered by id, the database would walk
        # every newer entry to reach an older range, not knowing that ids grow with time.
        stmt = stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        at = session.scalar(select(AuditEntry.at).where(AuditEntry.id == before_id))
        if at is not None:
            # a row value, so the continuation is part of the index condition
            stmt = stmt.where(tuple_(AuditEntry.at, AuditEntry.id) < tuple_(at, before_id))
    rows = list(session.scalars(stmt.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
