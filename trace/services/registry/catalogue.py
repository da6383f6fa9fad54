"""Registry services: organisations, facilities, products and batches.

Every function takes the acting :class:`Actor`, checks what its role may do, writes through the
session without committing (the caller's boundary commits) and leaves an audit entry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from trace.db import chunked, one_of
from trace.models import (
    Batch,
    BatchStatus,
    Code,
    CodeKind,
    CodeStatus,
    Facility,
    Organization,
    PortalKind,
    Product,
)
from trace.models.base import utcnow
from trace.services import audit, outbox
from trace.services.actors import Actor
from trace.services.errors import Conflict, FieldError, InvalidInput, get_or_404, invalid
from trace.services.labels.issuance import code_uri, issue_batch_code
from trace.services.pagination import paginate, where_equal
from trace.services.registry.certificates import add_from_text
from trace.services.registry.text import fold, search_text

M = TypeVar("M", Organization, Facility, Product, Batch)
A = TypeVar("A", Organization, Facility, Product)  # what can be archived

ENTITY_NAMES = {
    Organization: "organization",
    Facility: "facility",
    Product: "product",
    Batch: "batch",
}


def get(session: Session, model: type[M], entity_id: int) -> M:
    return get_or_404(session, model, entity_id)


def _referenced(session: Session, model: type[M], entity_id: int, pointer: str) -> M:
    """An entity named in a request body: missing or archived is bad input (422), not a 404."""
    entity = session.get(model, entity_id)
    name = ENTITY_NAMES[model]
    if entity is None:
        raise invalid(pointer, f"{name} {entity_id} does not exist")
    if getattr(entity, "archived_at", None) is not None:
        raise invalid(pointer, f"{name} {entity_id} is archived")
    return entity


def _unique_or_conflict(
    session: Session, model: type[M], checks: Mapping[str, Any], exclude_id: int | None = None
) -> None:
    """Raise 409 naming the existing row when a unique field is already taken. Within
    :func:`deferred_creations`, rows waiting to be inserted count too, and the query does not
    flush them (one batched INSERT later, not one per row)."""
    claimed: set[tuple[Any, ...]] | None = session.info.get(_CLAIMED)
    name = ENTITY_NAMES[model]
    for column, value in checks.items():
        if value is None:
            continue
        if claimed is not None and (model, column, value) in claimed:
            raise Conflict(
                f"A {name} with this {column} is already being created.",
                errors=[FieldError(f"/{column}", f"already used by another new {name}")],
            )
        loaded = session.info.get(_TAKEN, {}).get((model, column))
        if loaded is not None and value in loaded[0] and exclude_id is None:
            existing = loaded[1].get(value)
        else:
            stmt = select(model.id).where(getattr(model, column) == value)
            if exclude_id is not None:
                stmt = stmt.where(model.id != exclude_id)
            with session.no_autoflush:
                existing = session.scalar(stmt)
        if existing is not None:
            raise Conflict(
                f"A {name} with this {column} already exists (id {existing}).",
                errors=[FieldError(f"/{column}", f"already used by {name} {existing}")],
                existing_id=existing,
            )


_DEFERRED = "trace.registry.deferred"
"""``session.info[_DEFERRED]``: creations waiting for :func:`flush_deferred`."""
_CLAIMED = "trace.registry.claimed"
"""``session.info[_CLAIMED]``: (model, column, value) of the unique values those creations take."""
_TAKEN = "trace.registry.taken"
"""``session.info[_TAKEN]``: (model, column) -> (values looked up, value -> id of the row with it),
loaded at once by :func:`load_unique` for creations deferred within :func:`deferred_creations`."""
_UNIQUE: dict[type[Any], tuple[str, ...]] = {
    Organization: ("tax_code", "gln"),
    Facility: ("gln",),
    Product: ("gtin",),
}


@contextlib.contextmanager
def deferred_creations(session: Session) -> Iterator[None]:
    """Within: new organisations, facilities and products are inserted, audited and announced
    to the portal outbox together, at :func:`flush_deferred` (and on leaving), not one statement
    each: an import of thousands of rows. Their ids are known only then; batches, whose codes
    need theirs at once, are created as usual."""
    session.info[_DEFERRED], session.info[_CLAIMED], session.info[_TAKEN] = [], set(), {}
    try:
        yield
        flush_deferred(session)
    finally:
        for key in (_DEFERRED, _CLAIMED, _TAKEN):
            session.info.pop(key, None)


def unique_columns(model: type[Any]) -> tuple[str, ...]:
    """The unique columns a creation of ``model`` checks (see :func:`load_unique`)."""
    return _UNIQUE.get(model, ())


def load_unique(session: Session, model: type[M], column: str, values: Iterable[Any]) -> None:
    """Within :func:`deferred_creations`: look up at once which of ``values`` (of a unique
    ``column``) stored rows hold, so that creating rows with them checks uniqueness without a
    query each (an import names its rows' GTINs, tax codes and GLNs in advance). Rows created
    meanwhile count through the values claimed; values not loaded are queried as usual."""
    taken = session.info.get(_TAKEN)
    if taken is None:
        return
    asked, holders = taken.setdefault((model, column), (set(), {}))
    wanted = {v for v in values if v is not None} - asked
    attribute = getattr(model, column)
    with session.no_autoflush:
        for chunk in chunked(session, sorted(wanted)):
            holders.update(session.execute(
                select(attribute, model.id).where(one_of(session, attribute, chunk))
            ).all())  # fmt: skip
    asked |= wanted


def flush_deferred(session: Session) -> None:
    """Write the creations deferred so far: one batched INSERT per table (the flush), then
    their audit entries and outbox records in one statement each."""
    pending: list[tuple[Actor, Any]] = session.info.get(_DEFERRED) or []
    if not pending:
        return
    session.flush()
    audit.record_many(session, [
        (actor, "create", ENTITY_NAMES[type(entity)], entity.id, None, audit.snapshot(entity))
        for actor, entity in pending
    ])  # fmt: skip
    announced: dict[PortalKind, dict[int, int]] = defaultdict(dict)
    for _, entity in pending:
        if isinstance(entity, Organization | Product):
            kind, owner = outbox.kind_and_owner(entity)
            announced[kind][entity.id] = owner
    for kind, owners in announced.items():
        outbox.mark_changed(session, kind, owners)
    pending.clear()


def _create(session: Session, actor: Actor, entity: M) -> M:
    session.add(entity)
    deferred = session.info.get(_DEFERRED)
    if deferred is not None and not isinstance(entity, Batch):
        deferred.append((actor, entity))
        claimed = session.info[_CLAIMED]
        for column in _UNIQUE[type(entity)]:
            if getattr(entity, column) is not None:
                claimed.add((type(entity), column, getattr(entity, column)))
        return entity
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        ENTITY_NAMES[type(entity)],
        entity.id,
        after=audit.snapshot(entity),
    )
    outbox.mark_entity(session, entity)
    return entity


def _update(
    session: Session, actor: Actor, entity: M, changes: Mapping[str, Any], action: str
) -> M:
    before = audit.snapshot(entity)
    claimed = session.info.get(_CLAIMED)
    for key, value in changes.items():
        setattr(entity, key, value)
        if claimed is not None and value is not None and key in _UNIQUE.get(type(entity), ()):
            claimed.add((type(entity), key, value))
    _refresh_search_text(entity)
    session.flush()
    after = audit.snapshot(entity)
    if after != before:
        audit.record(
            session,
            actor,
            action,
            ENTITY_NAMES[type(entity)],
            entity.id,
            before=before,
            after=after,
        )
        outbox.mark_entity(session, entity)
    return entity


def _refresh_search_text(entity: Any) -> None:
    if isinstance(entity, Organization):
        entity.search_text = search_text(entity.name, entity.tax_code, entity.address)
    elif isinstance(entity, Facility):
        entity.search_text = search_text(entity.name, entity.address)
    elif isinstance(entity, Product):
        entity.search_text = search_text(
            entity.name_vi, entity.name_en, entity.geographical_indication, entity.gtin
        )
    elif isinstance(entity, Batch):
        entity.search_text = search_text(entity.lot_code)


def _archive(session: Session, actor: Actor, entity: A) -> A:
    if entity.archived_at is not None:
        return entity
    return _update(session, actor, entity, {"archived_at": dt.datetime.now(dt.UTC)}, "archive")


def _unarchive(session: Session, actor: Actor, entity: A) -> A:
    if entity.archived_at is None:
        return entity
    return _update(session, actor, entity, {"archived_at": None}, "unarchive")


# Organisations ------------------------------------------------------------------------------


def create_organization(session: Session, actor: Actor, data: Mapping[str, Any]) -> Organization:
    actor.require(
        actor.may_manage_province(data["province_code"]),
        f"register organisations in province {data['province_code']}",
    )
    _unique_or_conflict(
        session, Organization, {"tax_code": data["tax_code"], "gln": data.get("gln")}
    )
    org = Organization(**data)
    _refresh_search_text(org)
    return _create(session, actor, org)


def update_organization(
    session: Session, actor: Actor, org_id: int, changes: Mapping[str, Any]
) -> Organization:
    org = get(session, Organization, org_id)
    actor.require(actor.may_manage_province(org.province_code), "change this organisation")
    if "province_code" in changes:
        actor.require(
            actor.may_manage_province(changes["province_code"]),
            f"move an organisation to province {changes['province_code']}",
        )
    _unique_or_conflict(
        session,
        Organization,
        {k: changes[k] for k in ("tax_code", "gln") if k in changes},
        exclude_id=org.id,
    )
    return _update(session, actor, org, changes, "update")


def archive_organization(session: Session, actor: Actor, org_id: int) -> Organization:
    org = get(session, Organization, org_id)
    actor.require(actor.may_manage_province(org.province_code), "archive this organisation")
    return _archive(session, actor, org)


def unarchive_organization(session: Session, actor: Actor, org_id: int) -> Organization:
    org = get(session, Organization, org_id)
    actor.require(actor.may_manage_province(org.province_code), "unarchive this organisation")
    return _unarchive(session, actor, org)


def list_organizations(
    session: Session, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Organization], str | None]:
    stmt = where_equal(
        select(Organization),
        filters,
        {"province": Organization.province_code, "kind": Organization.kind},
    )
    stmt = _common_filters(stmt, Organization, filters)
    return paginate(session, stmt, Organization.id, limit, cursor)


def _common_filters(stmt: Select[Any], model: Any, filters: Mapping[str, Any]) -> Select[Any]:
    if filters.get("q"):
        for word in fold(filters["q"]).split():
            stmt = stmt.where(model.search_text.contains(word, autoescape=True))
    if hasattr(model, "archived_at") and not filters.get("include_archived"):
        stmt = stmt.where(model.archived_at.is_(None))
    return stmt


# Facilities ---------------------------------------------------------------------------------


def create_facility(session: Session, actor: Actor, data: Mapping[str, Any]) -> Facility:
    org = _referenced(session, Organization, data["organization_id"], "/organization_id")
    actor.require(
        actor.may_manage_organization(org.id, org.province_code),
        "register facilities for this organisation",
    )
    _unique_or_conflict(session, Facility, {"gln": data.get("gln")})
    facility = Facility(**data)
    _refresh_search_text(facility)
    return _create(session, actor, facility)


def update_facility(
    session: Session, actor: Actor, facility_id: int, changes: Mapping[str, Any]
) -> Facility:
    facility = get(session, Facility, facility_id)
    org = facility.organization
    actor.require(actor.may_manage_organization(org.id, org.province_code), "change this facility")
    if "gln" in changes:
        _unique_or_conflict(session, Facility, {"gln": changes["gln"]}, exclude_id=facility.id)
    return _update(session, actor, facility, changes, "update")


def archive_facility(session: Session, actor: Actor, facility_id: int) -> Facility:
    facility = get(session, Facility, facility_id)
    org = facility.organization
    actor.require(actor.may_manage_organization(org.id, org.province_code), "archive this facility")
    return _archive(session, actor, facility)


def unarchive_facility(session: Session, actor: Actor, facility_id: int) -> Facility:
    facility = get(session, Facility, facility_id)
    org = facility.organization
    actor.require(
        actor.may_manage_organization(org.id, org.province_code), "unarchive this facility"
    )
    return _unarchive(session, actor, facility)


def list_facilities(
    session: Session, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Facility], str | None]:
    stmt = where_equal(
        select(Facility),
        filters,
        {
            "organization": Facility.organization_id,
            "province": Facility.province_code,
            "kind": Facility.kind,
        },
    )
    stmt = _common_filters(stmt, Facility, filters)
    return paginate(session, stmt, Facility.id, limit, cursor)


# Products -----------------------------------------------------------------------------------


def create_product(session: Session, actor: Actor, data: Mapping[str, Any]) -> Product:
    owner = _referenced(session, Organization, data["organization_id"], "/organization_id")
    actor.require(
        actor.may_manage_province(owner.province_code),
        f"register products in province {owner.province_code}",
    )
    _unique_or_conflict(session, Product, {"gtin": data.get("gtin")})
    product = Product(**data)
    if product.origin_province_code is None:
        product.origin_province_code = owner.province_code
    _refresh_search_text(product)
    return _create(session, actor, product)


def update_product(
    session: Session, actor: Actor, product_id: int, changes: Mapping[str, Any]
) -> Product:
    product = get(session, Product, product_id)
    actor.require(
        actor.may_manage_province(product.organization.province_code), "change this product"
    )
    if "gtin" in changes:
        _unique_or_conflict(session, Product, {"gtin": changes["gtin"]}, exclude_id=product.id)
    return _update(session, actor, product, changes, "update")


def archive_product(session: Session, actor: Actor, product_id: int) -> Product:
    product = get(session, Product, product_id)
    actor.require(
        actor.may_manage_province(product.organization.province_code), "archive this product"
    )
    return _archive(session, actor, product)


def unarchive_product(session: Session, actor: Actor, product_id: int) -> Product:
    product = get(session, Product, product_id)
    actor.require(
        actor.may_manage_province(product.organization.province_code), "unarchive this product"
    )
    return _unarchive(session, actor, product)


def list_products(
    session: Session, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Product], str | None]:
    stmt = where_equal(
        select(Product),
        filters,
        {
            "organization": Product.organization_id,
            "category": Product.category,
            "gtin": Product.gtin,
        },
    )
    if "province" in filters:
        stmt = stmt.join(Organization, Product.organization_id == Organization.id).where(
            Organization.province_code == filters["province"]
        )
    stmt = _common_filters(stmt, Product, filters)
    return paginate(session, stmt, Product.id, limit, cursor)


# Batches ------------------------------------------------------------------------------------


def create_batch(session: Session, actor: Actor, data: Mapping[str, Any]) -> Batch:
    data = dict(data)
    certifications = data.pop("certifications", [])
    product = _referenced(session, Product, data["product_id"], "/product_id")
    producer_id = data.setdefault("producer_id", actor.organization_id or product.organization_id)
    producer = _referenced(session, Organization, producer_id, "/producer_id")
    actor.require(
        actor.may_manage_organization(producer.id, producer.province_code),
        "register batches for this producer",
    )
    if not actor.may_manage_province(producer.province_code) and (
        product.organization_id != producer.id
    ):
        raise invalid("/product_id", "a producer registers batches of its own products only")
    data.setdefault("unit", product.unit)
    if data.get("expiry_date") is None and product.shelf_life_days:
        data["expiry_date"] = data["production_date"] + dt.timedelta(days=product.shelf_life_days)
    _check_batch_consistency(session, producer, data)
    existing = session.scalar(
        select(Batch.id).where(Batch.product_id == product.id, Batch.lot_code == data["lot_code"])
    )
    if existing is not None:
        raise Conflict(
            f"Product {product.id} already has a batch with lot code {data['lot_code']!r} "
            f"(batch {existing}).",
            errors=[FieldError("/lot_code", f"already used by batch {existing} of this product")],
            existing_id=existing,
        )
    batch = Batch(**data)
    _refresh_search_text(batch)
    _create(session, actor, batch)
    add_from_text(session, actor, batch, certifications)
    issue_batch_code(session, batch, actor)
    return batch


def _check_batch_consistency(
    session: Session, producer: Organization, data: Mapping[str, Any]
) -> None:
    errors: list[FieldError] = []
    expiry, produced = data.get("expiry_date"), data.get("production_date")
    if expiry is not None and produced is not None and expiry < produced:
        errors.append(FieldError("/expiry_date", "expiry date is before the production date"))
    facility_id = data.get("origin_facility_id")
    if facility_id is not None:
        facility = session.get(Facility, facility_id)
        if facility is None:
            errors.append(
                FieldError("/origin_facility_id", f"facility {facility_id} does not exist")
            )
        elif facility.organization_id != producer.id:
            errors.append(
                FieldError(
                    "/origin_facility_id",
                    f"facility {facility_id} does not belong to producer {producer.id}",
                )
            )
    if errors:
        raise InvalidInput("The batch is not consistent.", errors=errors)


def update_batch(
    session: Session, actor: Actor, batch_id: int, changes: Mapping[str, Any]
) -> Batch:
    batch = get(session, Batch, batch_id)
    producer = batch.producer
    actor.require(
        actor.may_manage_organization(producer.id, producer.province_code), "change this batch"
    )
    changes = dict(changes)
    if "certifications" in changes:
        add_from_text(session, actor, batch, changes.pop("certifications"))
        batch.updated_at = utcnow()  # the page shows them: make it fresh
    if changes.get("status") == BatchStatus.RECALLED or (
        batch.status is BatchStatus.RECALLED and "status" in changes
    ):
        raise invalid("/status", "recall status changes only through a recall")
    merged = {
        "production_date": batch.production_date,
        "expiry_date": batch.expiry_date,
        "origin_facility_id": batch.origin_facility_id,
        **changes,
    }
    _check_batch_consistency(session, producer, merged)
    return _update(session, actor, batch, changes, "update")


def list_batches(
    session: Session, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Batch], str | None]:
    stmt = where_equal(
        select(Batch),
        filters,
        {
            "product": Batch.product_id,
            "producer": Batch.producer_id,
            "status": Batch.status,
            "lot": Batch.lot_code,
        },
    )
    if "province" in filters:
        stmt = stmt.join(Organization, Batch.producer_id == Organization.id).where(
            Organization.province_code == filters["province"]
        )
    if filters.get("q"):
        product_ids = select(Product.id)
        for word in fold(filters["q"]).split():
            product_ids = product_ids.where(Product.search_text.contains(word, autoescape=True))
        stmt = stmt.where(
            Batch.product_id.in_(product_ids)
            | Batch.search_text.contains(fold(filters["q"]), autoescape=True)
        )
    return paginate(session, stmt, Batch.id, limit, cursor)


@dataclass(frozen=True)
class BatchResource:
    """A batch as the API shows it: the row, its batch-level code and where consumers see it."""

    batch: Batch
    code: str | None
    links: dict[str, str | None]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.batch, name)


def batch_resources(
    session: Session, batches: Sequence[Batch], public_url: str
) -> list[BatchResource]:
    """The batches with their live batch-level code and public page (``links.public``): what
    their label's QR code carries, built by the labels' own :func:`code_uri` — the Digital Link
    for a GTIN product (it names the lot, so it holds even without a live code), ``/q/<code>``
    otherwise. Two queries, whatever the number of batches."""
    ids = sorted({b.id for b in batches})
    codes: dict[int, str] = {}
    products: dict[int, Product] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(Code.batch_id, Code.code)
            .where(
                Code.batch_id.in_(chunk),
                Code.kind == CodeKind.BATCH,
                Code.status != CodeStatus.VOIDED,
            )
            .order_by(Code.id)
        )
        codes.update((batch_id, code) for batch_id, code in rows)  # the newest one wins
    wanted = sorted({b.product_id for b in batches})
    for start in range(0, len(wanted), 500):
        # Loaded into the session: ``batch.product`` below is then read without a query.
        for product in session.scalars(
            select(Product).where(Product.id.in_(wanted[start : start + 500]))
        ):
            products[product.id] = product
    resources = []
    for batch in batches:
        code = codes.get(batch.id)
        public = (
            code_uri(public_url, batch, code or "", CodeKind.BATCH)
            if code is not None or products[batch.product_id].gtin
            else None
        )
        resources.append(BatchResource(batch, code, {"public": public}))
    return resources
