"""The write rule for events: who may record an event about a batch, and who may declare one in
error. Capture applies it to every new event; history applies the declaration half to what is
stored; ``flask --app wsgi audit custody`` replays it over the whole ledger.

Custody: a batch's producer holds it from the start. Another organisation comes to hold it only
by recording a receipt after someone who held it (or a centre or admin acting for them) recorded
a shipment to it: the destination names the receiver or one of its facilities. So a distributor
that received a lot may ship it on to a retailer, whose receipt is then accepted too. A producer
may record an event naming a batch only when it holds that batch; a receipt only when it holds
the batch or the batch was shipped to it. A transformation's inputs are batches like any other:
the processor must hold them. A centre records events of its province's batches; admin anything.

Custody is replayed from the stored shipments and receipts in ledger order, applying this same
rule, so a receipt stored before the rule existed does not make its recorder a holder.

Error declarations: an EPCIS ``errorDeclaration`` repeats the declared event with the
``errorDeclaration`` added (EPCIS 2.0 §7.4.1.5), so its CBV hash (which leaves out eventID,
recordTime and errorDeclaration) must equal the declared event's. Only the organisation that
recorded the event, a centre of that organisation's province (of the batches' province when the
event was recorded without an organisation) or admin may declare it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.models import ApiToken, Batch, Event, EventEpc, Organization, Role
from trace.services.actors import Actor
from trace.services.events.identifiers import canonical_uri, resolve

SHIPPING_STEPS = frozenset({"shipping", "departing", "staging_outbound", "transporting"})
RECEIVING_STEPS = frozenset({"receiving", "accepting", "arriving"})


@dataclass(frozen=True)
class Recorder:
    """Who recorded (or records) an event: a token's role, organisation and province. ``role``
    is None for the system itself (the demo loader, CLI commands), which acts as admin."""

    role: Role | None
    organization_id: int | None = None
    province_code: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Recorder:
        return cls(actor.role, actor.organization_id, actor.province_code)

    @property
    def is_admin(self) -> bool:
        return self.role is None or self.role is Role.ADMIN

    def describe(self) -> str:
        if self.organization_id is not None:
            return f"organisation {self.organization_id}"
        return f"a {self.role.value if self.role else 'system'} token"


def destinations(document: Mapping[str, Any]) -> list[str]:
    return [
        canonical_uri(d["destination"])
        for d in document.get("destinationList") or ()
        if isinstance(d, dict) and isinstance(d.get("destination"), str)
    ]


@dataclass
class Custody:
    """Who legitimately holds each batch, and to whom its holders shipped it."""

    #: batch id -> (producer organisation id, producer's province code)
    owners: Mapping[int, tuple[int, str]]
    holders: dict[int, set[int]] = field(default_factory=dict)
    shipped_to: dict[int, set[int]] = field(default_factory=dict)

    def held_by(self, batch_id: int) -> set[int]:
        return {self.owners[batch_id][0]} | self.holders.get(batch_id, set())

    def refusal(self, recorder: Recorder, step: str | None, batch_ids: Iterable[int]) -> str | None:
        """None when the recorder may record an event of this step naming these batches."""
        ids = sorted(batch_ids)
        if recorder.is_admin:
            return None
        if recorder.role is Role.INSPECTOR:
            return "inspectors read events; they do not record them"
        if not ids:
            return "the event names no registered batch or code of yours"
        if recorder.role is Role.CENTRE:
            outside = [b for b in ids if self.owners[b][1] != recorder.province_code]
            if outside:
                return f"batches {outside} are outside province {recorder.province_code}"
            return None
        org = recorder.organization_id
        if org is None:
            return "the token acts for no organisation"
        receipt = step in RECEIVING_STEPS
        refused = [
            b
            for b in ids
            if org not in self.held_by(b) and not (receipt and org in self.shipped_to.get(b, set()))
        ]
        if not refused:
            return None
        if receipt:
            return (
                f"batches {refused} were not shipped to organisation {org} by an organisation "
                "holding them: a receipt needs a shipment recorded by the lot's current "
                "custodian with the receiver (or one of its facilities) as destination"
            )
        return (
            f"batches {refused} belong to another organisation and organisation {org} has not "
            "received them (no accepted receipt after a shipment to it)"
        )

    def record(
        self,
        recorder: Recorder,
        step: str | None,
        batch_ids: Iterable[int],
        destination_orgs: set[int],
        location_org: int | None,
    ) -> None:
        """Take in an event the rule accepted."""
        if step in SHIPPING_STEPS:
            for b in batch_ids:
                self.shipped_to.setdefault(b, set()).update(destination_orgs)
        elif step in RECEIVING_STEPS:
            if recorder.role is Role.PRODUCER and recorder.organization_id is not None:
                receivers = {recorder.organization_id}
            else:  # recorded for the receiver by admin or a centre
                receivers = destination_orgs | ({location_org} if location_org else set())
            for b in batch_ids:
                self.holders.setdefault(b, set()).update(receivers)


def owners_of(session: Session, batch_ids: Iterable[int] | None) -> dict[int, tuple[int, str]]:
    """Batch id -> (producer id, producer's province), for these batches or every batch."""
    stmt = select(Batch.id, Batch.producer_id, Organization.province_code).join(
        Organization, Organization.id == Batch.producer_id
    )
    if batch_ids is None:
        return {b: (p, pr) for b, p, pr in session.execute(stmt)}
    found: dict[int, tuple[int, str]] = {}
    ids = sorted(set(batch_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found |= {b: (p, pr) for b, p, pr in session.execute(stmt.where(Batch.id.in_(chunk)))}
    return found


@dataclass
class StoredEvent:
    """A stored event as the replay sees it."""

    event: Event
    recorder: Recorder
    batch_ids: set[int]


def _stored(session: Session, batch_ids: Sequence[int] | None, steps: frozenset[str] | None,
            chunk: int = 2000) -> Iterator[StoredEvent]:  # fmt: skip
    """Stored original events naming these batches (or any batch), in ledger order."""
    stmt = (
        select(Event, ApiToken.role, ApiToken.province_code)
        .outerjoin(ApiToken, ApiToken.id == Event.captured_by_token_id)
        .where(Event.declares_error.is_(False))
    )
    if steps is not None:
        stmt = stmt.where(Event.biz_step.in_(sorted(steps)))
    named = select(EventEpc.event_pk).where(EventEpc.batch_id.is_not(None))
    if batch_ids is not None:
        named = named.where(EventEpc.batch_id.in_(batch_ids))
    stmt = stmt.where(Event.id.in_(named)).order_by(Event.seq)
    last = 0
    while True:
        rows = session.execute(stmt.where(Event.seq > last).limit(chunk)).all()
        if not rows:
            return
        pks = [e.id for e, _, _ in rows]
        names: dict[int, set[int]] = {}
        for pk, batch_id in session.execute(
            select(EventEpc.event_pk, EventEpc.batch_id).where(
                EventEpc.event_pk.in_(pks), EventEpc.batch_id.is_not(None)
            )
        ):
            if batch_id is not None:
                names.setdefault(pk, set()).add(batch_id)
        for event, role, province in rows:
            if role is None and event.captured_by_token_id is None:
                role = None if event.captured_by_organization_id is None else Role.PRODUCER
            recorder = Recorder(
                Role(role) if role is not None else None, event.captured_by_organization_id,
                province,
            )  # fmt: skip
            yield StoredEvent(event, recorder, names.get(event.id, set()))
        last = rows[-1][0].seq


class _Places:
    """Canonical URI -> organisation it names (itself or its facility's), resolved in bulk."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.orgs: dict[str, int | None] = {}

    def load(self, uris: Iterable[str | None]) -> None:
        missing = {u for u in uris if u and u not in self.orgs}
        if missing:
            found = resolve(self.session, missing)
            for uri in missing:
                self.orgs[uri] = found[uri].organization_id if uri in found else None

    def org(self, uri: str | None) -> int | None:
        return self.orgs.get(uri) if uri else None


def _parties(places: _Places, event: Event) -> tuple[set[int], int | None]:
    dest = {o for o in (places.org(u) for u in destinations(event.document)) if o is not None}
    return dest, places.org(event.biz_location or event.read_point)


def replay(session: Session, custody: Custody, batch_ids: Sequence[int]) -> Custody:
    """Custody of these batches after every stored shipment and receipt the rule accepts."""
    places = _Places(session)
    for chunk_start in range(0, len(batch_ids), 500):
        chunk = batch_ids[chunk_start : chunk_start + 500]
        stored = list(_stored(session, chunk, SHIPPING_STEPS | RECEIVING_STEPS))
        places.load(
            u
            for s in stored
            for u in (*destinations(s.event.document), s.event.biz_location, s.event.read_point)
        )
        for s in stored:
            ids = s.batch_ids & set(chunk)
            missing = ids - custody.owners.keys()
            if missing:
                continue
            if custody.refusal(s.recorder, s.event.biz_step, ids) is None:
                custody.record(s.recorder, s.event.biz_step, ids, *_parties(places, s.event))
    return custody


# Error declarations -------------------------------------------------------------------------


class Declared(Protocol):
    """What the declaration rule reads of the event declared in error: a stored ``Event``, or
    one accepted earlier in the same capture."""

    @property
    def event_id(self) -> str | None: ...

    @property
    def hash_id(self) -> str | None: ...

    @property
    def captured_by_organization_id(self) -> int | None: ...


def declaration_refusal(
    declarer: Recorder,
    declaration_hash: str,
    original: Declared | None,
    original_province: str | None,
    batch_provinces: set[str],
) -> tuple[int, str] | None:
    """None when the declarer may declare ``original`` in error with this content, else the
    HTTP status (403 for authority, 422 for content) and why not. ``original_province`` is the
    province of the organisation that recorded the original; ``batch_provinces`` those of the
    producers of the batches it names."""
    if original is None:
        if declarer.is_admin:
            return None  # admin may declare an event that lives elsewhere, or comes later
        return 403, (
            "no event with this eventID is recorded here: only the organisation that recorded "
            "an event may declare it in error"
        )
    if declaration_hash != original.hash_id:
        return 422, (
            f"the declaration does not repeat event {original.event_id!r}: an errorDeclaration "
            "carries the declared event's own what, when, where and why (its hash "
            f"{declaration_hash} differs from the event's {original.hash_id})"
        )
    if declarer.is_admin:
        return None
    if declarer.role is Role.CENTRE:
        provinces = {original_province} if original_province else batch_provinces
        if provinces and provinces == {declarer.province_code}:
            return None
    elif (
        declarer.role is Role.PRODUCER
        and declarer.organization_id is not None
        and declarer.organization_id == original.captured_by_organization_id
    ):
        return None
    return 403, (
        f"event {original.event_id!r} was recorded by another organisation: only it, a centre "
        "of its province or admin may declare it in error"
    )


def _recorder(event: Event, token: ApiToken | None) -> Recorder:
    if token is not None:
        return Recorder(token.role, event.captured_by_organization_id, token.province_code)
    if event.captured_by_organization_id is not None:
        return Recorder(Role.PRODUCER, event.captured_by_organization_id)
    return Recorder(None)


@dataclass
class Declarations:
    """The error declarations of some events, split into those the rule honours and the rest."""

    honoured: dict[str, list[Event]] = field(default_factory=dict)
    refused: list[tuple[Event, int, str]] = field(default_factory=list)


def declarations_of(session: Session, originals: Sequence[Event]) -> Declarations:
    """The stored declarations naming these events' eventIDs, judged by the rule."""
    result = Declarations()
    by_id = {e.event_id: e for e in originals if not e.declares_error}
    if not by_id:
        return result
    found: list[Event] = []
    ids = sorted(by_id)
    for start in range(0, len(ids), 500):
        found += session.scalars(
            select(Event)
            .where(Event.declares_error, Event.event_id.in_(ids[start : start + 500]))
            .order_by(Event.seq)
        ).all()
    _judge(session, found, by_id, result)
    return result


def _judge(session: Session, declarations: Sequence[Event], originals: Mapping[str, Event],
           result: Declarations) -> None:  # fmt: skip
    if not declarations:
        return
    token_ids = {d.captured_by_token_id for d in declarations} - {None}
    tokens = {t.id: t for t in session.scalars(select(ApiToken).where(ApiToken.id.in_(token_ids)))}
    org_ids = {o.captured_by_organization_id for o in originals.values()} - {None}
    provinces = dict(
        session.execute(
            select(Organization.id, Organization.province_code).where(Organization.id.in_(org_ids))
        ).all()
    )
    named: dict[int, set[str]] = {}
    unowned = [o.id for o in originals.values() if o.captured_by_organization_id is None]
    if unowned:
        for pk, province in session.execute(
            select(EventEpc.event_pk, Organization.province_code)
            .join(Batch, Batch.id == EventEpc.batch_id)
            .join(Organization, Organization.id == Batch.producer_id)
            .where(EventEpc.event_pk.in_(unowned))
        ):
            named.setdefault(pk, set()).add(province)
    for declaration in declarations:
        original = originals.get(declaration.event_id)
        declarer = _recorder(declaration, tokens.get(declaration.captured_by_token_id or 0))
        refusal = declaration_refusal(
            declarer,
            declaration.hash_id,
            original,
            provinces.get(original.captured_by_organization_id or 0) if original else None,
            named.get(original.id, set()) if original else set(),
        )
        if refusal is None and original is not None:
            result.honoured.setdefault(declaration.event_id, []).append(declaration)
        elif refusal is not None:
            result.refused.append((declaration, *refusal))


def honoured_event_ids(session: Session, event_ids: Iterable[str]) -> set[str]:
    """Which of these events an honoured declaration marks as corrected."""
    ids = sorted(set(event_ids))
    originals: list[Event] = []
    for start in range(0, len(ids), 500):
        originals += session.scalars(
            select(Event).where(
                Event.declares_error.is_(False), Event.event_id.in_(ids[start : start + 500])
            )
        ).all()
    return set(declarations_of(session, originals).honoured)


# The audit of what is stored ------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    seq: int
    event_id: str
    kind: str  # foreign-receipt | rides-on-custody | foreign-declaration | declaration-mismatch
    recorded_by: str
    batch_ids: tuple[int, ...]
    reason: str


def audit(session: Session) -> list[Finding]:
    """Every stored event the write rule would refuse today, in ledger order."""
    custody = Custody(owners_of(session, None))
    places = _Places(session)
    findings: list[Finding] = []
    batch = []
    for stored in _stored(session, None, None):
        batch.append(stored)
        if len(batch) >= 2000:
            _audit_chunk(custody, places, batch, findings)
            batch = []
    _audit_chunk(custody, places, batch, findings)
    findings += _audit_declarations(session)
    return sorted(findings, key=lambda f: f.seq)


def _audit_chunk(custody: Custody, places: _Places, chunk: list[StoredEvent],
                 findings: list[Finding]) -> None:  # fmt: skip
    places.load(
        u
        for s in chunk
        for u in (*destinations(s.event.document), s.event.biz_location, s.event.read_point)
    )
    for s in chunk:
        event, step = s.event, s.event.biz_step
        refusal = custody.refusal(s.recorder, step, s.batch_ids)
        if refusal is None:
            custody.record(s.recorder, step, s.batch_ids, *_parties(places, event))
            continue
        kind = "foreign-receipt" if step in RECEIVING_STEPS else "rides-on-custody"
        findings.append(
            Finding(
                event.seq,
                event.event_id,
                kind,
                s.recorder.describe(),
                tuple(sorted(s.batch_ids)),
                refusal,
            )
        )


def _audit_declarations(session: Session) -> list[Finding]:
    declarations = session.scalars(select(Event).where(Event.declares_error).order_by(Event.seq))
    findings: list[Finding] = []
    pending = list(declarations)
    for start in range(0, len(pending), 500):
        chunk = pending[start : start + 500]
        ids = {d.event_id for d in chunk}
        originals = {
            e.event_id: e
            for e in session.scalars(
                select(Event).where(Event.declares_error.is_(False), Event.event_id.in_(ids))
            )
        }
        result = Declarations()
        _judge(session, chunk, originals, result)
        for declaration, status, reason in result.refused:
            if declaration.event_id not in originals:
                continue  # kept for an event that lives elsewhere: nothing here to mark
            kind = "declaration-mismatch" if status == 422 else "foreign-declaration"
            label = _recorder_label(declaration)
            findings.append(Finding(declaration.seq, declaration.event_id, kind, label, (), reason))
    return findings


def _recorder_label(event: Event) -> str:
    if event.captured_by_organization_id is not None:
        return f"organisation {event.captured_by_organization_id}"
    return f"token {event.captured_by_token_id}" if event.captured_by_token_id else "system"
