"""What one outbox record carries to the national portal (``schemas/portal-record.json``).

One function, :func:`record_body`, builds every body. A batch's digital product passport
(Decree 37/2026; ``schemas/passport.schema.json``) goes in as ``"passport"``; the Circular 02/2024
Art. 6.5 items of a batch are the ``portal.json`` export's (:func:`exports.portal_item`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.models import Batch, Organization, PortalKind, Product
from trace.services.inspection.exports import portal_items, product_image_url
from trace.services.passport.content import passport

CONTRACT_VERSION = "1"
M = TypeVar("M", Organization, Product, Batch)


def idempotency_key(kind: PortalKind | str, entity_id: int, version: int) -> str:
    """One key per record version: the same version is always sent under the same key."""
    return f"trace-{kind}-{entity_id}-v{version}"


@dataclass(frozen=True)
class Wanted:
    kind: PortalKind
    entity_id: int
    version: int


def record_bodies(
    session: Session, wanted: Sequence[Wanted], public_url: str
) -> list[dict[str, Any] | None]:
    """The bodies of many record versions (None for an entity that is gone), loading their
    entities and the batches' Art. 6.5 items in a few queries whatever their number."""
    ids: dict[PortalKind, set[int]] = {kind: set() for kind in PortalKind}
    for item in wanted:
        ids[item.kind].add(item.entity_id)
    batches = _load(session, Batch, ids[PortalKind.BATCH])
    products = _load(session, Product, ids[PortalKind.PRODUCT])
    products |= _load(session, Product, {b.product_id for b in batches.values()})
    organizations = _load(
        session,
        Organization,
        ids[PortalKind.ORGANIZATION]
        | {p.organization_id for p in products.values()}
        | {b.producer_id for b in batches.values()},
    )
    items = dict(
        zip(batches, portal_items(session, list(batches.values()), public_url), strict=True)
    )
    entities: dict[PortalKind, Mapping[int, Any]] = {
        PortalKind.ORGANIZATION: organizations,
        PortalKind.PRODUCT: products,
        PortalKind.BATCH: batches,
    }
    bodies: list[dict[str, Any] | None] = []
    for item in wanted:
        entity = entities[item.kind].get(item.entity_id)
        bodies.append(
            None
            if entity is None
            else record_body(session, item, entity, public_url, items.get(item.entity_id))
        )
    return bodies


def record_body(
    session: Session,
    record: Wanted,
    entity: Organization | Product | Batch,
    public_url: str,
    batch_item: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of one record version, as the contract ``schemas/portal-record.json`` says."""
    kind = record.kind
    body: dict[str, Any] = {
        "contract_version": CONTRACT_VERSION,
        "record_type": str(kind),
        "record_id": f"{kind}:{record.entity_id}",
        "version": record.version,
        "idempotency_key": idempotency_key(kind, record.entity_id, record.version),
    }
    if isinstance(entity, Organization):
        body["organization"] = _organization(entity)
    elif isinstance(entity, Product):
        body["organization"] = _organization_key(entity.organization)
        body["product"] = _product(entity, public_url)
    else:
        body["organization"] = _organization_key(entity.producer)
        body["product"] = _product(entity.product, public_url)
        body["batch"] = batch_item or portal_items(session, [entity], public_url)[0]
        body["passport"] = passport(session, entity, public_url)
    return body


def _load(session: Session, model: type[M], ids: set[int]) -> dict[int, M]:
    wanted = sorted(ids)
    found: dict[int, M] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update((e.id, e) for e in session.scalars(select(model).where(model.id.in_(chunk))))
    return found


def _organization_key(org: Organization) -> dict[str, Any]:
    """How the portal knows an organisation: its tax code, or its GLN."""
    return {"tax_code": org.tax_code, "gln": org.gln, "name": org.name}


def _organization(org: Organization) -> dict[str, Any]:
    return {
        **_organization_key(org),
        "kind": str(org.kind),
        "address": org.address,
        "province_code": org.province_code,
        "archived": org.archived_at is not None,
    }


def _product(product: Product, public_url: str) -> dict[str, Any]:
    image = product_image_url(public_url, product)
    return {
        "id": product.id,
        "gtin": product.gtin,
        "name_vi": product.name_vi,
        "name_en": product.name_en,
        "category": str(product.category),
        "unit": product.unit,
        "shelf_life_days": product.shelf_life_days,
        "ocop_stars": product.ocop_stars,
        "geographical_indication": product.geographical_indication,
        "standards": list(product.standards),
        "image_urls": [image] if image else [],
        "archived": product.archived_at is not None,
    }
