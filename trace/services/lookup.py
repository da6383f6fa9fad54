"""What the public lookup page shows for a scanned code, and how fresh it is.

Two costs, kept apart:

- :func:`find_code` / :func:`find_lot` / :func:`find_serial` resolve what was scanned **and** read
  the batch's freshness (:class:`Freshness`: latest event seq, event count, batch/product/
  producer ``updated_at``, recall state, code status) in one indexed query. That runs on every
  request; it yields the ETag and the key under which a rendered page may be reused.
- :func:`page` gathers everything the page shows (product, producer, history, one step back to
  the origin farms, a check of this batch's ledger entries, the recall). Only when the freshness
  changed (or a cached copy expired) does a view need it again.

The ledger check is local to the batch: each of its events is re-hashed from the stored document,
its chain hash recomputed from its predecessor's (``seq - 1``), and what the page reads of it
(columns, ``event_epc`` and ``batch_link`` rows) derived again from the document. It covers the
events the page shows: an index row deleted to hide an event from the batch is seen by the full
:func:`ledger.verify`, which walks every event and is the inspectors' tool, far too slow per page
view.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session
from werkzeug.http import http_date

from trace.gs1 import CANONICAL_BASE, DigitalLinkError, parse_digital_link
from trace.labels.codes import CodeError, is_valid_code, normalize_code
from trace.models import (
    Batch,
    BatchLink,
    BatchStatus,
    Code,
    CodeKind,
    CodeStatus,
    Event,
    EventEpc,
    Facility,
    FacilityKind,
    Organization,
    Product,
    Recall,
    RecallBatch,
)
from trace.provinces import province_name
from trace.services.eudr.package import HARVEST_STEP, verified_origin
from trace.services.events import genealogy, ledger
from trace.services.events.history import HistoryEntry, history
from trace.services.events.history import histories as history_of_batches
from trace.services.passport.content import certificates_section, certificates_sections
from trace.services.passport.validity import today
from trace.services.registry.images import stored_version

ORIGIN_DEPTH = 6  # how far back "one step back" may walk through transformations to the farms


class LookupError_(Exception):  # named so: LookupError is a builtin
    """Base of what a lookup can fail with; views turn these into friendly pages."""


class InvalidCode(LookupError_):
    """The text is not a well-formed code (bad characters, length or check character)."""


class UnknownCode(LookupError_):
    """Well-formed, but nothing registered answers to it."""


# Resolving what was scanned, with its freshness ------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """The cheap facts that change whenever what the page shows changes."""

    batch_updated_at: dt.datetime
    batch_status: str
    product_updated_at: dt.datetime
    producer_updated_at: dt.datetime
    event_count: int
    last_seq: int | None
    last_recorded_at: dt.datetime | None
    open_recall_id: int | None
    closed_recalls: int
    code_status: str | None

    @property
    def token(self) -> str:
        """The state's digest and the day in Vietnam: certificates lapse at midnight with nothing
        written, and a resolved code may be remembered across midnight
        (:mod:`~trace.codeview.live`), so the day is read on every use, not remembered with the
        rest."""
        return f"{self._stored_state}-{today().toordinal()}"

    @cached_property  # read more than once per page view
    def _stored_state(self) -> str:
        parts = [
            self.batch_updated_at.isoformat(),
            self.batch_status,
            self.product_updated_at.isoformat(),
            self.producer_updated_at.isoformat(),
            str(self.event_count),
            str(self.last_seq),
            str(self.open_recall_id),
            str(self.closed_recalls),
            str(self.code_status),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]

    @cached_property
    def http_date(self) -> str:
        """:attr:`last_modified` as the Last-Modified header writes it."""
        return http_date(self.last_modified)

    @property
    def last_modified(self) -> dt.datetime:
        moments = [self.batch_updated_at, self.product_updated_at, self.producer_updated_at]
        if self.last_recorded_at is not None:
            moments.append(self.last_recorded_at)
        return max(moments)


@dataclass(frozen=True)
class Target:
    """What a scanned URL names: a batch, through one of its codes when there is one."""

    batch_id: int
    code_id: int | None
    code: str | None
    kind: CodeKind | None
    status: CodeStatus | None
    void_reason: str | None
    lot_code: str
    product_id: int
    gtin: str | None
    freshness: Freshness

    @property
    def is_unit(self) -> bool:
        return self.kind is CodeKind.UNIT

    @property
    def voided(self) -> bool:
        return self.status is CodeStatus.VOIDED


def _freshness_columns() -> list[Any]:
    # Joins from the batch's event_epc rows (ix_event_epc_batch_time) to events by key: the
    # cost follows the batch's own events, never the size of the event table.
    def over_events(column: Any) -> Any:
        return (
            select(column)
            .select_from(EventEpc)
            .join(Event, Event.id == EventEpc.event_pk)
            .where(EventEpc.batch_id == Batch.id)
            .scalar_subquery()
        )

    return [
        Batch.updated_at,
        Batch.status,
        Product.updated_at,
        Organization.updated_at,
        select(func.count()).where(EventEpc.batch_id == Batch.id).scalar_subquery(),
        over_events(func.max(Event.seq)),
        over_events(func.max(Event.record_time)),
        select(func.max(Recall.id))
        .join(RecallBatch, RecallBatch.recall_id == Recall.id)
        .where(RecallBatch.batch_id == Batch.id, Recall.closed_at.is_(None))
        .scalar_subquery(),
        select(func.count())
        .select_from(RecallBatch)
        .join(Recall, RecallBatch.recall_id == Recall.id)
        .where(RecallBatch.batch_id == Batch.id, Recall.closed_at.is_not(None))
        .scalar_subquery(),
    ]


_TARGET_COLUMNS = (Batch.id, Batch.lot_code, Product.id, Product.gtin)


def _target(row: Any, code_columns: tuple[Any, ...] | None) -> Target:
    batch_id, lot, product_id, gtin, *rest = row
    if code_columns is None:
        code_id = code = kind = status = reason = None
    else:
        code_id, code, kind, status, reason, *rest = rest
    (b_upd, b_status, p_upd, o_upd, n_events, last_seq, last_rec, open_id, closed) = rest
    freshness = Freshness(
        b_upd, str(b_status), p_upd, o_upd, int(n_events or 0), last_seq, last_rec, open_id,
        int(closed or 0), str(status) if status is not None else None,
    )  # fmt: skip
    return Target(batch_id, code_id, code, kind, status, reason, lot, product_id, gtin, freshness)


_CODE_COLUMNS = (Code.id, Code.code, Code.kind, Code.status, Code.void_reason)


def _base_query(*extra: Any) -> Any:
    return (
        select(*_TARGET_COLUMNS, *extra, *_freshness_columns())
        .join(Product, Product.id == Batch.product_id)
        .join(Organization, Organization.id == Batch.producer_id)
    )


_BY_CODE: list[Any] = []


def _by_code() -> Any:
    """The code lookup statement, built once (it runs on every page view)."""
    if not _BY_CODE:
        _BY_CODE.append(
            _base_query(*_CODE_COLUMNS)
            .join(Code, Code.batch_id == Batch.id)
            .where(Code.code == bindparam("code"))
        )
    return _BY_CODE[0]


def normalized(text: str) -> str:
    """The canonical spelling of a typed or scanned code; InvalidCode when it cannot be one."""
    try:
        code = normalize_code(text)
    except CodeError as exc:
        raise InvalidCode(str(exc)) from None
    if not is_valid_code(code):
        raise InvalidCode("the check character does not match, or the length is wrong")
    return code


def find_code(session: Session, text: str) -> Target:
    """The batch or unit code ``text`` (any case, hyphens, O/I/L look-alikes), with freshness."""
    code = normalized(text)
    row = session.execute(_by_code(), {"code": code}).first()
    if row is None:
        raise UnknownCode(code)
    return _target(row, _CODE_COLUMNS)


def _live_batch_code(session: Session, batch_id: int) -> tuple[Any, ...] | None:
    row = session.execute(
        select(*_CODE_COLUMNS)
        .where(
            Code.batch_id == batch_id,
            Code.kind == CodeKind.BATCH,
            Code.status != CodeStatus.VOIDED,
        )
        .order_by(Code.id.desc())
        .limit(1)
    ).first()
    return tuple(row) if row is not None else None


def batch_targets(session: Session, batch_ids: Sequence[int]) -> dict[int, Target]:
    """The batches themselves (no code), with their freshness, by id."""
    rows = session.execute(_base_query().where(Batch.id.in_(batch_ids))).all()
    return {target.batch_id: target for target in (_target(row, None) for row in rows)}


def find_lot(session: Session, gtin: str, lot: str) -> Target:
    """The batch ``lot`` of the product with ``gtin``, through its live batch-level code."""
    row = session.execute(_base_query().where(Product.gtin == gtin, Batch.lot_code == lot)).first()
    if row is None:
        raise UnknownCode(f"{gtin}/{lot}")
    target = _target(row, None)
    code = _live_batch_code(session, target.batch_id)
    if code is None:
        return target
    code_id, text, kind, status, reason = code
    return Target(
        target.batch_id, code_id, text, kind, status, reason, target.lot_code, target.product_id,
        target.gtin, target.freshness,
    )  # fmt: skip


def find_serial(session: Session, gtin: str, serial: str, lot: str | None = None) -> Target:
    """The unit code ``serial`` of a product with ``gtin`` (and of batch ``lot`` if given)."""
    try:
        code = normalized(serial)
    except InvalidCode:
        raise UnknownCode(serial) from None
    stmt = (
        _base_query(*_CODE_COLUMNS)
        .join(Code, Code.batch_id == Batch.id)
        .where(Code.code == code, Product.gtin == gtin)
    )
    if lot is not None:
        stmt = stmt.where(Batch.lot_code == lot)
    row = session.execute(stmt).first()
    if row is None:
        raise UnknownCode(serial)
    return _target(row, _CODE_COLUMNS)


# The page's content ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    name: str
    address: str
    province: str
    organization: str | None = None
    gln: str | None = None
    kind: str | None = None

    @property
    def location_code(self) -> str | None:
        return self.gln


@dataclass(frozen=True)
class Stage:
    name: dict[str, str]
    time: dt.datetime  # in the event's own offset, normally +07:00
    place: Place | None
    product_codes: list[str]
    location_code: str | None
    temperatures: list[Decimal]
    quantity: dict[str, Any] | None
    corrected: bool
    note: str | None
    event_id: str


@dataclass(frozen=True)
class Origin:
    """An input batch reached by walking back through transformations."""

    product_vi: str
    product_en: str | None
    lot_code: str
    producer: str
    farm: Place | None
    depth: int


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    problem: str | None = None
    # When the ledger verifier checked (trace.codeview.ledgercheck); None: checked at view time.
    checked_at: dt.datetime | None = None


@dataclass(frozen=True)
class RecallInfo:
    reason: str | None
    since: dt.datetime | None
    direct: bool
    #: what consumers must do, as the recall says it (None: the page's general advice)
    instruction_vi: str | None = None
    instruction_en: str | None = None


@dataclass
class PageData:
    product: dict[str, Any]
    producer: dict[str, Any]
    batch: dict[str, Any]
    origin_facility: Place | None
    stages: list[Stage]
    origins: list[Origin]
    verification: Verification
    recall: RecallInfo | None
    #: the passport's certificate entries, each with its validity on the page's day
    certificates: list[dict[str, Any]] = field(default_factory=list)
    #: EUDR: how many plots upstream, in which provinces (never where or whose).
    eudr: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _place(facility: Facility | None, org: Organization | None = None) -> Place | None:
    """A facility as the page shows it; a plot (EUDR production place: a farmer's land) never."""
    if facility is None or facility.kind is FacilityKind.PLOT:
        return None
    return Place(
        facility.name,
        facility.address,
        province_name(facility.province_code),
        org.name if org is not None else None,
        facility.gln,
        str(facility.kind),
    )


def _temperatures(readings: list[dict[str, Any]]) -> list[Decimal]:
    values = []
    for reading in readings:
        try:
            values.append(Decimal(str(reading["celsius"])))
        except (ArithmeticError, KeyError, ValueError):
            continue
    return values


def _event_time(event: Event) -> dt.datetime:
    offset = event.event_time_zone_offset or "+07:00"
    sign = 1 if offset[0] == "+" else -1
    zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    return event.event_time.astimezone(zone)


def _readable_code(uri: str) -> str:
    """A GS1 Digital Link as its element string, ``(01)…(10)…``; other URIs unchanged."""
    if uri.startswith(CANONICAL_BASE + "/"):
        try:
            return parse_digital_link(uri).element_string
        except DigitalLinkError:
            return uri
    return uri.removeprefix("trace:")


def _codes_by_event(session: Session, batch_id: int, event_pks: list[int]) -> dict[int, list[str]]:
    codes: dict[int, list[str]] = {}
    if not event_pks:
        return codes
    for event_pk, uri in session.execute(
        select(EventEpc.event_pk, EventEpc.uri)
        .where(EventEpc.event_pk.in_(event_pks), EventEpc.batch_id == batch_id)
        .order_by(EventEpc.id)
    ):
        readable = _readable_code(uri)
        if readable not in codes.setdefault(event_pk, []):
            codes[event_pk].append(readable)
    return codes


def _stages(session: Session, batch_id: int) -> list[Stage]:
    entries = history(session, batch_id)
    return _stages_of(entries, _codes_by_event(session, batch_id, [e.event.id for e in entries]))


def _stages_of(entries: Sequence[HistoryEntry], codes: dict[int, list[str]]) -> list[Stage]:
    stages = []
    for entry in entries:
        event = entry.event
        note = event.document.get("trace:note")
        stages.append(
            Stage(
                name=entry.stage,
                time=_event_time(event),
                place=_place(entry.facility, entry.organization),
                product_codes=codes.get(event.id, []),
                location_code=None
                if entry.facility is not None and entry.facility.kind is FacilityKind.PLOT
                else _readable_code(event.biz_location or event.read_point or ""),
                temperatures=_temperatures(entry.temperatures),
                quantity=entry.quantity,
                corrected=entry.corrected,
                note=note if isinstance(note, str) else None,
                event_id=event.event_id,
            )
        )
    return stages


def _origins(session: Session, batch_id: int) -> list[Origin]:
    walk = genealogy.trace(session, batch_id, "backward", ORIGIN_DEPTH)
    nodes = [node for node in walk.nodes if node.depth > 0]
    facility_ids = {node.facility.id for node in nodes if node.facility is not None}
    rows = session.execute(
        select(Facility, Organization)
        .join(Organization, Organization.id == Facility.organization_id)
        .where(Facility.id.in_(facility_ids))
    ).all()
    farms = {facility.id: _place(facility, org) for facility, org in rows}
    return [
        Origin(
            node.product.name_vi,
            node.product.name_en,
            node.batch.lot_code,
            node.producer.name,
            farms.get(node.facility.id) if node.facility is not None else None,
            node.depth,
        )
        for node in nodes
    ]


def verify_events(session: Session, events: Sequence[Event]) -> Verification:
    """Check these ledger entries alone: each still hashes to its hash ID, each chain hash
    follows from its predecessor's (entry ``seq - 1``, or the genesis value for entry 1), and
    what the page reads of each (its derived columns, its ``event_epc`` and ``batch_link``
    rows) is what its document says (:func:`ledger.derived_mismatches`)."""
    if not events:
        return Verification(True, 0)
    problem = first_problem(events, *event_problems(session, events))
    return Verification(problem is None, len(events), problem)


Problems = dict[int, str]  # by event id: what is wrong with the entry


def event_problems(session: Session, events: Sequence[Event]) -> tuple[Problems, Problems]:
    """What is wrong with each of these ledger entries: (its hash or chain link, what the page
    reads of it), by event id. A few queries whatever the number of events, so the verifier
    checks many batches' events at once."""
    previous: dict[int, str] = {0: ledger.GENESIS}
    wanted = sorted({e.seq - 1 for e in events if e.seq > 1})
    for start in range(0, len(wanted), 5000):
        previous.update(
            session.execute(
                select(Event.seq, Event.chain_hash).where(
                    Event.seq.in_(wanted[start : start + 5000])
                )
            ).all()
        )
    ordered = sorted(events, key=lambda e: e.seq)
    chain: Problems = {}
    for event in ordered:
        if event.seq - 1 not in previous:
            chain[event.id] = f"entry {event.seq - 1} is missing"
        elif ledger.stored_hash(event) != event.hash_id:
            chain[event.id] = f"entry {event.seq} was changed"
        else:
            digest = ledger.entry_digest(event.hash_id, event.document)
            if ledger.next_chain_hash(previous[event.seq - 1], digest) != event.chain_hash:
                chain[event.id] = f"entry {event.seq} is out of its chain"
    seq_of = {e.id: e.seq for e in ordered}
    derived = {
        event_id: f"entry {seq_of[event_id]}: {found[0].what} does not match its record"
        for event_id, found in ledger.derived_mismatches(session, ordered).items()
    }
    return chain, derived


def first_problem(events: Sequence[Event], chain: Problems, derived: Problems) -> str | None:
    """The first problem among ``events``: a broken hash or chain link before anything else,
    in ledger order, then a mismatch of what the page reads."""
    ordered = sorted(events, key=lambda e: e.seq)
    for problems in (chain, derived):
        for event in ordered:
            if event.id in problems:
                return problems[event.id]
    return None


def batch_events(session: Session, batch_id: int) -> Sequence[Event]:
    """The batch's events in ledger order (what its page shows)."""
    pks = select(EventEpc.event_pk).where(EventEpc.batch_id == batch_id).distinct()
    return session.scalars(select(Event).where(Event.id.in_(pks)).order_by(Event.seq)).all()


def verify_batch(session: Session, batch_id: int) -> Verification:
    """The view-time ledger check of the batch's events (:func:`verify_events`)."""
    return verify_events(session, batch_events(session, batch_id))


def recall_of(session: Session, batch_id: int, status: str) -> RecallInfo | None:
    """The latest open recall covering the batch; a bare notice if only the status says so."""
    return _recall_or_status(_open_recalls(session, [batch_id]).get(batch_id), status)


def _recall_or_status(info: RecallInfo | None, status: str) -> RecallInfo | None:
    if info is None and status == BatchStatus.RECALLED.value:
        return RecallInfo(None, None, True)
    return info


def page(session: Session, target: Target, *, verify: bool = True) -> PageData:
    """Everything the public page of ``target`` shows (a handful of indexed queries).

    ``verify=False`` leaves out the ledger check (``verification`` is then a placeholder): the
    page takes its mark from the verifier's check, or from :func:`verify_batch`, apart."""
    return batch_page(session, target.batch_id, verify=verify)


def batch_page(session: Session, batch_id: int, *, verify: bool = True) -> PageData:
    """What the public page shows of a batch (the console shows its producer the same)."""
    batch, product, producer, facility = session.execute(
        select(Batch, Product, Organization, Facility)
        .join(Product, Product.id == Batch.product_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .outerjoin(Facility, Facility.id == Batch.origin_facility_id)
        .where(Batch.id == batch_id)
    ).one()
    facility_org = producer
    if facility is not None and facility.organization_id != producer.id:
        facility_org = session.get(Organization, facility.organization_id) or producer
    return _page_data(
        batch,
        product,
        producer,
        _place(facility, facility_org),
        stages=_stages(session, batch.id),
        origins=_origins(session, batch.id),
        verification=verify_events(session, batch_events(session, batch.id))
        if verify
        else Verification(True, 0),
        recall=recall_of(session, batch.id, str(batch.status)),
        certificates=certificates_section(session, product, batch, today()),
        eudr=_eudr(session, batch.id),
    )


def batch_pages(session: Session, batch_ids: Sequence[int]) -> dict[int, PageData]:
    """:func:`batch_page` of many batches without the ledger check (``verify=False``), by id, in
    a few set-based queries instead of about fourteen per batch: the verifier prepares the pages
    of hundreds of batches at a time. The same :class:`PageData` field by field (a test compares
    them); batches that do not exist are left out. The walks back to the origins and to EUDR
    plots run per batch, only for the batches that have inputs or a harvest event."""
    wanted = sorted(set(batch_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Batch, Product, Organization, Facility)
        .join(Product, Product.id == Batch.product_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .outerjoin(Facility, Facility.id == Batch.origin_facility_id)
        .where(Batch.id.in_(wanted))
    ).all()
    ids = [batch.id for batch, *_ in rows]
    other_orgs = {
        f.organization_id
        for _, _, producer, f in rows
        if f is not None and f.organization_id != producer.id
    }
    orgs = {
        o.id: o
        for o in session.scalars(select(Organization).where(Organization.id.in_(other_orgs)))
    }
    histories_of = history_of_batches(session, ids)
    codes = _codes_of_batches(session, ids)
    recalls = _open_recalls(session, ids)
    certificates = certificates_sections(session, [(p, b) for b, p, *_ in rows], today())
    with_inputs = set(
        session.scalars(
            select(BatchLink.output_batch_id).where(BatchLink.output_batch_id.in_(ids)).distinct()
        )
    )
    harvested = set(
        session.scalars(
            select(EventEpc.batch_id)
            .join(Event, Event.id == EventEpc.event_pk)
            .where(EventEpc.batch_id.in_(ids), Event.biz_step == HARVEST_STEP)
            .distinct()
        )
    )
    pages = {}
    for batch, product, producer, facility in rows:
        facility_org = producer
        if facility is not None and facility.organization_id != producer.id:
            facility_org = orgs.get(facility.organization_id) or producer
        recall = _recall_or_status(recalls.get(batch.id), str(batch.status))
        pages[batch.id] = _page_data(
            batch,
            product,
            producer,
            _place(facility, facility_org),
            stages=_stages_of(histories_of[batch.id], codes.get(batch.id, {})),
            origins=_origins(session, batch.id) if batch.id in with_inputs else [],
            verification=Verification(True, 0),
            recall=recall,
            certificates=certificates[batch.id],
            eudr=_eudr(session, batch.id) if batch.id in with_inputs | harvested else None,
        )
    return pages


def _codes_of_batches(session: Session, batch_ids: list[int]) -> dict[int, dict[int, list[str]]]:
    """:func:`_codes_by_event` of many batches: batch id -> event id -> readable codes."""
    codes: dict[int, dict[int, list[str]]] = {}
    for batch_id, event_pk, uri in session.execute(
        select(EventEpc.batch_id, EventEpc.event_pk, EventEpc.uri)
        .where(EventEpc.batch_id.in_(batch_ids))
        .order_by(EventEpc.id)
    ):
        if batch_id is None:
            continue
        readable = _readable_code(uri)
        mine = codes.setdefault(batch_id, {}).setdefault(event_pk, [])
        if readable not in mine:
            mine.append(readable)
    return codes


def _open_recalls(session: Session, batch_ids: list[int]) -> dict[int, RecallInfo]:
    """The latest open recall of each of many batches (a batch recalled by its status alone is
    the caller's: :func:`recall_of`)."""
    found: dict[int, RecallInfo] = {}
    for batch_id, reason, since, direct, instruction_vi, instruction_en in session.execute(
        select(
            RecallBatch.batch_id,
            Recall.reason,
            Recall.created_at,
            RecallBatch.direct,
            Recall.instruction_vi,
            Recall.instruction_en,
        )
        .join(RecallBatch, RecallBatch.recall_id == Recall.id)
        .where(RecallBatch.batch_id.in_(batch_ids), Recall.closed_at.is_(None))
        .order_by(Recall.created_at.desc(), Recall.id.desc())
    ):
        if batch_id not in found:
            found[batch_id] = RecallInfo(
                reason, since, bool(direct), instruction_vi, instruction_en
            )
    return found


def _page_data(
    batch: Batch,
    product: Product,
    producer: Organization,
    origin_facility: Place | None,
    **parts: Any,
) -> PageData:
    return PageData(
        product={
            "id": product.id,
            "name_vi": product.name_vi,
            "name_en": product.name_en,
            "category": str(product.category),
            "gtin": product.gtin,
            "ocop_stars": product.ocop_stars,
            "geographical_indication": product.geographical_indication,
            "standards": list(product.standards or []),
            "has_image": bool(product.image),
            # in the image's URL: a new upload is a new URL (browsers keep the old one a day)
            "image_version": stored_version(product.image),
            "description_vi": product.description_vi,
            "description_en": product.description_en,
            "origin_country": product.origin_country,
            "origin_province": (
                province_name(product.origin_province_code)
                if product.origin_province_code
                else None
            ),
            "safety_warning_vi": product.safety_warning_vi,
            "safety_warning_en": product.safety_warning_en,
        },
        producer={
            "name": producer.name,
            "address": producer.address,
            "province": province_name(producer.province_code),
            "province_code": producer.province_code,
            "phone": producer.phone,
            "email": producer.email,
            "website": producer.website,
            "gln": producer.gln,
        },
        batch={
            "id": batch.id,
            "lot_code": batch.lot_code,
            "quantity": batch.quantity,
            "unit": batch.unit,
            "production_date": batch.production_date,
            "expiry_date": batch.expiry_date,
            "status": str(batch.status),
        },
        origin_facility=origin_facility,
        **parts,
    )


def _eudr(session: Session, batch_id: int) -> dict[str, Any] | None:
    origin = verified_origin(session, batch_id)
    if origin is None:
        return None
    return {
        "plots": origin.plots,
        "provinces": [province_name(code) for code in origin.province_codes],
    }


def recall_status(session: Session, target: Target) -> dict[str, Any]:
    """The ``gs1:recallStatus`` answer: is this batch recalled, since when and why."""
    info = recall_of(session, target.batch_id, target.freshness.batch_status)
    return {
        "recalled": info is not None,
        "reason": info.reason if info else None,
        "since": info.since.isoformat() if info and info.since else None,
        "lot": target.lot_code,
        "gtin": target.gtin,
        "code": target.code,
    }


# The product (/01/<gtin>) and facility (/414/<gln>) pages ------------------------------------


@dataclass(frozen=True)
class ProductPage:
    product: Product
    producer: Organization
    batches: list[tuple[Batch, str | None]]  # (batch, live batch-level code)


def product_page(session: Session, gtin: str, limit: int = 20) -> ProductPage:
    row = session.execute(
        select(Product, Organization)
        .join(Organization, Organization.id == Product.organization_id)
        .where(Product.gtin == gtin)
    ).first()
    if row is None:
        raise UnknownCode(gtin)
    product, producer = row
    live = and_(
        Code.batch_id == Batch.id, Code.kind == CodeKind.BATCH, Code.status != CodeStatus.VOIDED
    )
    code = select(func.max(Code.code)).where(live).scalar_subquery()
    batches = session.execute(
        select(Batch, code)
        .where(Batch.product_id == product.id)
        .order_by(Batch.production_date.desc(), Batch.id.desc())
        .limit(limit)
    ).all()
    return ProductPage(product, producer, [(b, c) for b, c in batches])


def facility_page(session: Session, gln: str) -> tuple[Place, Organization]:
    row = session.execute(
        select(Facility, Organization)
        .join(Organization, Organization.id == Facility.organization_id)
        .where(Facility.gln == gln)
    ).first()
    if row is None:
        raise UnknownCode(gln)
    facility, org = row
    place = _place(facility, org)
    if place is None:
        raise UnknownCode(gln)  # a plot has no public page
    return place, org
