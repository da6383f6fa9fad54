"""EPCIS events, the append-only ledger over them, and the indexes that tracing walks.

An event row keeps the event as captured (canonical vocabulary, JSON-LD) for export and for
re-hashing, plus the columns queries filter on. Its ``seq``/``chain_hash`` place it in the
ledger: chain_hash = SHA-256(previous chain_hash ‖ hash_id), so editing, deleting, inserting or
reordering rows behind the service's back breaks the chain at a named entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace.models.base import Base, utcnow


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (
        # An errorDeclaration repeats its event's eventID, and the CBV hash leaves the
        # declaration out: only events that declare nothing are unique by eventID and by hash.
        Index(
            "uq_event_event_id_original",
            "event_id",
            unique=True,
            postgresql_where=text("NOT declares_error"),
            sqlite_where=text("NOT declares_error"),
        ),
        Index(
            "uq_event_hash_id_original",
            "hash_id",
            unique=True,
            postgresql_where=text("NOT declares_error"),
            sqlite_where=text("NOT declares_error"),
        ),
        Index("ix_event_hash_id", "hash_id"),
        Index("ix_event_event_time", "event_time"),
        Index("ix_event_record_time", "record_time"),
        # A page view's freshness reads each of its batch's events' seq and record time: from
        # this index alone on PostgreSQL, not from the (large) event rows.
        Index("ix_event_freshness", "id", postgresql_include=["seq", "record_time"]),
        Index("ix_event_biz_step_time", "biz_step", "event_time"),
        Index("ix_event_biz_location", "biz_location"),
        Index("ix_event_read_point", "read_point"),
    )

    #: Assigned by the capture, equal to ``seq`` when stored (``seq`` may be tampered with; the
    #: id, which the indexes reference, stays).
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(200), index=True)
    hash_id: Mapped[str] = mapped_column(String(120))
    event_type: Mapped[str] = mapped_column(String(32))
    action: Mapped[str | None] = mapped_column(String(8))
    event_time: Mapped[dt.datetime]
    event_time_zone_offset: Mapped[str] = mapped_column(String(6))
    record_time: Mapped[dt.datetime] = mapped_column(default=utcnow)
    biz_step: Mapped[str | None] = mapped_column(String(200))
    disposition: Mapped[str | None] = mapped_column(String(200))
    read_point: Mapped[str | None] = mapped_column(String(300))
    biz_location: Mapped[str | None] = mapped_column(String(300))
    document: Mapped[dict[str, Any]]
    namespaces: Mapped[dict[str, Any]] = mapped_column(default=dict)
    declares_error: Mapped[bool] = mapped_column(default=False)
    captured_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    captured_by_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id"), index=True
    )
    seq: Mapped[int] = mapped_column(unique=True)
    chain_hash: Mapped[str] = mapped_column(String(64))

    epcs: Mapped[list[EventEpc]] = relationship(back_populates="event")


class LedgerHead(Base):
    """One row: the last sequence number and chain hash. Appenders lock it (PostgreSQL
    ``SELECT … FOR UPDATE``; SQLite's write lock does the same), so the chain never forks."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    chain_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EventEpc(Base):
    """Every identifier an event names, in canonical form, with the batch it resolves to.

    ``role`` says where in the event it stood: epc, parent, child, input, output (instances) or
    epc_class, child_class, input_class, output_class (lot-level classes, with quantity).
    """

    __tablename__ = "event_epc"
    __table_args__ = (
        Index("ix_event_epc_uri", "uri"),
        Index("ix_event_epc_batch_time", "batch_id", "event_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    uri: Mapped[str] = mapped_column(String(400))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"))
    event_time: Mapped[dt.datetime]

    event: Mapped[Event] = relationship(back_populates="epcs")


class BatchLink(Base):
    """One edge of the genealogy: ``input_batch`` went into ``output_batch`` through an event."""

    __tablename__ = "batch_link"
    __table_args__ = (
        UniqueConstraint("input_batch_id", "output_batch_id", "event_pk"),
        Index("ix_batch_link_output", "output_batch_id", "input_batch_id"),
        Index("ix_batch_link_input", "input_batch_id", "output_batch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    input_batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"))
    output_batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"))
    event_pk: Mapped[int] = mapped_column(ForeignKey("event.id"))
