"""Sync status per record, as centres and inspectors follow it, and the officer's re-send.

Read rule: admin and inspectors read every record, a centre the records of its province's
organisations, a producer its own organisation's (its products and batches). Re-sending is for
admin, inspectors and the province's centre: it makes a new version, sent under a new key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from trace.models import Organization, PortalKind, PortalRecord, Role
from trace.services import audit, outbox
from trace.services.actors import Actor
from trace.services.errors import Forbidden, NotFound
from trace.services.pagination import paginate


def _readable(stmt: Select[Any], actor: Actor) -> Select[Any]:
    if actor.is_admin or actor.role is Role.INSPECTOR:
        return stmt
    if actor.role is Role.CENTRE:
        provinces = select(Organization.id).where(Organization.province_code == actor.province_code)
        return stmt.where(PortalRecord.organization_id.in_(provinces))
    if actor.role is Role.PRODUCER and actor.organization_id is not None:
        return stmt.where(PortalRecord.organization_id == actor.organization_id)
    return stmt.where(false())


def list_records(
    session: Session, actor: Actor, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[PortalRecord], str | None]:
    stmt = _readable(select(PortalRecord), actor)
    if "status" in filters:
        stmt = stmt.where(PortalRecord.status == filters["status"])
    if "kind" in filters:
        stmt = stmt.where(PortalRecord.kind == filters["kind"])
    if "entity" in filters:
        stmt = stmt.where(PortalRecord.entity_id == filters["entity"])
    if "organization" in filters:
        stmt = stmt.where(PortalRecord.organization_id == filters["organization"])
    if "reason" in filters:
        stmt = stmt.where(PortalRecord.reason == filters["reason"])
    return paginate(session, stmt, PortalRecord.id, limit, cursor)


def get_record(session: Session, actor: Actor, record_id: int) -> PortalRecord:
    """A record the actor may read; one it may not is a 404, as if it did not exist (its
    existence would tell which organisations and batches another province has)."""
    record = cast(
        PortalRecord | None,
        session.scalar(_readable(select(PortalRecord), actor).where(PortalRecord.id == record_id)),
    )
    if record is None:
        raise NotFound(f"portal record {record_id} not found")
    return record


def resend(session: Session, actor: Actor, record_id: int) -> PortalRecord:
    """Send the record again, as a new version (after the cause of a refusal was fixed)."""
    record = get_record(session, actor, record_id)
    if actor.role is Role.PRODUCER:
        raise Forbidden("Only a centre or an inspector may re-send a record to the portal.")
    before = {"status": str(record.status), "version": record.version}
    outbox.mark_changed(
        session, PortalKind(record.kind), {record.entity_id: record.organization_id}
    )
    session.refresh(record)
    audit.record(
        session, actor, "portal_resend", "portal_record", record.id,
        before=before, after={"status": str(record.status), "version": record.version},
    )  # fmt: skip
    return record
