"""What one outbox record carries to the national portal (``schemas/portal-record.json``).

One function, :func:`record_body`, builds every body. The passport fields (Decree 37/2026) go
in as one more key, ``"passport"``, which the contract already allows; the Circular 02/2024
Art. 6.5 items of a batch are the ``portal.json`` export's (:func:`exports.portal_item`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from trace.models import Batch, Organization, PortalKind, Product
from trace.services.inspection.exports import portal_item, product_image_url

CONTRACT_VERSION = "1"


def idempotency_key(kind: PortalKind | str, entity_id: int, version: int) -> str:
    """One key per record version: the same version is always sent under the same key."""
    return f"trace-{kind}-{entity_id}-v{version}"


def record_body(
    session: Session, kind: PortalKind, entity_id: int, version: int, public_url: str
) -> dict[str, Any]:
    """The body of one record version, as the contract ``schemas/portal-record.json`` says."""
    body: dict[str, Any] = {
        "contract_version": CONTRACT_VERSION,
        "record_type": str(kind),
        "record_id": f"{kind}:{entity_id}",
        "version": version,
        "idempotency_key": idempotency_key(kind, entity_id, version),
    }
    if kind is PortalKind.ORGANIZATION:
        body["organization"] = _organization(_get(session, Organization, entity_id))
    elif kind is PortalKind.PRODUCT:
        product = _get(session, Product, entity_id)
        body["organization"] = _organization_key(product.organization)
        body["product"] = _product(product, public_url)
    else:
        batch = _get(session, Batch, entity_id)
        body["organization"] = _organization_key(batch.producer)
        body["product"] = _product(batch.product, public_url)
        body["batch"] = portal_item(session, batch, public_url)
    return body


def _get(session: Session, model: type[Any], entity_id: int) -> Any:
    entity = session.get(model, entity_id)
    if entity is None:  # registry rows are never deleted; a record always has its entity
        raise LookupError(f"{model.__name__} {entity_id} is gone")
    return entity


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
