"""Correcting a mistaken event: an EPCIS 2.0 error declaration, captured like any other event.

The declaration repeats the declared event (EPCIS 2.0 §7.4.1.5) with ``errorDeclaration`` added:
its time, a CBV reason (``incorrect_data`` or ``did_not_occur``) and, when given, the person's
explanation as the extension ``trace:explanation``. Capture applies the write rule (only the
recorder, a centre of its province or admin may declare it) and chains it in the ledger;
nothing is ever updated.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.epcis.export import EPCIS_CONTEXT_URL
from trace.models import Batch, Event, EventEpc
from trace.services.actors import Actor
from trace.services.errors import Conflict, FieldError, NotFound
from trace.services.events import capture as capture_service
from trace.services.events import custody, visibility
from trace.services.events.stages import TRACE_NS
from trace.services.registry.catalogue import get

REASONS = ("incorrect_data", "did_not_occur")


def event_of_batch(session: Session, reader: Actor, batch_id: int, event_pk: int) -> Event:
    """An event (not a declaration) naming the batch, for a reader of the batch."""
    get(session, Batch, batch_id)
    visibility.require_batch_reader(session, reader, batch_id)
    named = session.scalar(
        select(EventEpc.id).where(EventEpc.batch_id == batch_id, EventEpc.event_pk == event_pk)
    )
    event = session.get(Event, event_pk) if named is not None else None
    if event is None or event.declares_error:
        raise NotFound(f"Batch {batch_id} has no event {event_pk}.")
    return event


def declaration_document(event: Event, reason: str, explanation: str | None) -> dict[str, Any]:
    namespaces = dict(event.namespaces or {})
    declaration: dict[str, Any] = {
        "declarationTime": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "reason": reason,
    }
    if explanation:
        namespaces.setdefault("trace", TRACE_NS)
        if namespaces["trace"] == TRACE_NS:
            declaration["trace:explanation"] = explanation
    repeated = {k: v for k, v in event.document.items() if k != "recordTime"}
    context: list[Any] = [EPCIS_CONTEXT_URL]
    if namespaces:
        context.append(namespaces)
    return {
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": declaration["declarationTime"],
        "epcisBody": {"eventList": [repeated | {"errorDeclaration": declaration}]},
    }


def declare_error(
    session: Session,
    actor: Actor,
    batch_id: int,
    event_pk: int,
    reason: str,
    explanation: str | None = None,
) -> capture_service.CaptureResult:
    """Declare the batch's event ``event_pk`` in error (once: a corrected event is a 409)."""
    event = event_of_batch(session, actor, batch_id, event_pk)
    if custody.declarations_of(session, [event]).honoured.get(event.event_id):
        raise Conflict(
            "This event is already corrected.",
            errors=[FieldError("/reason", "the event is already declared in error")],
        )
    document = declaration_document(event, reason, explanation)
    return capture_service.capture(session, actor, document)
