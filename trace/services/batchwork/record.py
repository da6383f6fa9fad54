"""What a batch's page in the console shows beside the consumer's journey: every event with who
recorded it (organisation, token, console user), its hash ID, the error declarations that
correct it, and whether the reader may correct it.

Read under the read rule (:func:`visibility.require_batch_reader`); corrections are judged by
the write rule (:mod:`custody`), as histories, audits and the public page judge them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.models import ApiToken, AuditEntry, Batch, Event, Organization, User
from trace.services import lookup
from trace.services.actors import Actor
from trace.services.events import custody, visibility
from trace.services.events.history import HistoryEntry, history, local_iso
from trace.services.registry import catalogue
from trace.services.registry.catalogue import get


@dataclass
class Correction:
    event: Event
    reason: str
    explanation: str | None
    declared_at: str | None
    by: str


@dataclass
class RecordedEvent:
    entry: HistoryEntry
    recorded_by: str
    via: str | None
    user: str | None
    corrections: list[Correction] = field(default_factory=list)
    may_correct: bool = False

    @property
    def event(self) -> Event:
        return self.entry.event

    @property
    def time(self) -> dt.datetime:
        """When it happened, in the event's own offset (normally +07:00)."""
        event = self.entry.event
        return dt.datetime.fromisoformat(
            local_iso(event.event_time, event.event_time_zone_offset or "+07:00")
        )


@dataclass
class BatchDetails:
    batch: Batch
    #: what the public lookup page shows of the batch
    journey: lookup.PageData
    #: the public page's address, when the batch has a live code or a GTIN
    public_url: str | None
    events: list[RecordedEvent]


def _users_by_event(session: Session, events: Sequence[Event]) -> dict[str, str]:
    """The console user who captured each event, from the audit trail (by event row id)."""
    keys = [str(e.id) for e in events]
    if not keys:
        return {}
    rows = session.execute(
        select(AuditEntry.entity_id, User.name, User.email, User.phone)
        .join(User, User.id == AuditEntry.user_id)
        .where(AuditEntry.entity_type == "event", AuditEntry.entity_id.in_(keys))
    )
    return {key: name or email or phone or "" for key, name, email, phone in rows}


def batch_details(session: Session, reader: Actor, batch_id: int, public_url: str) -> BatchDetails:
    """The batch's consumer journey and its private record, for a reader of the batch."""
    batch = get(session, Batch, batch_id)
    visibility.require_batch_reader(session, reader, batch_id)
    entries = history(session, batch_id, reader=reader)
    declarations = [d for e in entries for d in e.corrected_by]
    recorded = [e.event for e in entries] + declarations
    tokens = {
        t.id: t
        for t in session.scalars(
            select(ApiToken).where(
                ApiToken.id.in_({e.captured_by_token_id for e in recorded} - {None})
            )
        )
    }
    org_ids = {e.captured_by_organization_id for e in recorded} - {None}
    orgs = {
        o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(org_ids)))
    }
    users = _users_by_event(session, recorded)
    provinces = {o.id: o.province_code for o in orgs.values()}
    declarer = custody.Recorder.of(reader)

    def who(event: Event) -> str:
        org = orgs.get(event.captured_by_organization_id or 0)
        return org.name if org is not None else ""

    events = []
    for entry in entries:
        event = entry.event
        token = tokens.get(event.captured_by_token_id or 0)
        refusal = custody.declaration_refusal(
            declarer,
            event.hash_id,
            event,
            provinces.get(event.captured_by_organization_id or 0),
            {batch.producer.province_code},
        )
        events.append(
            RecordedEvent(
                entry=entry,
                recorded_by=who(event),
                via=(token.name or token.prefix) if token is not None else None,
                user=users.get(str(event.id)),
                corrections=[_correction(d, who(d), users) for d in entry.corrected_by],
                may_correct=refusal is None and not entry.corrected,
            )
        )
    link = catalogue.batch_resources(session, [batch], public_url)[0].links["public"]
    return BatchDetails(batch, lookup.batch_page(session, batch_id), link, events)


def _correction(declaration: Event, org_name: str, users: dict[str, str]) -> Correction:
    body: dict[str, Any] = declaration.document.get("errorDeclaration") or {}
    explanation = body.get("trace:explanation")
    user = users.get(str(declaration.id))
    return Correction(
        event=declaration,
        reason=str(body.get("reason", "")),
        explanation=explanation if isinstance(explanation, str) else None,
        declared_at=body.get("declarationTime"),
        by=" · ".join(part for part in (user, org_name) if part),
    )
