"""The national portal outbox, written in the same transaction as the change it announces.

The registry's writes (create, update, archive), a recall's status changes and captured events
(a batch's stages) call :func:`mark_changed`: the record of each entity is created, or its
version bumped and made pending again, in one set-based upsert. A new version has a new
idempotency key, so a record the portal refused is tried again only when it changes (or an
officer re-sends it, which is a new version too). Delivery is the sync worker's job
(:mod:`trace.services.portal.sync`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trace.db import table_of
from trace.models import Batch, Organization, PortalKind, PortalRecord, PortalStatus, Product

_CHUNK = 1000


def kind_and_owner(entity: Organization | Product | Batch) -> tuple[PortalKind, int]:
    """The record kind of a registry entity and the organisation its record belongs to."""
    if isinstance(entity, Organization):
        return PortalKind.ORGANIZATION, entity.id
    if isinstance(entity, Product):
        return PortalKind.PRODUCT, entity.organization_id
    return PortalKind.BATCH, entity.producer_id


def mark_entity(session: Session, entity: Any) -> None:
    """Announce a change to an organisation, product or batch (other entities are not sent)."""
    if isinstance(entity, Organization | Product | Batch):
        kind, owner = kind_and_owner(entity)
        mark_changed(session, kind, {entity.id: owner})


def mark_batches(session: Session, batch_ids: Iterable[int]) -> None:
    """Announce a change to these batches (their status, their stages)."""
    ids = sorted(set(batch_ids))
    owners: dict[int, int] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        owners.update(
            session.execute(select(Batch.id, Batch.producer_id).where(Batch.id.in_(chunk))).all()
        )
    mark_changed(session, PortalKind.BATCH, owners)


def mark_changed(session: Session, kind: PortalKind, owners: Mapping[int, int]) -> None:
    """Make the records of these entities (``entity id -> owning organisation id``) pending
    with a new version, creating the ones that do not exist yet."""
    if not owners:
        return
    now = dt.datetime.now(dt.UTC)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One statement for every row (an executemany the driver batches): compiled once, not once
    # per thousand-row VALUES list.
    table = table_of(PortalRecord)
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "entity_id"],
        set_={
            "version": table.c.version + 1,
            "organization_id": stmt.excluded.organization_id,
            "status": PortalStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "reason": None,
            "message": None,
            "portal_message": None,
            "changed_at": now,
            "updated_at": now,
        },
    )
    items = sorted(owners.items())  # one order for every writer: no deadlock between upserts
    for start in range(0, len(items), _CHUNK):
        rows = [
            {
                "kind": kind,
                "entity_id": entity_id,
                "organization_id": owner,
                "version": 1,
                "status": PortalStatus.PENDING,
                "attempts": 0,
                "repeats": 0,
                "next_attempt_at": now,
                "changed_at": now,
                "updated_at": now,
            }
            for entity_id, owner in items[start : start + _CHUNK]
        ]
        session.execute(stmt, rows)
