"""A batch's history: its events in time order, with stage names, places and corrections."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.epcis import cbv
from trace.models import Batch, Event, EventEpc, Facility, Organization
from trace.services.actors import Actor
from trace.services.events import custody, visibility
from trace.services.events.identifiers import resolve
from trace.services.registry.catalogue import get


def batch_events(session: Session, reader: Actor, batch_id: int) -> Sequence[Event]:
    """The batch's events for a reader the read rule lets read the batch, oldest first."""
    get(session, Batch, batch_id)
    visibility.require_batch_reader(session, reader, batch_id)
    return batch_event_rows(session, batch_id)


def batch_event_rows(session: Session, batch_id: int) -> Sequence[Event]:
    """Every event naming the batch (its lot or one of its codes), oldest first."""
    event_pks = select(EventEpc.event_pk).where(EventEpc.batch_id == batch_id).distinct()
    return session.scalars(
        select(Event).where(Event.id.in_(event_pks)).order_by(Event.event_time, Event.seq)
    ).all()


def stage_names(biz_step: str | None) -> dict[str, str]:
    if not biz_step:
        return {"vi": "Sự kiện", "en": "Event"}
    try:
        return {"vi": cbv.stage_name(biz_step, "vi"), "en": cbv.stage_name(biz_step, "en")}
    except cbv.VocabularyError:
        # Capture stores canonical terms only: this column was changed behind the service's
        # back. Shown as it is (verification names it), never a 500.
        return {"vi": biz_step, "en": biz_step}


def local_iso(moment: dt.datetime, offset: str) -> str:
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    return moment.astimezone(zone).isoformat()


@dataclass
class HistoryEntry:
    event: Event
    stage: dict[str, str]
    facility: Facility | None
    organization: Organization | None
    corrected_by: list[Event] = field(default_factory=list)
    temperatures: list[dict[str, Any]] = field(default_factory=list)
    quantity: dict[str, Any] | None = None

    @property
    def corrected(self) -> bool:
        return bool(self.corrected_by)


def _temperatures(doc: dict[str, Any]) -> list[dict[str, Any]]:
    readings = []
    for element in doc.get("sensorElementList") or ():
        for report in element.get("sensorReport") or ():
            kind = str(report.get("type", ""))
            if kind.endswith("Temperature") and "value" in report:
                readings.append(
                    {
                        "time": report.get("time"),
                        "celsius": report["value"],
                        "uom": report.get("uom"),
                    }
                )
    return readings


def _quantity(doc: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("quantityList", "outputQuantityList", "childQuantityList"):
        for item in doc.get(key) or ():
            if "quantity" in item:
                return {"quantity": item["quantity"], "uom": item.get("uom")}
    return None


def history(session: Session, batch_id: int, reader: Actor | None = None) -> list[HistoryEntry]:
    """The batch's history; with a ``reader``, only if the read rule lets it read the batch (the
    public page passes none: it shows every batch's stages)."""
    get(session, Batch, batch_id)
    if reader is not None:
        visibility.require_batch_reader(session, reader, batch_id)
    return histories(session, [batch_id])[batch_id]


def histories(session: Session, batch_ids: Sequence[int]) -> dict[int, list[HistoryEntry]]:
    """The histories of many batches at once, in a few queries whatever their number (the
    national portal's records and export); no read rule: the caller applies it."""
    wanted = sorted(set(batch_ids))
    pairs: list[tuple[int | None, int]] = []
    for start in range(0, len(wanted), 500):
        pairs += [
            (batch_id, event_pk)
            for batch_id, event_pk in session.execute(
                select(EventEpc.batch_id, EventEpc.event_pk)
                .where(EventEpc.batch_id.in_(wanted[start : start + 500]))
                .distinct()
            )
        ]
    pks = sorted({pk for _batch, pk in pairs})
    events: dict[int, Event] = {}
    for start in range(0, len(pks), 500):
        events.update(
            (e.id, e)
            for e in session.scalars(select(Event).where(Event.id.in_(pks[start : start + 500])))
        )
    by_batch: dict[int, list[Event]] = {batch_id: [] for batch_id in wanted}
    for batch_id, pk in pairs:
        if batch_id is not None:
            by_batch[batch_id].append(events[pk])
    originals = [e for e in events.values() if not e.declares_error]
    # Only declarations the write rule honours mark an event: by its recorder (or a centre of
    # its province, or admin), repeating its content. Others stay on record for inspectors.
    corrections = custody.declarations_of(session, originals).honoured
    places = resolve(session, {p for e in originals if (p := e.biz_location or e.read_point)})
    facility_ids = {r.facility_id for r in places.values() if r.facility_id}
    facilities = {
        f.id: f for f in session.scalars(select(Facility).where(Facility.id.in_(facility_ids)))
    }
    org_ids = {f.organization_id for f in facilities.values()}
    orgs = {
        o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(org_ids)))
    }

    def entry(event: Event) -> HistoryEntry:
        place = places.get(event.biz_location or event.read_point or "")
        facility = facilities.get(place.facility_id) if place and place.facility_id else None
        return HistoryEntry(
            event=event,
            stage=stage_names(event.biz_step),
            facility=facility,
            organization=orgs.get(facility.organization_id) if facility else None,
            corrected_by=corrections.get(event.event_id, []),
            temperatures=_temperatures(event.document),
            quantity=_quantity(event.document),
        )

    return {
        batch_id: [
            entry(e)
            for e in sorted(rows, key=lambda e: (e.event_time, e.seq))
            if not e.declares_error
        ]
        for batch_id, rows in by_batch.items()
    }
