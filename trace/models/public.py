"""What the public side records: scans of codes and consumers' reports."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trace.models.base import Base, utcnow


class Scan(Base):
    """One public lookup of a code. The client is a salted hash of its address (never the
    address, never its User-Agent); ``province_code`` is what the client offered, information only.

    An append-only log written by one statement that inserts the ids it has just read: it
    carries no foreign keys, whose checks would lock the code and batch rows on every view.
    """

    __tablename__ = "scan"
    __table_args__ = (
        Index("ix_scan_code_at", "code_id", "at"),
        Index("ix_scan_batch_at", "batch_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int | None]
    batch_id: Mapped[int | None]
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    client_hash: Mapped[str] = mapped_column(String(64))
    province_code: Mapped[str | None] = mapped_column(String(2))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    language: Mapped[str | None] = mapped_column(String(8))


class ScanClient(Base):
    """The distinct clients of a code: one row per code and client hash (one client on one
    day), with its first scan. Written beside each scan, ``ON CONFLICT DO NOTHING``, so a
    code's count and copy warning read its distinct clients, never its repeat scans; the primary
    key keeps the count exact whatever the number of processes. No foreign keys, as ``scan``."""

    __tablename__ = "scan_client"
    __table_args__ = (Index("ix_scan_client_code_first", "code_id", "first_at"),)

    code_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    client_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_at: Mapped[dt.datetime]


class Report(Base):
    """A consumer's report of a problem, from the public page, for inspectors to resolve."""

    __tablename__ = "report"
    __table_args__ = (Index("ix_report_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("code.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(2000))
    contact: Mapped[str | None] = mapped_column(String(200))
    client_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(2000))
    resolved_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    #: the console user handling the report, and who resolved it (through a session)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[dt.datetime | None]
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class BatchCheck(Base):
    """The last run of the ledger verifier over one batch (:mod:`trace.codeview.ledgercheck`):
    when, whether the batch's events and what the page shows of them still match the ledger,
    how many events, and the first problem found. The public page states the time of a
    successful check while it is recent; a failed check takes the mark off."""

    __tablename__ = "batch_check"

    batch_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    checked_at: Mapped[dt.datetime] = mapped_column(index=True)
    ok: Mapped[bool]
    checked: Mapped[int]
    problem: Mapped[str | None] = mapped_column(String(500))
    # What the full check read, hashed by PostgreSQL (None elsewhere, or not checked in full):
    # a pass finding the same digest records the check again without re-hashing the events.
    digest: Mapped[str | None] = mapped_column(String(64))


class BatchFreshness(Base):
    """A batch's freshness facts that come from other tables (:class:`lookup.Freshness`): its
    event count, latest ledger seq and record time, open recall and closed recalls. Kept by
    PostgreSQL's triggers (migration ``0022_batch_freshness``) in the transaction of every write
    that changes them, so a page's first view reads one row instead of counting the batch's
    events. No row: no events and no recalls. Unused on SQLite, whose pages read the sources."""

    __tablename__ = "batch_freshness"

    batch_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_count: Mapped[int] = mapped_column(server_default="0")
    last_seq: Mapped[int | None]
    last_recorded_at: Mapped[dt.datetime | None]
    open_recall_id: Mapped[int | None]
    closed_recalls: Mapped[int] = mapped_column(server_default="0")


class StoredPage(Base):
    """A rendered part of a public page, shared by every worker and node: the page of a batch
    in one language and form, keyed by the batch's freshness token, so a change of what the
    page shows (an event, a recall, an edit, a voided code) makes the row unreachable at once.
    Rows of an older token are deleted by the verifier."""

    __tablename__ = "stored_page"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    batch_id: Mapped[int] = mapped_column(index=True)
    token: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    made_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EventChunkCheck(Base):
    """The ledger verifier's walk over the whole event table, one row per chunk of event ids
    (:mod:`trace.codeview.chunkcheck`): the digest of the chunk's event, ``event_epc`` and
    ``batch_link`` rows when last re-derived, and what that found. A batch's own check only
    sees the events still linked to it; a row deleted, moved or slipped in is found here, and
    ``batches`` (the batches the documents name, and those the stored rows name) fail their
    checks while it stands."""

    __tablename__ = "event_chunk_check"

    chunk: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    checked_at: Mapped[dt.datetime]
    digest: Mapped[str] = mapped_column(String(64))
    #: the ids of the batches whose checks fail, space-separated ("" when the chunk is sound)
    batches: Mapped[str] = mapped_column(Text, default="")
    problem: Mapped[str | None] = mapped_column(String(500))


class PublicChange(Base):
    """SQLite's stand-in for ``NOTIFY``: one row whose ``seq`` triggers (migration
    ``0019_sqlite_change_seq``) change in the same transaction as any write to what a public page
    shows. A worker reads it before each view (one indexed row) and forgets every code it
    remembers when it moved (:class:`trace.codeview.changes.ChangeCounter`). Scans do not
    touch it. A row deleted comes back at a random value, never one a worker may have seen.
    Unused on PostgreSQL, whose triggers notify instead."""

    __tablename__ = "public_change"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
