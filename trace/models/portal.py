"""The national portal outbox: one record per organisation, product and batch to be sent.

A change to the entity bumps its record's ``version`` and makes it pending, in the same
transaction as the change. The sync worker claims due records, marks them ``sent`` (in flight,
under a lease), sends each version once under its idempotency key and records the portal's
answer. A record left ``sent`` by a worker that died is sent again once its lease has run out,
and that repeat is counted in ``repeats``.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trace.models.base import Base, str_enum, utcnow


class PortalKind(enum.StrEnum):
    ORGANIZATION = "organization"
    PRODUCT = "product"
    BATCH = "batch"


class PortalStatus(enum.StrEnum):
    PENDING = "pending"  # changed, waiting for its first attempt
    SENT = "sent"  # in flight: handed to the portal, no answer recorded yet
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # refused by the portal; not tried again until it changes or is re-sent
    RETRYING = "retrying"  # a transient failure; tried again at next_attempt_at
    FAILED = "failed"  # transient failures until the attempt limit; re-send or change it


class PortalRecord(Base):
    __tablename__ = "portal_record"
    __table_args__ = (
        UniqueConstraint("kind", "entity_id", name="uq_portal_record_entity"),
        Index("ix_portal_record_due", "status", "next_attempt_at"),
        Index("ix_portal_record_organization", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PortalKind] = mapped_column(str_enum(PortalKind, "portal_kind", length=16))
    entity_id: Mapped[int]
    # The organisation the record belongs to (itself, the product's owner, the batch's
    # producer): who may read the record is who may read that organisation's registry entries.
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[PortalStatus] = mapped_column(
        str_enum(PortalStatus, "portal_status", length=16), default=PortalStatus.PENDING
    )
    # Why it was refused or failed, as a code a centre officer can act on, and what to do.
    reason: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    portal_message: Mapped[str | None] = mapped_column(Text)  # the portal's own words
    attempts: Mapped[int] = mapped_column(default=0)  # of the current version
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[dt.datetime | None]
    # The version last handed to the portal, its idempotency key and body.
    sent_version: Mapped[int | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[dt.datetime | None]
    body: Mapped[dict[str, Any] | None]
    # What a success carries: the portal's id of the record and the national trace code.
    portal_id: Mapped[str | None] = mapped_column(String(100))
    national_code: Mapped[str | None] = mapped_column(String(100))
    accepted_version: Mapped[int | None]
    accepted_at: Mapped[dt.datetime | None]
    # Sends repeated because a worker stopped while the record was in flight.
    repeats: Mapped[int] = mapped_column(default=0)
    last_repeat_at: Mapped[dt.datetime | None]
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
