"""The outbox records' life cycle: claim due records, record the portal's answers.

These functions write through the session they are given and never commit: the sync loop
(:mod:`trace.services.portal.sync`) runs each step in a short transaction of its own. A claimed
record is ``sent`` (in flight) under the worker's lease; once the lease has run out (its worker
died mid-send) it is claimed again and sent again under the same idempotency key, and the repeat
is counted on the record (``repeats``): at least once, and at most the in-flight records twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from trace.models import PortalKind, PortalRecord, PortalStatus
from trace.services import outbox
from trace.services.portal.records import idempotency_key
from trace.services.portal.transport import Answer

KIND_ORDER = {PortalKind.ORGANIZATION: 0, PortalKind.PRODUCT: 1, PortalKind.BATCH: 2}

# What a centre officer does about each reason (the portal's own words are kept beside it).
ADVICE = {
    "organization_not_approved": (
        "The organisation is not approved on the national portal yet. Ask the National Barcode "
        "Center to approve it (by its tax code or GLN); its records are sent again by themselves "
        "once the organisation's record is accepted, or re-send them."
    ),
    "image_not_fetchable": (
        "The portal could not fetch the product image. Make sure the image is a JPG or PNG "
        "reachable from the internet at the URL sent (TRACE_PUBLIC_URL must be the public "
        "address), then re-send."
    ),
    "bad_gtin": (
        "The portal refused the product's GTIN. Check it is the GTIN GS1 Vietnam licensed to "
        "this organisation and correct the product (a change is sent again)."
    ),
    "invalid_record": (
        "The portal refused the record's content (see its message). Correct the record; a "
        "change is sent again."
    ),
    "missing": "The registry entry of this record no longer exists; nothing to send.",
    "credentials": (
        "The portal refused our sign-in (SSO token) even after a refresh. Check "
        "TRACE_PORTAL_CLIENT_ID and TRACE_PORTAL_CLIENT_SECRET; sending resumes by itself."
    ),
    "timeout": "The portal did not answer in time; it is tried again later.",
    "unavailable": "The portal is unavailable (server error or no connection); tried again later.",
    "rate_limited": "The portal asked us to slow down; tried again later.",
    "unreadable_answer": "The portal's answer could not be read; tried again later.",
}


@dataclass(frozen=True)
class Claimed:
    """One record in flight: what the worker sends, under which key."""

    id: int
    kind: PortalKind
    entity_id: int
    version: int
    key: str
    repeat: bool  # sent before without an answer recorded (its worker stopped)


@dataclass(frozen=True)
class Policy:
    lease_seconds: float = 300.0
    retry_seconds: float = 10.0
    max_retry_seconds: float = 3600.0
    max_attempts: int = 8


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _due(now: dt.datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            PortalRecord.status.in_([PortalStatus.PENDING, PortalStatus.RETRYING]),
            PortalRecord.next_attempt_at <= now,
        ),
        and_(PortalRecord.status == PortalStatus.SENT, PortalRecord.lease_until < now),
    )


def any_due(session: Session, now: dt.datetime | None = None) -> bool:
    """Whether a claim would find anything: a read, so an idle worker never takes the write
    lock (SQLite) or row locks just to look."""
    found = session.scalar(select(PortalRecord.id).where(_due(now or _now())).limit(1))
    return found is not None


def claim(
    session: Session, worker_id: str, limit: int, policy: Policy, now: dt.datetime | None = None
) -> list[Claimed]:
    """Take up to ``limit`` due records (pending or retrying whose time has come, or in flight
    under a lease that ran out) and mark them sent under ``worker_id``'s lease.

    Organisations go before products and products before batches, as the portal registers
    products per approved organisation. Runs in a writing transaction; on PostgreSQL workers
    skip each other's locked rows.
    """
    now = now or _now()
    records = session.scalars(
        select(PortalRecord)
        .where(_due(now))
        .order_by(PortalRecord.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for record in sorted(records, key=lambda r: (KIND_ORDER[r.kind], r.id)):
        repeat = record.status is PortalStatus.SENT
        if repeat:
            record.repeats += 1
            record.last_repeat_at = now
        key = idempotency_key(record.kind, record.entity_id, record.version)
        record.status = PortalStatus.SENT
        record.attempts += 1
        record.locked_by = worker_id
        record.lease_until = now + dt.timedelta(seconds=policy.lease_seconds)
        record.sent_version = record.version
        record.idempotency_key = key
        record.sent_at = now
        claimed.append(
            Claimed(record.id, record.kind, record.entity_id, record.version, key, repeat)
        )
    session.flush()
    return claimed


def backoff(attempts: int, policy: Policy) -> float:
    """Seconds before the next try: the base doubled for each further attempt, capped."""
    return float(min(policy.max_retry_seconds, policy.retry_seconds * 2 ** max(0, attempts - 1)))


def record_answers(
    session: Session,
    worker_id: str,
    answers: Sequence[tuple[Claimed, dict[str, Any] | None, Answer]],
    policy: Policy,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Record what the portal answered for each claimed record (and the body sent); returns
    how many ended in each status. An answer about a version that changed meanwhile only keeps
    the portal's ids: the new version is pending already."""
    now = now or _now()
    counts: dict[str, int] = {}
    ids = [claimed.id for claimed, _body, _answer in answers]
    records = {
        r.id: r
        for r in session.scalars(
            select(PortalRecord).where(PortalRecord.id.in_(ids)).with_for_update()
        )
    }
    approved: set[int] = set()
    for claimed, body, answer in answers:
        record = records.get(claimed.id)
        if record is None:
            continue
        if answer.outcome == "accepted":
            record.portal_id = answer.portal_id
            record.national_code = answer.national_code or record.national_code
        if (
            record.status is not PortalStatus.SENT
            or record.locked_by != worker_id
            or record.version != claimed.version
        ):
            counts["superseded"] = counts.get("superseded", 0) + 1
            continue
        record.locked_by, record.lease_until = None, None
        record.body = body
        record.portal_message = answer.portal_message
        if answer.outcome == "accepted":
            record.status = PortalStatus.ACCEPTED
            record.reason = record.message = None
            record.accepted_version, record.accepted_at = record.version, now
            if record.kind is PortalKind.ORGANIZATION:
                approved.add(record.entity_id)
        elif answer.outcome == "rejected":
            record.status = PortalStatus.REJECTED
            record.reason = answer.reason
            record.message = ADVICE.get(answer.reason or "", ADVICE["invalid_record"])
        else:
            record.reason = answer.reason
            record.message = ADVICE.get(answer.reason or "", ADVICE["unavailable"])
            if record.attempts >= policy.max_attempts:
                record.status = PortalStatus.FAILED
                record.message = (
                    f"Gave up after {record.attempts} attempts. {record.message} "
                    "Re-send it once the cause is fixed."
                )
            else:
                record.status = PortalStatus.RETRYING
                wait = max(backoff(record.attempts, policy), answer.retry_after or 0.0)
                record.next_attempt_at = now + dt.timedelta(seconds=wait)
        counts[str(record.status)] = counts.get(str(record.status), 0) + 1
    session.flush()
    if approved:
        _resend_waiting_for(session, approved)
    return counts


def _resend_waiting_for(session: Session, organization_ids: set[int]) -> None:
    """Records refused because their organisation was not approved yet: its record was just
    accepted, so they go again (as new versions)."""
    waiting = session.execute(
        select(PortalRecord.kind, PortalRecord.entity_id, PortalRecord.organization_id).where(
            PortalRecord.organization_id.in_(organization_ids),
            PortalRecord.status == PortalStatus.REJECTED,
            PortalRecord.reason == "organization_not_approved",
        )
    ).all()
    by_kind: dict[PortalKind, dict[int, int]] = {}
    for kind, entity_id, owner in waiting:
        by_kind.setdefault(kind, {})[entity_id] = owner
    for kind, owners in by_kind.items():
        outbox.mark_changed(session, kind, owners)
