"""The inspector's one search box: whatever was typed, pasted or scanned, what it names.

One text is read every way it can be read, each way one indexed query:
- a whole scanned URI: a short code URL ``…/q/<code>`` or a GS1 Digital Link
  ``…/01/<gtin>[/10/<lot>][/21/<serial>]`` (with or without the host);
- a trace code (Crockford base32 with its check character, any case, dashes or not);
- a GTIN (8, 12, 13 or 14 digits with a right check digit) and a GLN (13 digits);
- a lot code (exactly, without regard to case or accents: ``batch.search_text`` is indexed);
- words of an organisation's or a product's name, without diacritics.

Hits are kept to what the actor may read: batches by the read rule
(:func:`trace.services.events.visibility.batch_readable`), organisations and products by a
centre's province. Producers do not use this desk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, or_, select, true
from sqlalchemy.orm import Session

from trace.gs1.digital_link import DigitalLinkError, parse_digital_link
from trace.gs1.keys import GS1KeyError, has_valid_check_digit, normalize_gtin
from trace.labels.codes import CodeError, is_valid_code, normalize_code
from trace.models import Batch, Code, Facility, Organization, Product, Role
from trace.services.actors import Actor
from trace.services.events.visibility import batch_readable, reads_everything
from trace.services.registry.text import fold

LIMIT = 20  # hits of one kind
MAX_QUERY = 300
_DIGITS = re.compile(r"^\d{8}$|^\d{12,14}$")
_SHORT_PATH = re.compile(r"(?:^|/)q/([0-9A-Za-z-]{4,40})/?$")
KINDS = ("batch", "organization", "product")


@dataclass(frozen=True)
class Hit:
    kind: str  # batch, organization, product
    id: int
    title: str
    detail: str
    province_code: str
    #: how it matched: code, uri, lot, gtin, gln, name
    via: str


@dataclass
class Found:
    query: str
    hits: list[Hit]
    #: what the text was read as, for the page to say (e.g. "a Digital Link")
    read_as: list[str]

    def by_kind(self) -> dict[str, list[Hit]]:
        grouped: dict[str, list[Hit]] = {kind: [] for kind in KINDS}
        for hit in self.hits:
            grouped[hit.kind].append(hit)
        return {kind: hits for kind, hits in grouped.items() if hits}

    @property
    def single(self) -> Hit | None:
        return self.hits[0] if len(self.hits) == 1 else None


def may_use(actor: Actor) -> None:
    actor.require(
        actor.role in {Role.ADMIN, Role.INSPECTOR, Role.CENTRE}, "use the inspector's desk"
    )


def find(session: Session, actor: Actor, text: str) -> Found:
    may_use(actor)
    query = " ".join(text.split())[:MAX_QUERY]
    found = Found(query, [], [])
    if not query:
        return found
    seen: set[tuple[str, int]] = set()

    def add(hits: list[Hit]) -> None:
        for hit in hits:
            if (hit.kind, hit.id) not in seen:
                seen.add((hit.kind, hit.id))
                found.hits.append(hit)

    if "/" in query:
        found.read_as.append("uri")
        add(_by_uri(session, actor, query))
        if found.hits or "://" in query:
            return found  # else a lot code may hold a slash: read on
    compact = query.replace(" ", "")
    code = _code(compact)
    if code is not None:
        found.read_as.append("code")
        add(_batches(session, actor, _batch_of_code(code), "code"))
    if _DIGITS.match(compact) and has_valid_check_digit(compact):
        found.read_as.append("gtin")
        add(_products(session, actor, _gtin_is(compact), "gtin"))
        if len(compact) == 13:
            found.read_as.append("gln")
            add(_organizations(session, actor, _gln_owner(compact), "gln"))
    if found.hits:
        return found  # a code, a GTIN or a GLN names its thing: no need to read it as words
    folded = fold(query)
    add(_batches(session, actor, select(Batch.id).where(Batch.search_text == folded), "lot"))
    words = folded.split()
    if words:
        add(_organizations(session, actor, _named(Organization.search_text, words), "name"))
        add(_products(session, actor, _named(Product.search_text, words), "name"))
    return found


def _code(text: str) -> str | None:
    try:
        code = normalize_code(text)
    except CodeError:
        return None
    return code if is_valid_code(code) else None


def _batch_of_code(code: str) -> Select[Any]:
    return select(Code.batch_id).where(Code.code == code)


def _named(column: Any, words: list[str]) -> Any:
    return and_(*(column.contains(word, autoescape=True) for word in words))


def _gtin_is(gtin: str) -> Any:
    """Stored as GTIN-14 through the API; a shorter spelling is matched too."""
    return Product.gtin.in_({normalize_gtin(gtin), gtin, gtin.lstrip("0")})


def _gln_owner(gln: str) -> Any:
    at_facility = select(Facility.organization_id).where(Facility.gln == gln)
    return or_(Organization.gln == gln, Organization.id.in_(at_facility))


def _by_uri(session: Session, actor: Actor, text: str) -> list[Hit]:
    uri = text if "://" in text else "https://scan.invalid/" + text.lstrip("/")
    short = _SHORT_PATH.search(uri.split("?", 1)[0].split("#", 1)[0])
    if short:
        code = _code(short.group(1))
        return [] if code is None else _batches(session, actor, _batch_of_code(code), "uri")
    try:
        link = parse_digital_link(uri, permit_zero_suppressed_gtin=True)
    except (DigitalLinkError, GS1KeyError, ValueError):
        return []
    if link.primary_ai != "01":
        if link.primary_ai == "414":
            return _organizations(session, actor, _gln_owner(link.primary_value), "uri")
        return []
    gtin = link.primary_value
    qualifiers = dict(link.qualifiers)
    if "21" in qualifiers:
        code = _code(qualifiers["21"])
        if code is None:
            return []
        stmt = (
            select(Code.batch_id)
            .join(Batch, Batch.id == Code.batch_id)
            .join(Product, Product.id == Batch.product_id)
            .where(Code.code == code, _gtin_is(gtin))
        )
        if "10" in qualifiers:
            stmt = stmt.where(Batch.lot_code == qualifiers["10"])
        return _batches(session, actor, stmt, "uri")
    if "10" in qualifiers:
        stmt = (
            select(Batch.id)
            .join(Product, Product.id == Batch.product_id)
            .where(_gtin_is(gtin), Batch.lot_code == qualifiers["10"])
        )
        return _batches(session, actor, stmt, "uri")
    return _products(session, actor, _gtin_is(gtin), "uri")


def batches(session: Session, actor: Actor, ids: list[int]) -> list[Hit]:
    """The batches of ``ids`` the actor may read (a recall form names them)."""
    may_use(actor)
    return _batches(session, actor, select(Batch.id).where(Batch.id.in_(ids)), "id")


def _batches(session: Session, actor: Actor, ids: Select[Any], via: str) -> list[Hit]:
    """The batches of ``ids`` the actor may read. A centre reads its province's own batches at
    once; the read rule's full condition (receipts, one genealogy step) is built and asked only
    for the few candidates from elsewhere (building it costs more than the search itself)."""
    rows = session.execute(
        select(
            Batch.id, Batch.lot_code, Batch.production_date, Product.name_vi,
            Organization.name, Organization.province_code, Batch.producer_id,
        )
        .join(Product, Product.id == Batch.product_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .where(Batch.id.in_(ids.scalar_subquery()))
        .order_by(*_plainly_readable_first(actor), Batch.id.desc())
        .limit(LIMIT)
    ).all()  # fmt: skip
    readable = {row[0] for row in rows if _plainly_readable(actor, row[5], row[6])}
    others = [row[0] for row in rows if row[0] not in readable]
    if others:
        readable.update(
            session.scalars(
                select(Batch.id).where(Batch.id.in_(others), batch_readable(actor, Batch.id))
            )
        )
    return [
        Hit("batch", bid, f"{product} · {lot}", f"{producer} · {produced.isoformat()}", prov, via)
        for bid, lot, produced, product, producer, prov, _owner in rows
        if bid in readable
    ]


def _plainly_readable(actor: Actor, province_code: str, producer_id: int) -> bool:
    """What the read rule grants without a query: everything (inspector, admin), the batches
    produced in a centre's province, a producer's own."""
    if reads_everything(actor):
        return True
    if actor.role is Role.CENTRE:
        return province_code == actor.province_code
    return actor.organization_id is not None and producer_id == actor.organization_id


def _plainly_readable_first(actor: Actor) -> list[Any]:
    """An order that puts what :func:`_plainly_readable` grants before the rest, so that the
    limit never keeps twenty batches of elsewhere and drops the actor's own."""
    if reads_everything(actor):
        return []
    if actor.role is Role.CENTRE:
        return [case((Organization.province_code == (actor.province_code or "--"), 0), else_=1)]
    return [case((Batch.producer_id == (actor.organization_id or -1), 0), else_=1)]


def _in_province(actor: Actor, column: Any) -> Any:
    if actor.role is Role.CENTRE:
        return column == (actor.province_code or "--")
    return true()


def _organizations(session: Session, actor: Actor, condition: Any, via: str) -> list[Hit]:
    rows = session.execute(
        select(Organization.id, Organization.name, Organization.address, Organization.province_code)
        .where(condition, _in_province(actor, Organization.province_code))
        .order_by(Organization.name, Organization.id)
        .limit(LIMIT)
    )
    return [Hit("organization", oid, name, address, prov, via) for oid, name, address, prov in rows]


def _products(session: Session, actor: Actor, condition: Any, via: str) -> list[Hit]:
    rows = session.execute(
        select(
            Product.id, Product.name_vi, Product.gtin, Organization.name,
            Organization.province_code,
        )
        .join(Organization, Organization.id == Product.organization_id)
        .where(condition, _in_province(actor, Organization.province_code))
        .order_by(Product.name_vi, Product.id)
        .limit(LIMIT)
    )  # fmt: skip
    return [
        Hit("product", pid, name, " · ".join(p for p in (gtin, org) if p), prov, via)
        for pid, name, gtin, org, prov in rows
    ]
