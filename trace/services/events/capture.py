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
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from trace.db import chunked, insert_rows, one_of, table_of
from trace.epcis import cbv
from trace.epcis.hashing import event_hash_id
from trace.epcis.validation import EpcisProblem, parse_document, validate_document
from trace.models import (
    AuditEntry,
    BatchLink,
    BatchStatus,
    Event,
    EventEpc,
    Role,
)
from trace.models import Batch as BatchModel
from trace.models import Organization as OrgModel
from trace.services import outbox
from trace.services.actors import Actor
from trace.services.errors import Conflict, FieldError, Forbidden, InvalidInput
from trace.services.events import custody, derivation, ledger, visibility
from trace.services.events.identifiers import Resolved, canonical_uri, resolve

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


HIDDEN = "an event with this eventID or content is recorded by another organisation"


class _Accepted(NamedTuple):
    """An event accepted earlier in the same capture, as the duplicate checks see a stored one
    (not stored yet, so no ``id``): a plain tuple, as an ORM ``Event`` per event costs an
    import of 100,000 rows about a second of attribute instrumentation for two fields."""

    event_id: str
    hash_id: str
    id: None = None
    captured_by_organization_id: None = None  # recorded by this capture's actor


def _problem(index: int, pointer: str, message: str) -> EpcisProblem:
    return EpcisProblem(index, f"/epcisBody/eventList/{index}{pointer}", message)


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
    if not isinstance(body, dict) or not isinstance(events := body.get("eventList"), list):
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


def prepare(event: Mapping[str, Any], index: int, namespaces: Mapping[str, str],
            ignore_fields: Iterable[str] = ()) -> _Prepared:  # fmt: skip
    doc = canonical_event(event, ignore_fields)
    hash_id = event_hash_id(doc, [dict(namespaces)] if namespaces else None)
    doc.setdefault("eventID", hash_id)
    return _Prepared(
        index=index,
        document=doc,
        hash_id=hash_id,
        event_time=derivation.parse_time(doc["eventTime"]),
        epcs=derivation.identifiers(doc),
        read_point=derivation.place(doc, "readPoint"),
        biz_location=derivation.place(doc, "bizLocation"),
        destinations=[
            canonical_uri(d["destination"])
            for d in doc.get("destinationList") or ()
            if isinstance(d, dict) and isinstance(d.get("destination"), str)
        ],
        corrects="errorDeclaration" in doc,
    )


#: How far ahead of the server's clock an event may be dated: capturing devices' clocks drift,
#: but an event that has not happened yet is a mistake (or a claim made in advance).
CLOCK_SKEW = dt.timedelta(hours=24)


def _future_times(events: Sequence[Mapping[str, Any]], bad: set[int | None]) -> list[EpcisProblem]:
    """An event dated more than :data:`CLOCK_SKEW` after now. An error declaration repeats the
    time of the event it declares, which is judged by its own capture."""
    latest = dt.datetime.now(dt.UTC) + CLOCK_SKEW
    problems = []
    for index, event in enumerate(events):
        if index in bad or "errorDeclaration" in event:
            continue
        if derivation.parse_time(event["eventTime"]) > latest:
            problems.append(_problem(index, "/eventTime", (
                f"eventTime {event['eventTime']!r} is in the future: an event may be dated at "
                f"most {CLOCK_SKEW.total_seconds() / 3600:.0f} hours after the server's clock"
            )))  # fmt: skip
    return problems


def _existing(session: Session, ids: Sequence[str], hashes: Sequence[str]) -> list[Event]:
    found: dict[int, Event] = {}
    for column, values in ((Event.event_id, ids), (Event.hash_id, hashes)):
        for chunk in chunked(session, set(values)):
            for row in session.scalars(select(Event).where(one_of(session, column, chunk))):
                found[row.id] = row
    return list(found.values())


def _readable(session: Session, actor: Actor, stored: Sequence[Event]) -> set[int]:
    """The ids among ``stored`` that the actor may read (the read rule): only those may be
    answered as already recorded, or named in a conflict. Anyone else learns no eventID."""
    if visibility.reads_everything(actor):
        return {e.id for e in stored}
    readable: set[int] = set()
    for chunk in chunked(session, [e.id for e in stored]):
        readable.update(session.scalars(
            select(Event.id).where(one_of(session, Event.id, chunk),
                                   visibility.readable_events(actor))
        ))  # fmt: skip
    return readable


class _Batches:
    """The batches a capture touches, with what authorisation needs, loaded at once."""

    def __init__(self, session: Session, batch_ids: set[int]) -> None:
        self.rows: dict[int, tuple[int, str, BatchStatus, str]] = {}
        for chunk in chunked(session, sorted(batch_ids)):
            rows = session.execute(
                select(BatchModel.id, BatchModel.producer_id, BatchModel.status,
                       OrgModel.province_code, BatchModel.lot_code)
                .join(OrgModel, OrgModel.id == BatchModel.producer_id)
                .where(one_of(session, BatchModel.id, chunk))
            )  # fmt: skip
            for batch_id, producer_id, status, province, lot in rows:
                self.rows[batch_id] = (producer_id, province, BatchStatus(status), lot)


def _custody(session: Session, actor: Actor, batches: _Batches) -> custody.Custody:
    """Custody of the batches a producer's capture names but does not own, replayed from the
    ledger (the owner's own batches need none)."""
    owners = {b: (row[0], row[1]) for b, row in batches.rows.items()}
    state = custody.Custody(owners)
    if actor.role is Role.PRODUCER:
        foreign = sorted(b for b, (owner, _) in owners.items() if owner != actor.organization_id)
        custody.replay(session, state, foreign)
    return state


def _parties(item: _Prepared, resolved: Mapping[str, Resolved]) -> tuple[set[int], int | None]:
    """The organisations an event ships to, and the one whose place it happens at."""
    orgs = {resolved[d].organization_id for d in item.destinations if d in resolved}
    place = item.biz_location or item.read_point
    located = resolved[place].organization_id if place and place in resolved else None
    return {o for o in orgs if o is not None}, located


def _authorise(state: custody.Custody, actor: Actor, item: _Prepared,
               batch_ids: set[int]) -> str | None:  # fmt: skip
    """None when the actor may record this event, else why not (the write rule, in
    :mod:`trace.services.events.custody`)."""
    return state.refusal(custody.Recorder.of(actor), item.document.get("bizStep"), batch_ids)


def _declaration_refusal(session: Session, actor: Actor, item: _Prepared, batch_ids: set[int],
                         batches: _Batches, original: Event | _Accepted | None,
                         fresh: set[str]) -> tuple[int, str] | None:  # fmt: skip
    """Whether the actor may declare this event in error with this content."""
    recorder = custody.Recorder.of(actor)
    if original is not None and original.event_id in fresh:
        # Recorded by this same capture, hence by the actor: only the content is left to check.
        recorder = custody.Recorder(Role.ADMIN)
    province = None
    if original is not None and original.captured_by_organization_id is not None:
        province = session.scalar(
            select(OrgModel.province_code).where(
                OrgModel.id == original.captured_by_organization_id
            )
        )
    provinces = {batches.rows[b][1] for b in batch_ids}
    return custody.declaration_refusal(recorder, item.hash_id, original, province, provinces)


def capture(
    session: Session,
    actor: Actor,
    document: dict[str, Any],
    *,
    proceed: bool = False,
    record_time: RecordTime | None = None,
    report_all: bool = False,
    dry_run: bool = False,
    distinct_stages: bool = False,
    stage_times: StageTimes | None = None,
    staged: Staged | None = None,
) -> CaptureResult:
    """Store the events of an EPCIS document; see the module docstring for the rules.

    For imports: ``report_all`` collects every problem as ``proceed`` does but stores nothing
    when there is one (all or nothing, every error at once); ``dry_run`` checks everything and
    stores nothing; ``distinct_stages`` refuses a new event of a batch whose stage (bizStep) and
    event time are those of an event stored before, or earlier in the document, with other
    content: a restatement that must be a correction, never a second record (``stage_times``:
    the same check shared by several captures); ``staged`` keeps the events to store instead of
    storing them, for :func:`store_staged` to append with those of later captures (an import
    checks its file in chunks, then takes the ledger's head only to append them all).

    Events are recorded now. ``record_time`` is for the demo loader only, never the API: it
    dates fixture events shortly after they happened (never later than now). The record time is
    outside the CBV hash and the ledger's chain, so both stay what they would have been.
    """
    if actor.role is Role.INSPECTOR:
        raise Forbidden("An inspector token may not record events.")
    proceed = proceed or report_all
    document = with_bare_vocabulary(document)
    problems = validate_document(document)
    if any(p.event_index is None for p in problems):
        raise _invalid(problems)
    events = parse_document(document)
    problems += _future_times(events, {p.event_index for p in problems})
    if problems and not proceed:
        raise _invalid(problems)
    bad = {p.event_index for p in problems}
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
    by_id: dict[str, Event | _Accepted] = {e.event_id: e for e in stored if not e.declares_error}
    by_hash: dict[str, Event | _Accepted] = {e.hash_id: e for e in stored if not e.declares_error}
    declarations = {
        (e.event_id, ledger.entry_digest(e.hash_id, e.document)) for e in stored if e.declares_error
    }

    readable = _readable(session, actor, stored)
    state = _custody(session, actor, batches)
    stages = stage_times or (StageTimes() if distinct_stages else None)
    if stages is not None:
        stages.load(session, set(batches.rows))
    fresh: set[str] = set()
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
        else:
            same_id, same_hash = by_id.get(event_id), by_hash.get(item.hash_id)
            if any(e is not None and e.id is not None and e.id not in readable
                   for e in (same_id, same_hash)):  # fmt: skip
                refusal = _authorise(state, actor, item, batch_ids) or HIDDEN
                if not proceed:
                    raise Forbidden(
                        f"Event {item.index}: {refusal}.", errors=[FieldError(pointer, refusal)]
                    )
                result.errors.append(EpcisProblem(item.index, pointer, refusal))
                continue
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
        if item.corrects:
            refused = _declaration_refusal(
                session, actor, item, batch_ids, batches, by_id.get(event_id), fresh
            )
        else:
            why = _authorise(state, actor, item, batch_ids)
            refused = None if why is None else (403, why)
        if refused is not None:
            status, refusal = refused
            if not proceed:
                refusal_error = Forbidden if status == 403 else InvalidInput
                raise refusal_error(
                    f"Event {item.index}: {refusal}.", errors=[FieldError(pointer, refusal)]
                )
            result.errors.append(EpcisProblem(item.index, pointer, refusal))
            continue
        if stages is not None and not item.corrects:
            restated = stages.restated(item, batch_ids)
            if restated is not None:
                _reject(result, proceed, EpcisProblem(item.index, pointer, restated))
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
        if item.corrects:
            declarations.add(digest)
        else:
            by_id[event_id] = by_hash[item.hash_id] = _Accepted(event_id, item.hash_id)
            fresh.add(event_id)
            state.record(custody.Recorder.of(actor), item.document.get("bizStep"), batch_ids,
                         *_parties(item, resolved))  # fmt: skip
        new.append((item, batch_ids))
        result.events.append(CapturedEvent(item.index, event_id, item.hash_id, "created"))

    if new and not dry_run and not (report_all and result.errors):
        if staged is None:
            _store(session, actor, [(item, events.namespaces) for item, _ in new], batch_of,
                   record_time)  # fmt: skip
        else:
            staged.add(new, events.namespaces, batch_of)
    result.events.sort(key=lambda e: e.index)
    return result


@dataclass
class Staged:
    """Events checked by captures and not stored yet (see ``capture``'s ``staged``), kept
    compact so that 100,000 of them fit in a worker's memory: each capture's events as one
    pickled blob (many small objects kept between captures would pin the allocator's memory).
    Their columns and index rows are derived here, before the ledger's head is locked: only
    what needs the head (ids, chain hashes) and the inserts are left for :func:`store_staged`.
    The blobs never leave the process that made them."""

    blobs: list[tuple[bytes, Mapping[str, str]]] = field(default_factory=list)
    batches: set[int] = field(default_factory=set)  # those the staged events name
    count: int = 0

    def add(self, new: Sequence[tuple[_Prepared, set[int]]], namespaces: Mapping[str, str],
            batch_of: Mapping[str, int]) -> None:  # fmt: skip
        blob = pickle.dumps(
            [(item.hash_id, item.event_time, item.document,
              derivation.derive(item.document, batch_of)) for item, _ in new],
            protocol=pickle.HIGHEST_PROTOCOL,
        )  # fmt: skip
        self.blobs.append((blob, namespaces))
        for _, batch_ids in new:
            self.batches |= batch_ids
        self.count += len(new)

    def __len__(self) -> int:
        return self.count


def store_staged(session: Session, actor: Actor, staged: Staged) -> None:
    """Append the staged events to the ledger, in the order they were captured: the batches'
    portal records first (as every capture does, before the ledger's head), then the events of
    each capture in turn."""
    outbox.mark_batches(session, staged.batches)
    index = 0
    while staged.blobs:
        blob, namespaces = staged.blobs.pop(0)
        new, derived = [], []
        for hash_id, moment, doc, facts in pickle.loads(blob):  # only ever made by add()
            item = _Prepared(index, doc, hash_id, moment, [], None, None, [],
                             "errorDeclaration" in doc)  # fmt: skip
            new.append((item, namespaces))
            derived.append(facts)
            index += 1
        del blob
        _store(session, actor, new, {}, announce=False, derived=derived)
    staged.batches, staged.count = set(), 0


class StageTimes:
    """(batch, bizStep, event time) -> hash ID of the events stored for the batches, and of
    those captures add, for ``distinct_stages``; one may serve several captures (an import's
    chunks), loading each batch's stored events once."""

    def __init__(self) -> None:
        self.known: dict[tuple[int, str | None, dt.datetime], str] = {}
        self.loaded: set[int] = set()

    def load(self, session: Session, batch_ids: set[int]) -> None:
        batch_ids = batch_ids - self.loaded
        self.loaded |= batch_ids
        for chunk in chunked(session, sorted(batch_ids)):
            rows = session.execute(
                select(EventEpc.batch_id, Event.biz_step, Event.event_time, Event.hash_id)
                .join(Event, Event.id == EventEpc.event_pk)
                .where(one_of(session, EventEpc.batch_id, chunk), Event.declares_error.is_(False))
            )
            for batch_id, step, when, hash_id in rows:
                if batch_id is not None:
                    self.known[(batch_id, step, when)] = hash_id

    def restated(self, item: _Prepared, batch_ids: set[int]) -> str | None:
        step = item.document.get("bizStep")
        keys = [(b, step, item.event_time) for b in sorted(batch_ids)]
        for key in keys:
            other = self.known.get(key)
            if other is not None and other != item.hash_id:
                return (
                    f"already recorded differently (stage {step} at {item.event_time.isoformat()}"
                    f", event {other}): correct it with a correction, not an import"
                )
        for key in keys:
            self.known[key] = item.hash_id
        return None


def _conflict(item: _Prepared, event_id: str, same_id: Event | _Accepted | None,
              same_hash: Event | _Accepted | None) -> Conflict | None:  # fmt: skip
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
    new: list[tuple[_Prepared, Mapping[str, str]]],
    batch_of: Mapping[str, int],
    record_time: RecordTime | None = None,
    *,
    announce: bool = True,
    derived: list[derivation.Derived] | None = None,
) -> None:
    now = dt.datetime.now(dt.UTC)
    # One derivation for capture and verification (trace.services.events.derivation); staged
    # events bring theirs, made before the ledger's head was locked.
    if derived is None:
        derived = [derivation.derive(item.document, batch_of) for item, _ in new]
    rows: list[dict[str, Any]] = [
        {
            **facts.columns,
            "hash_id": item.hash_id,
            "record_time": (
                now if record_time is None else min(record_time(item.event_time, item.hash_id), now)
            ),
            "document": item.document,
            "namespaces": dict(namespaces),
            "captured_by_token_id": actor.token_id,
            "captured_by_organization_id": actor.organization_id,
        }
        for (item, namespaces), facts in zip(new, derived, strict=True)
    ]
    # The batches' stages changed: their national portal records get a new version. Before the
    # ledger's head, as every capture does (one lock order), so the head waits for less.
    if announce:
        outbox.mark_batches(session, {b for facts in derived for _, _, b in facts.epcs if b})
    # The head is locked from here to the end of the transaction: only the appending is left.
    ledger.chain(ledger.lock_head(session), rows)
    # Bulk inserts (COPY on PostgreSQL): ids come from the ledger, nothing is read back.
    insert_rows(session, table_of(Event), rows)
    epc_rows = [
        {"event_pk": row["id"], "role": role, "uri": uri, "batch_id": batch_id,
         "event_time": row["event_time"]}
        for facts, row in zip(derived, rows, strict=True)
        for role, uri, batch_id in facts.epcs
    ]  # fmt: skip
    links = sorted({(i, o, row["id"]) for facts, row in zip(derived, rows, strict=True)
                    for i, o in facts.links})  # fmt: skip
    if actor.user_id is not None:
        _audit_user_capture(session, actor, rows, now)
    if epc_rows:
        insert_rows(session, table_of(EventEpc), epc_rows)
    if links:
        session.execute(
            insert(table_of(BatchLink)),
            [{"input_batch_id": i, "output_batch_id": o, "event_pk": e} for i, o, e in links],
        )


def _audit_user_capture(
    session: Session, actor: Actor, rows: Sequence[Mapping[str, Any]], now: dt.datetime
) -> None:
    """Events a console user captured (through a session, which has no token) name the user in
    the audit trail; the ledger row keeps the organisation and token, as for any capture."""
    session.execute(
        insert(table_of(AuditEntry)),
        [
            {
                "at": now,
                "token_id": actor.token_id,
                "user_id": actor.user_id,
                "actor": actor.label[:100],
                "actor_organization_id": actor.organization_id,
                "action": "declare_error" if "errorDeclaration" in row["document"] else "capture",
                "entity_type": "event",
                "entity_id": str(row["id"]),
                "before": None,
                "after": {"event_id": row["document"]["eventID"], "hash_id": row["hash_id"]},
            }
            for row in rows
        ],
    )
