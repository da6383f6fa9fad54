"""Exports: the FSMA 204 style KDE spreadsheet, and the Circular 02 items for the national portal.

KDE export: one row per critical tracking event (CTE) and traceability lot. The CTE comes from
the event's bizStep (CBV 2.0 and our extension steps) or its type (TransformationEvent):

=====================  ==============================================================
CTE                    bizSteps
=====================  ==============================================================
harvesting             ``…/BizStep-harvesting`` (extension)
cooling                ``…/BizStep-cooling`` (extension)
initial_packing        ``packing``
shipping               ``shipping``, ``departing``
receiving              ``receiving``, ``arriving``, ``accepting``
transformation         ``…/BizStep-processing``, ``…/BizStep-drying``, any TransformationEvent
=====================  ==============================================================

Rows are produced from one streamed query (``yield_per``) and resolved a chunk at a time, so an
export of any size runs in constant memory: CSV is streamed to the client as it is made; XLSX is
written row by row (XlsxWriter ``constant_memory``) to a temporary file, then sent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import logging
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from trace.epcis import cbv
from trace.models import (
    Batch,
    Code,
    CodeKind,
    CodeStatus,
    Event,
    EventEpc,
    Facility,
    Organization,
    Product,
    Role,
)
from trace.provinces import VIETNAM
from trace.render.xlsx import SheetWriter
from trace.services.actors import Actor
from trace.services.events import custody, history
from trace.services.events.identifiers import batch_uri, canonical_uri, facility_uri, resolve
from trace.services.labels.issuance import code_uri
from trace.services.pagination import paginate
from trace.services.registry import certificates

log = logging.getLogger(__name__)

CHUNK = 1000

CTE_BY_STEP: dict[str, str] = {
    cbv.EXTENSION_NS + "harvesting": "harvesting",
    cbv.EXTENSION_NS + "cooling": "cooling",
    "packing": "initial_packing",
    "shipping": "shipping",
    "departing": "shipping",
    "receiving": "receiving",
    "arriving": "receiving",
    "accepting": "receiving",
    cbv.EXTENSION_NS + "processing": "transformation",
    cbv.EXTENSION_NS + "drying": "transformation",
}
CTE_NAMES: dict[str, dict[str, str]] = {
    "harvesting": {"vi": "Thu hoạch", "en": "Harvesting"},
    "cooling": {"vi": "Làm lạnh", "en": "Cooling"},
    "initial_packing": {"vi": "Đóng gói ban đầu", "en": "Initial packing"},
    "shipping": {"vi": "Gửi hàng", "en": "Shipping"},
    "receiving": {"vi": "Tiếp nhận", "en": "Receiving"},
    "transformation": {"vi": "Chế biến", "en": "Transformation"},
}
#: (key, English header, Vietnamese header)
KDE_COLUMNS: list[tuple[str, str, str]] = [
    ("cte", "Critical tracking event", "Sự kiện truy xuất trọng yếu"),
    ("lot_code", "Traceability lot code", "Mã lô truy xuất"),
    ("gtin", "GTIN", "GTIN"),
    ("product", "Product description", "Mô tả sản phẩm"),
    ("quantity", "Quantity", "Số lượng"),
    ("unit", "Unit of measure", "Đơn vị tính"),
    ("location", "Location", "Địa điểm"),
    ("location_gln", "Location GLN", "GLN địa điểm"),
    ("date", "Date and time", "Ngày giờ"),
    ("lot_source", "Traceability lot code source", "Nơi cấp mã lô"),
    ("lot_source_location", "Lot code source location", "Địa điểm cấp mã lô"),
    ("document_type", "Reference document type", "Loại chứng từ tham chiếu"),
    ("document_number", "Reference document number", "Số chứng từ tham chiếu"),
    ("previous_source", "Immediate previous source", "Nguồn liền trước"),
    ("next_recipient", "Immediate subsequent recipient", "Người nhận liền sau"),
    ("event_id", "Event ID", "Mã sự kiện"),
    ("corrected", "Corrected by an error declaration", "Đã khai báo sai sót"),
]
LOT_ROLES = ("epc_class", "epc", "output_class", "output", "parent")
OUTPUT_ROLES = frozenset({"output_class", "output"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def headers(lang: str) -> list[str]:
    return [en if lang == "en" else vi for _, en, vi in KDE_COLUMNS]


# The query --------------------------------------------------------------------------------


def _scope(actor: Actor, stmt: Select[Any]) -> Select[Any]:
    """Inspectors and admins export everything; centres their province's batches; producers the
    batches they produce and the events they recorded."""
    if actor.role is Role.CENTRE:
        return stmt.where(
            Batch.producer_id.in_(
                select(Organization.id).where(Organization.province_code == actor.province_code)
            )
        )
    if actor.role is Role.PRODUCER:
        return stmt.where(
            or_(
                Batch.producer_id == actor.organization_id,
                Event.captured_by_organization_id == actor.organization_id,
            )
        )
    return stmt


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), VIETNAM)


def kde_query(actor: Actor, filters: Mapping[str, Any]) -> Select[Any]:
    lots = (
        select(
            EventEpc.event_pk.label("event_pk"),
            EventEpc.batch_id.label("batch_id"),
            func.min(EventEpc.uri).label("uri"),
            func.max(EventEpc.role).label("role"),
        )
        .where(EventEpc.role.in_(LOT_ROLES), EventEpc.batch_id.is_not(None))
        .group_by(EventEpc.event_pk, EventEpc.batch_id)
        .subquery("lots")
    )
    declaration = aliased(Event)
    corrected = (
        exists()
        .where(declaration.declares_error, declaration.event_id == Event.event_id)
        .label("corrected")
    )
    producer = aliased(Organization)
    origin = aliased(Facility)
    stmt = (
        select(
            Event.event_id, Event.event_type, Event.biz_step, Event.event_time,
            Event.event_time_zone_offset, Event.biz_location, Event.read_point, Event.document,
            lots.c.uri, lots.c.role, Batch.id, Batch.lot_code, Batch.unit, Product.name_vi,
            Product.name_en, Product.gtin, producer.name, producer.address, origin.name,
            origin.gln, corrected,
        )
        .join(lots, lots.c.event_pk == Event.id)
        .join(Batch, Batch.id == lots.c.batch_id)
        .join(Product, Product.id == Batch.product_id)
        .join(producer, producer.id == Batch.producer_id)
        .outerjoin(origin, origin.id == Batch.origin_facility_id)
        .where(
            Event.declares_error.is_(False),
            or_(Event.biz_step.in_(list(CTE_BY_STEP)), Event.event_type == "TransformationEvent"),
            # A transformation's lots are its outputs: its inputs are the previous source.
            or_(Event.event_type != "TransformationEvent", lots.c.role.in_(OUTPUT_ROLES)),
        )
    )  # fmt: skip
    if "product" in filters:
        stmt = stmt.where(Batch.product_id == filters["product"])
    if "batch" in filters:
        stmt = stmt.where(Batch.id == filters["batch"])
    if "organization" in filters:
        stmt = stmt.where(Batch.producer_id == filters["organization"])
    if "lot" in filters:
        stmt = stmt.where(Batch.lot_code == filters["lot"])
    if "from" in filters:
        stmt = stmt.where(Event.event_time >= _day_start(filters["from"]))
    if "to" in filters:
        stmt = stmt.where(Event.event_time < _day_start(filters["to"] + dt.timedelta(days=1)))
    return _scope(actor, stmt).order_by(Event.event_time, Event.seq, Batch.id)


# Resolving the names of places, parties and input lots, a chunk at a time -----------------


class _Names:
    """Canonical URI -> display name and GLN, cached; looked up in bulk per chunk."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[str, tuple[str, str | None]] = {}

    def load(self, uris: Iterable[str]) -> None:
        missing = {u for u in uris if u and u not in self.cache}
        if not missing:
            return
        found = resolve(self.session, missing)
        facilities = {r.facility_id for r in found.values() if r.facility_id}
        orgs = {r.organization_id for r in found.values() if r.organization_id}
        batches = {r.batch_id for r in found.values() if r.batch_id}
        facility_rows = {
            f.id: (f.name, f.gln)
            for f in self.session.execute(
                select(Facility.id, Facility.name, Facility.gln).where(Facility.id.in_(facilities))
            )
        }
        org_rows = {
            o.id: (o.name, o.gln)
            for o in self.session.execute(
                select(Organization.id, Organization.name, Organization.gln).where(
                    Organization.id.in_(orgs)
                )
            )
        }
        batch_rows = {
            b.id: (b.lot_code, b.name_vi)
            for b in self.session.execute(
                select(Batch.id, Batch.lot_code, Product.name_vi)
                .join(Product, Product.id == Batch.product_id)
                .where(Batch.id.in_(batches))
            )
        }
        for uri in missing:
            place = found.get(uri)
            if place is None:
                self.cache[uri] = (uri, None)
            elif place.facility_id in facility_rows:
                self.cache[uri] = facility_rows[place.facility_id]
            elif place.organization_id in org_rows:
                self.cache[uri] = org_rows[place.organization_id]
            elif place.batch_id in batch_rows:
                lot, product = batch_rows[place.batch_id]
                self.cache[uri] = (f"{lot} ({product})", None)
            else:
                self.cache[uri] = (uri, None)

    def name(self, uri: str | None) -> tuple[str, str | None]:
        if not uri:
            return ("", None)
        return self.cache.get(uri, (uri, None))

    def label(self, uri: str) -> str:
        name, gln = self.name(uri)
        return f"{name} (GLN {gln})" if gln else name


def _party_uris(document: Mapping[str, Any], key: str, item_key: str) -> list[str]:
    return [
        canonical_uri(p[item_key])
        for p in document.get(key) or ()
        if isinstance(p, dict) and isinstance(p.get(item_key), str)
    ]


def _input_uris(document: Mapping[str, Any]) -> list[str]:
    uris = [
        canonical_uri(i["epcClass"])
        for i in document.get("inputQuantityList") or ()
        if isinstance(i, dict) and isinstance(i.get("epcClass"), str)
    ]
    uris += [canonical_uri(e) for e in document.get("inputEPCList") or () if isinstance(e, str)]
    return list(dict.fromkeys(uris))


def _quantity(document: Mapping[str, Any], event_type: str, uri: str) -> tuple[Any, str | None]:
    key = "outputQuantityList" if event_type == "TransformationEvent" else "quantityList"
    items = [i for i in document.get(key) or () if isinstance(i, dict) and "quantity" in i]
    if len(items) > 1:
        items = [i for i in items if canonical_uri(str(i.get("epcClass", ""))) == uri] or items
    if items:
        return items[0]["quantity"], items[0].get("uom")
    instances = document.get("outputEPCList" if event_type == "TransformationEvent" else "epcList")
    if instances:
        return len(instances), "EA"
    return None, None


def _documents(document: Mapping[str, Any]) -> tuple[str, str]:
    types, numbers = [], []
    for item in document.get("bizTransactionList") or ():
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type") or "")
        value = str(item.get("bizTransaction") or "")
        prefix = f"urn:trace:{kind}:"
        types.append(kind)
        numbers.append(value.removeprefix(prefix))
    return "; ".join(types), "; ".join(numbers)


def _safe(text: str) -> str:
    """Spreadsheets run cells that start like a formula: keep text text."""
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass
class KdeRow:
    values: dict[str, Any]
    moment: dt.datetime


def kde_rows(session: Session, actor: Actor, filters: Mapping[str, Any]) -> Iterator[KdeRow]:
    """The export's rows, streamed from the database a chunk at a time."""
    lang = filters.get("lang", "vi")
    names = _Names(session)
    result = session.execute(kde_query(actor, filters).execution_options(yield_per=CHUNK))
    for chunk in result.partitions(CHUNK):
        uris: set[str] = set()
        for row in chunk:
            doc = row[7]
            uris.update(u for u in (row[5], row[6]) if u)
            uris.update(_party_uris(doc, "sourceList", "source"))
            uris.update(_party_uris(doc, "destinationList", "destination"))
            if row[1] == "TransformationEvent":
                uris.update(_input_uris(doc))
        names.load(uris)
        # A declaration marks its event only when the write rule honours it.
        honoured = custody.honoured_event_ids(session, {row[0] for row in chunk if row[-1]})
        for (event_id, event_type, biz_step, event_time, offset, location, read_point, doc, uri,
             _role, _batch_id, lot_code, batch_unit, name_vi, name_en, gtin, producer_name,
             producer_address, origin_name, origin_gln, corrected) in chunk:  # fmt: skip
            cte = CTE_BY_STEP.get(biz_step or "") or "transformation"
            if event_type == "TransformationEvent":
                cte = "transformation"
            quantity, unit = _quantity(doc, event_type, uri)
            place, place_gln = names.name(location or read_point)
            doc_type, doc_number = _documents(doc)
            previous = next_party = ""
            if cte == "transformation":
                previous = "; ".join(names.label(u) for u in _input_uris(doc))
            elif cte == "receiving":
                previous = "; ".join(
                    names.label(u) for u in _party_uris(doc, "sourceList", "source")
                )
            if cte == "shipping":
                next_party = "; ".join(
                    names.label(u) for u in _party_uris(doc, "destinationList", "destination")
                )
            local = dt.datetime.fromisoformat(history.local_iso(event_time, offset))
            origin = (
                f"{origin_name} (GLN {origin_gln})" if origin_gln else origin_name
            ) or producer_address
            yield KdeRow(
                {
                    "cte": CTE_NAMES[cte][lang],
                    "lot_code": lot_code,
                    "gtin": gtin or "",
                    "product": (name_en or name_vi) if lang == "en" else name_vi,
                    "quantity": quantity,
                    "unit": unit or (batch_unit if quantity is not None else ""),
                    "location": place,
                    "location_gln": place_gln or "",
                    "date": local.isoformat(),
                    "lot_source": producer_name,
                    "lot_source_location": origin,
                    "document_type": doc_type,
                    "document_number": doc_number,
                    "previous_source": previous,
                    "next_recipient": next_party,
                    "event_id": event_id,
                    "corrected": ("có" if lang == "vi" else "yes")
                    if corrected and event_id in honoured
                    else "",
                },
                local,
            )


INCOMPLETE = {
    "vi": "LỖI: tệp xuất bị gián đoạn, thiếu các dòng sau dòng này; hãy xuất lại",
    "en": "ERROR: the export broke off here and misses the rows after this one; export again",
}
"""The last row of a CSV export that failed while it was being sent (its 200 is gone)."""


def kde_csv(session: Session, actor: Actor, filters: Mapping[str, Any]) -> Iterator[str]:
    """CSV text in pieces (UTF-8 BOM first, so spreadsheet programs read Vietnamese right).

    The query runs and its first row is read before this returns, so what fails at once fails
    the request itself (an error answer, not a cut 200). A failure later, once the answer is
    being sent, is logged and ends the file with an :data:`INCOMPLETE` row instead of
    cutting it silently."""
    rows = kde_rows(session, actor, filters)
    first = next(rows, None)
    return _kde_csv_pieces(first, rows, filters.get("lang", "vi"))


def _kde_csv_pieces(first: KdeRow | None, rows: Iterator[KdeRow], lang: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers(lang))
    yield "\ufeff" + _drain(buffer)
    if first is None:
        return
    keys = [key for key, _, _ in KDE_COLUMNS]
    try:
        for count, row in enumerate(itertools.chain([first], rows), 1):
            values = row.values
            writer.writerow(
                [
                    values[k] if k == "quantity" or values[k] is None else _safe(str(values[k]))
                    for k in keys
                ]
            )
            if count % 500 == 0:
                yield _drain(buffer)
    except Exception:
        log.exception("KDE export failed after it started streaming")
        writer.writerow([INCOMPLETE[lang]])
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def kde_xlsx(session: Session, actor: Actor, filters: Mapping[str, Any]) -> IO[bytes]:
    """The spreadsheet in a temporary file (already unlinked), positioned at its start."""
    keys = [key for key, _, _ in KDE_COLUMNS]
    widths = {"cte": 18, "lot_code": 16, "product": 30, "location": 28, "date": 17}
    columns = [
        (title, widths.get(key, 20))
        for key, title in zip(keys, headers(filters.get("lang", "vi")), strict=True)
    ]
    date_col = keys.index("date")
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned open, the response closes it
    try:
        with SheetWriter(spool, "KDE", columns) as sheet:
            for row in kde_rows(session, actor, filters):
                values = [row.values[key] for key in keys]
                values[date_col] = row.moment.replace(tzinfo=None)
                sheet.write_row(values)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


# The national portal: Circular 02/2024/TT-BKHCN Art. 6.5 items per batch --------------------


def portal_batches(
    session: Session,
    actor: Actor,
    filters: Mapping[str, Any],
    limit: int,
    cursor: str | None,
    public_url: str,
) -> tuple[list[dict[str, Any]], str | None]:
    stmt = select(Batch).join(Organization, Organization.id == Batch.producer_id)
    if actor.role is Role.CENTRE:
        stmt = stmt.where(Organization.province_code == actor.province_code)
    elif actor.role is Role.PRODUCER:
        stmt = stmt.where(Batch.producer_id == actor.organization_id)
    if "batch" in filters:
        stmt = stmt.where(Batch.id == filters["batch"])
    if "product" in filters:
        stmt = stmt.where(Batch.product_id == filters["product"])
    if "organization" in filters:
        stmt = stmt.where(Batch.producer_id == filters["organization"])
    if "from" in filters:
        stmt = stmt.where(Batch.production_date >= filters["from"])
    if "to" in filters:
        stmt = stmt.where(Batch.production_date <= filters["to"])
    rows, next_cursor = paginate(session, stmt, Batch.id, limit, cursor)
    return portal_items(session, rows, public_url), next_cursor


def product_image_url(public_url: str, product: Product) -> str | None:
    """Where anyone (the national portal fetches it) gets the product image: an image named by
    URL as it is, a file of the image folder as the public page serves it (JPEG, 640 px)."""
    if not product.image:
        return None
    if "://" in product.image:
        return product.image
    return f"{public_url}/img/product/{product.id}/640.jpg"


def portal_item(session: Session, batch: Batch, public_url: str) -> dict[str, Any]:
    return portal_items(session, [batch], public_url)[0]


def portal_items(
    session: Session, batches: Sequence[Batch], public_url: str
) -> list[dict[str, Any]]:
    """The Art. 6.5 items of many batches, in a few queries whatever their number."""
    ids = [b.id for b in batches]
    # Held while the items are built: the session keeps loaded rows only while referenced.
    loaded = [
        *_preload(session, Product, {b.product_id for b in batches}),
        *_preload(session, Organization, {b.producer_id for b in batches}),
    ]
    histories = history.histories(session, ids)
    codes: dict[int, Code] = {}
    for start in range(0, len(ids), 500):
        for code in session.scalars(
            select(Code)
            .where(
                Code.batch_id.in_(ids[start : start + 500]),
                Code.kind == CodeKind.BATCH,
                Code.status != CodeStatus.VOIDED,
            )
            .order_by(Code.id)
        ):
            codes[code.batch_id] = code  # the newest one wins, as live_batch_code
    named: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):
        for record in certificates.certificates_for(session, batch_ids=ids[start : start + 500]):
            named.setdefault(record.batch_id or 0, []).append(certificates.label(record))
    items = [
        _portal_item(b, histories[b.id], codes.get(b.id), named.get(b.id, []), public_url)
        for b in batches
    ]
    del loaded
    return items


def _preload(
    session: Session, model: type[Product | Organization], ids: set[int]
) -> list[Product | Organization]:
    """Load these rows into the session: while the caller holds them, ``batch.product`` and
    ``batch.producer`` are read from it without a query each."""
    wanted = sorted(ids)
    rows: list[Product | Organization] = []
    for start in range(0, len(wanted), 500):
        rows += session.scalars(select(model).where(model.id.in_(wanted[start : start + 500])))
    return rows


def _portal_item(
    batch: Batch,
    entries: Sequence[history.HistoryEntry],
    code: Code | None,
    certificate_names: list[str],
    public_url: str,
) -> dict[str, Any]:
    product, producer = batch.product, batch.producer
    lot_class = batch_uri(public_url, batch)
    stages: list[dict[str, Any]] = []
    for entry in entries:
        event = entry.event
        facility = entry.facility
        stages.append(
            {
                "stage": entry.stage,
                "biz_step": event.biz_step,
                "product_trace_code": lot_class,
                "location_trace_code": (
                    facility.gln or facility_uri(public_url, facility)
                    if facility
                    else event.biz_location or event.read_point
                ),
                "location_name": facility.name if facility else None,
                "event_time": event.document.get("eventTime"),
                "event_id": event.event_id,
                "corrected": entry.corrected,
            }
        )
    return {
        "batch_id": batch.id,
        "lot_code": batch.lot_code,
        "status": batch.status.value,
        "product_name": product.name_vi,
        "product_name_en": product.name_en,
        "product_image": product_image_url(public_url, product),
        "producer": {
            "name": producer.name,
            "address": producer.address,
            "province_code": producer.province_code,
            "tax_code": producer.tax_code,
            "gln": producer.gln,
        },
        "stages": stages,
        "production_time": batch.production_date.isoformat(),
        "trace_code": code.code if code else None,
        "trace_url": code_uri(public_url, batch, code.code, CodeKind.BATCH) if code else lot_class,
        "brand": product.geographical_indication,
        "gtin": product.gtin,
        "serial": None,
        "expiry": batch.expiry_date.isoformat() if batch.expiry_date else None,
        "standards": list(dict.fromkeys([*product.standards, *certificate_names])),
        "ocop_stars": product.ocop_stars,
    }
