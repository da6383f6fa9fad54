"""EPCIS 2.0 capture: validate, canonicalise, deduplicate, authorise, index and chain events.

``capture`` takes a whole EPCIS document. By default it is all or nothing: one bad event and
nothing is stored. With ``proceed=True`` (the ``GS1-Capture-Error-Behaviour: proceed`` header)
the good events are kept and the bad ones reported.

Identity: every event has an eventID (its hash ID when the capturer gave none). The same event
again is a no-op; the same eventID with other content, or the same content (by CBV hash) under
another eventID, is a conflict naming the stored event. An ``errorDeclaration`` repeats the
eventID of the event it corrects and is stored as a new, linked entry: nothing is ever updated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from trace.epcis import cbv
from trace.epcis.hashing import event_hash_id
from trace.epcis.validation import EpcisProblem, parse_document, validate_document
from trace.models import Batch as BatchModel
from trace.models import (
    BatchLink,
    BatchStatus,
    Event,
    EventEpc,
    Role,
)
from trace.models import Organization as OrgModel
from trace.services.actors import Actor
from trace.services.errors import Conflict, FieldError, Forbidden, InvalidInput
from trace.services.events import ledger
from trace.services.events.identifiers import Resolved, canonical_uri, resolve

#: Where identifiers stand in an event, and the role they get in the index.
INSTANCE_FIELDS = {
    "epcList": "epc",
    "childEPCs": "child",
    "inputEPCList": "input",
    "outputEPCList": "output",
}
CLASS_FIELDS = {
    "quantityList": "epc_class",
    "childQuantityList": "child_class",
    "inputQuantityList": "input_class",
    "outputQuantityList": "output_class",
}
INPUT_ROLES = frozenset({"input", "input_class"})
OUTPUT_ROLES = frozenset({"output", "output_class"})
#: Steps that move goods on towards consumers: refused for a recalled batch.
ONWARD_STEPS = frozenset(
    {"shipping", "departing", "loading", "retail_selling", "staging_outbound", "transporting"}
)
_VOCAB_LISTS = {
    "bizTransactionList": cbv.canonical_biztransaction_type,
    "sourceList": cbv.canonical_source_dest_type,
    "destinationList": cbv.canonical_source_dest_type,
}
#: When an event was recorded, given its event time and hash ID (see ``capture``).
RecordTime = Callable[[dt.datetime, str], dt.datetime]


@dataclass
class CapturedEvent:
    index: int
    event_id: str
    hash_id: str
    status: str  # created | existing


@dataclass
class CaptureResult:
    events: list[CapturedEvent] = field(default_factory=list)
    errors: list[EpcisProblem] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for e in self.events if e.status == "created")


@dataclass
class _Prepared:
    index: int
    document: dict[str, Any]
    hash_id: str
    event_time: dt.datetime
    epcs: list[tuple[str, str]]  # (role, canonical uri)
    read_point: str | None
    biz_location: str | None
    destinations: list[str]
    corrects: bool


def _problem(index: int, pointer: str, message: str) -> EpcisProblem:
    return EpcisProblem(index, f"/epcisBody/eventList/{index}{pointer}", message)


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def canonical_event(event: Mapping[str, Any], ignore_fields: Iterable[str] = ()) -> dict[str, Any]:
    """The event as stored: CBV values in their bare canonical form, no recordTime (the server
    sets it), without the fields the document told us to ignore."""
    ignored = set(ignore_fields) | {"recordTime"}
    doc = {k: v for k, v in event.items() if k not in ignored}
    if isinstance(doc.get("bizStep"), str):
        doc["bizStep"] = cbv.canonical_bizstep(doc["bizStep"])
    if isinstance(doc.get("disposition"), str):
        doc["disposition"] = cbv.canonical_disposition(doc["disposition"])
    for key, canonical in _VOCAB_LISTS.items():
        if isinstance(doc.get(key), list):
            doc[key] = [
                {**item, "type": canonical(item["type"])}
                if isinstance(item, dict) and isinstance(item.get("type"), str)
                else item
                for item in doc[key]
            ]
    declaration = doc.get("errorDeclaration")
    if isinstance(declaration, dict) and isinstance(declaration.get("reason"), str):
        doc["errorDeclaration"] = {
            **declaration,
            "reason": cbv.canonical_error_reason(declaration["reason"]),
        }
    return doc


def with_bare_vocabulary(document: dict[str, Any]) -> dict[str, Any]:
    """The document with CBV values in their bare form before schema validation: the EPCIS 2.0
    JSON schema refuses the ``urn:epcglobal:cbv:`` spelling, which capturers still send."""
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list):
        return document
    converted = []
    for event in events:
        if isinstance(event, dict):
            # A value that cannot be made canonical is left as sent: validation names it.
            with contextlib.suppress(cbv.VocabularyError, TypeError, KeyError):
                event = {**canonical_event(event), **_kept(event)}
        converted.append(event)
    return {**document, "epcisBody": {**body, "eventList": converted}}


def _kept(event: Mapping[str, Any]) -> dict[str, Any]:
    return {"recordTime": event["recordTime"]} if "recordTime" in event else {}


def _identifiers(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(doc.get("parentID"), str):
        found.append(("parent", canonical_uri(doc["parentID"])))
    for key, role in INSTANCE_FIELDS.items():
        for epc in doc.get(key) or ():
            if isinstance(epc, str):
                found.append((role, canonical_uri(epc)))
    for key, role in CLASS_FIELDS.items():
        for item in doc.get(key) or ():
            if isinstance(item, dict) and isinstance(item.get("epcClass"), str):
                found.append((role, canonical_uri(item["epcClass"])))
    return list(dict.fromkeys(found))


def _place(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return canonical_uri(value["id"])
    return None


def prepare(event: Mapping[str, Any], index: int, namespaces: Mapping[str, str],
            ignore_fields: Iterable[str] = ()) -> _Prepared:  # fmt: skip
    doc = canonical_event(event, ignore_fields)
    hash_id = event_hash_id(doc, [dict(namespaces)] if namespaces else None)
    doc.setdefault("eventID", hash_id)
    return _Prepared(
        index=index,
        document=doc,
        hash_id=hash_id,
        event_time=_parse_time(doc["eventTime"]),
        epcs=_identifiers(doc),
        read_point=_place(doc, "readPoint"),
        biz_location=_place(doc, "bizLocation"),
        destinations=[
            canonical_uri(d["destination"])
            for d in doc.get("destinationList") or ()
            if isinstance(d, dict) and isinstance(d.get("destination"), str)
        ],
        corrects="errorDeclaration" in doc,
    )


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _existing(session: Session, ids: Sequence[str], hashes: Sequence[str]) -> list[Event]:
    found: dict[int, Event] = {}
    for column, values in ((Event.event_id, ids), (Event.hash_id, hashes)):
        for chunk in _chunks(list(set(values))):
            for row in session.scalars(select(Event).where(column.in_(chunk))):
                found[row.id] = row
    return list(found.values())


class _Batches:
    """The batches a capture touches, with what authorisation needs, loaded at once."""

    def __init__(self, session: Session, batch_ids: set[int]) -> None:
        self.rows: dict[int, tuple[int, str, BatchStatus, str]] = {}
        for chunk in _chunks(sorted(batch_ids)):  # type: ignore[arg-type]
            rows = session.execute(
                select(BatchModel.id, BatchModel.producer_id, BatchModel.status,
                       OrgModel.province_code, BatchModel.lot_code)
                .join(OrgModel, OrgModel.id == BatchModel.producer_id)
                .where(BatchModel.id.in_(chunk))
            )  # fmt: skip
            for batch_id, producer_id, status, province, lot in rows:
                self.rows[batch_id] = (producer_id, province, BatchStatus(status), lot)


def _custody(session: Session, org_id: int, batch_ids: set[int]) -> set[int]:
    """Batches the organisation has received (it recorded their receipt)."""
    if not batch_ids:
        return set()
    rows = session.execute(
        select(EventEpc.batch_id)
        .join(Event, Event.id == EventEpc.event_pk)
        .where(
            EventEpc.batch_id.in_(batch_ids),
            Event.captured_by_organization_id == org_id,
            Event.biz_step == "receiving",
        )
    )
    return {batch_id for (batch_id,) in rows}


def _authorise(
    session: Session,
    actor: Actor,
    item: _Prepared,
    batch_ids: set[int],
    batches: _Batches,
    resolved: Mapping[str, Resolved],
) -> str | None:
    """None when the actor may record this event, else why not."""
    if actor.is_admin:
        return None
    if actor.role is Role.INSPECTOR:
        return "inspectors read events; they do not record them"
    if not batch_ids:
        return "the event names no registered batch or code of yours"
    if actor.role is Role.CENTRE:
        outside = [b for b in batch_ids if batches.rows[b][1] != actor.province_code]
        return (
            f"batches {sorted(outside)} are outside province {actor.province_code}"
            if outside
            else None
        )
    org = actor.organization_id
    addressed = any(resolved.get(d, Resolved()).organization_id == org for d in item.destinations)
    foreign = {b for b in batch_ids if batches.rows[b][0] != org}
    if addressed and item.document.get("bizStep") in {"receiving", "accepting", "arriving"}:
        return None
    foreign -= _custody(session, org, foreign) if org is not None else set()
    return f"batches {sorted(foreign)} belong to another organisation" if foreign else None


def capture(
    session: Session,
    actor: Actor,
    document: dict[str, Any],
    *,
    proceed: bool = False,
    record_time: RecordTime | None = None,
) -> CaptureResult:
    """Store the events of an EPCIS document; see the module docstring for the rules.

    Events are recorded now. ``record_time`` is for the demo loader only, never the API: it
    dates fixture events shortly after they happened (never later than now). The record time is
    outside the CBV hash and the ledger's chain, so both stay what they would have been.
    """
    if actor.role is Role.INSPECTOR:
        raise Forbidden("An inspector token may not record events.")
    document = with_bare_vocabulary(document)
    problems = validate_document(document)
    if any(p.event_index is None for p in problems) or (problems and not proceed):
        raise _invalid(problems)
    bad = {p.event_index for p in problems}
    events = parse_document(document)
    result = CaptureResult(errors=list(problems))

    prepared: list[_Prepared] = []
    for index, event in enumerate(events):
        if index in bad:
            continue
        try:
            prepared.append(prepare(event, index, events.namespaces, events.ignore_fields))
        except (cbv.VocabularyError, ValueError) as error:
            _reject(result, proceed, _problem(index, "", str(error)))

    uris = {uri for item in prepared for _, uri in item.epcs}
    uris |= {
        u
        for item in prepared
        for u in (item.read_point, item.biz_location, *item.destinations)
        if u
    }
    resolved = resolve(session, uris)
    batch_of = {uri: r.batch_id for uri, r in resolved.items() if r.batch_id is not None}
    batches = _Batches(session, set(batch_of.values()))
    stored = _existing(
        session,
        [str(p.document["eventID"]) for p in prepared],
        [p.hash_id for p in prepared],
    )
    by_id = {e.event_id: e for e in stored if not e.declares_error}
    by_hash = {e.hash_id: e for e in stored if not e.declares_error}
    declarations = {
        (e.event_id, ledger.entry_digest(e.hash_id, e.document)) for e in stored if e.declares_error
    }

    new: list[tuple[_Prepared, set[int]]] = []
    for item in prepared:
        event_id = str(item.document["eventID"])
        pointer = f"/epcisBody/eventList/{item.index}"
        batch_ids = {batch_of[uri] for _, uri in item.epcs if uri in batch_of}
        if item.corrects:
            # The declared event may live in another repository: the declaration is kept as
            # given, and it marks the event here whenever one with its eventID is stored.
            digest = (event_id, ledger.entry_digest(item.hash_id, item.document))
            if digest in declarations:
                result.events.append(CapturedEvent(item.index, event_id, item.hash_id, "existing"))
                continue
            declarations.add(digest)
        else:
            same_id, same_hash = by_id.get(event_id), by_hash.get(item.hash_id)
            if same_id is not None and same_id.hash_id == item.hash_id:
                result.events.append(CapturedEvent(item.index, event_id, item.hash_id, "existing"))
                continue
            if same_hash is not None and "eventID" not in events[item.index]:
                result.events.append(
                    CapturedEvent(item.index, same_hash.event_id, item.hash_id, "existing")
                )
                continue
            conflict = _conflict(item, event_id, same_id, same_hash)
            if conflict is not None:
                if not proceed:
                    raise conflict
                result.errors.append(EpcisProblem(item.index, pointer, conflict.detail))
                continue
        refusal = _authorise(session, actor, item, batch_ids, batches, resolved)
        if refusal is not None:
            if not proceed:
                raise Forbidden(
                    f"Event {item.index}: {refusal}.", errors=[FieldError(pointer, refusal)]
                )
            result.errors.append(EpcisProblem(item.index, pointer, refusal))
            continue
        recalled = sorted(
            batches.rows[b][3] for b in batch_ids if batches.rows[b][2] is BatchStatus.RECALLED
        )
        if recalled and item.document.get("bizStep") in ONWARD_STEPS:
            message = f"batch {', '.join(recalled)} is recalled: it may not be shipped or sold"
            if not proceed:
                raise Conflict(
                    f"Event {item.index}: {message}.", errors=[FieldError(pointer, message)]
                )
            result.errors.append(EpcisProblem(item.index, pointer, message))
            continue
        if not item.corrects:
            by_id[event_id] = by_hash[item.hash_id] = Event(event_id=event_id, hash_id=item.hash_id)
        new.append((item, batch_ids))
        result.events.append(CapturedEvent(item.index, event_id, item.hash_id, "created"))

    if new:
        _store(session, actor, new, events.namespaces, batch_of, record_time)
    result.events.sort(key=lambda e: e.index)
    return result


def _conflict(item: _Prepared, event_id: str, same_id: Event | None,
              same_hash: Event | None) -> Conflict | None:  # fmt: skip
    pointer = f"/epcisBody/eventList/{item.index}"
    if same_id is not None:
        message = (f"eventID {event_id!r} is already recorded with other content "
                   f"(hash {same_id.hash_id})")  # fmt: skip
        return Conflict(f"Event {item.index}: {message}.",
                        errors=[FieldError(pointer + "/eventID", message)],
                        existing_event_id=same_id.event_id)  # fmt: skip
    if same_hash is not None:
        message = (f"the same event is already recorded as {same_hash.event_id!r} "
                   f"(hash {item.hash_id})")  # fmt: skip
        return Conflict(f"Event {item.index}: {message}.", errors=[FieldError(pointer, message)],
                        existing_event_id=same_hash.event_id)  # fmt: skip
    return None


def _reject(result: CaptureResult, proceed: bool, problem: EpcisProblem) -> None:
    if not proceed:
        raise _invalid([problem])
    result.errors.append(problem)


def _invalid(problems: list[EpcisProblem]) -> InvalidInput:
    indexes = sorted({p.event_index for p in problems if p.event_index is not None})
    where = f"events {indexes}" if indexes else "the document"
    return InvalidInput(
        f"The EPCIS document was rejected: {len(problems)} problem(s) in {where}; nothing was "
        "stored.",
        errors=[FieldError(p.pointer, p.message) for p in problems],
    )


def _store(
    session: Session,
    actor: Actor,
    new: list[tuple[_Prepared, set[int]]],
    namespaces: Mapping[str, str],
    batch_of: Mapping[str, int],
    record_time: RecordTime | None = None,
) -> None:
    head = ledger.lock_head(session)
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    for item, _ in new:
        doc = item.document
        recorded = (
            now if record_time is None else min(record_time(item.event_time, item.hash_id), now)
        )
        rows.append(
            {
                "event_id": str(doc["eventID"]),
                "hash_id": item.hash_id,
                "event_type": doc["type"],
                "action": doc.get("action"),
                "event_time": item.event_time,
                "event_time_zone_offset": doc.get("eventTimeZoneOffset")
                or _offset(item.event_time),
                "record_time": recorded,
                "biz_step": doc.get("bizStep"),
                "disposition": doc.get("disposition"),
                "read_point": item.read_point,
                "biz_location": item.biz_location,
                "document": doc,
                "namespaces": dict(namespaces),
                "declares_error": item.corrects,
                "captured_by_token_id": actor.token_id,
                "captured_by_organization_id": actor.organization_id,
            }
        )
    ledger.chain(head, rows)
    # Core inserts: ids come from the ledger, so nothing needs to be read back.
    session.execute(insert(Event.__table__), rows)
    epc_rows: list[dict[str, Any]] = []
    links: set[tuple[int, int, int]] = set()
    for (item, _), row in zip(new, rows, strict=True):
        event_pk, event_type = row["id"], row["event_type"]
        inputs: set[int] = set()
        outputs: set[int] = set()
        for role, uri in item.epcs:
            batch_id = batch_of.get(uri)
            epc_rows.append({"event_pk": event_pk, "role": role, "uri": uri[:400],
                             "batch_id": batch_id, "event_time": item.event_time})  # fmt: skip
            if batch_id is not None:
                if role in INPUT_ROLES:
                    inputs.add(batch_id)
                elif role in OUTPUT_ROLES or (
                    role == "parent" and event_type == "AggregationEvent"
                ):
                    outputs.add(batch_id)
                elif role in {"child", "child_class"} and event_type == "AggregationEvent":
                    inputs.add(batch_id)
        if event_type == "AggregationEvent" and row["action"] != "ADD":
            inputs, outputs = set(), set()
        links |= {(i, o, event_pk) for i in inputs for o in outputs if i != o}
    if epc_rows:
        session.execute(insert(EventEpc.__table__), epc_rows)
    if links:
        session.execute(
            insert(BatchLink.__table__),
            [
                {"input_batch_id": i, "output_batch_id": o, "event_pk": e}
                for i, o, e in sorted(links)
            ],
        )


def _offset(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
