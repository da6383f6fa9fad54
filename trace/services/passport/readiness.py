"""Passport completeness per product and batch, and per producer over a province: which
producers are not ready for the national portal yet, and what each of their products lacks."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from trace.models import Batch, Certificate, Organization, OrganizationKind, Product, Role
from trace.services.actors import Actor
from trace.services.errors import get_or_404
from trace.services.pagination import paginate
from trace.services.passport import completeness
from trace.services.passport.content import (
    certificate_entry,
    passport,
    producer_section,
    product_section,
    safety_section,
)
from trace.services.passport.validity import today
from trace.services.registry.certificates import certificates_for

#: listed even without a product yet (then not ready); other kinds only when they own products
MAKERS = (OrganizationKind.PRODUCER, OrganizationKind.COOPERATIVE, OrganizationKind.PROCESSOR)


def _product_result(product: Product, document: dict[str, Any]) -> dict[str, Any]:
    missing = completeness.missing_for_product(document)
    return {
        "product_id": product.id,
        "name_vi": product.name_vi,
        "gtin": product.gtin,
        "complete": not missing,
        "missing": missing,
    }


def _product_document(
    product: Product, certificates: list[dict[str, Any]], public_url: str
) -> dict[str, Any]:
    return {
        "product": product_section(product, public_url),
        "producer": producer_section(product.organization),
        "certificates": certificates,
        "safety_warnings": safety_section(product),
    }


def _holder(certificate: Certificate) -> str:
    return "product" if certificate.product_id is not None else "organization"


def product_check(
    session: Session, product_id: int, public_url: str, on: dt.date | None = None
) -> dict[str, Any]:
    """What the passports of this product's batches lack whatever the batch."""
    product = get_or_404(session, Product, product_id)
    on = on or today()
    records = certificates_for(
        session, organization_ids=[product.organization_id], product_ids=[product.id]
    )
    entries = [certificate_entry(c, _holder(c), on) for c in records]
    return _product_result(product, _product_document(product, entries, public_url))


def batch_check(
    session: Session, batch_id: int, public_url: str, on: dt.date | None = None
) -> dict[str, Any]:
    batch = get_or_404(session, Batch, batch_id)
    document = passport(session, batch, public_url, on=on)
    return {
        "batch_id": batch.id,
        "product_id": batch.product_id,
        "lot": batch.lot_code,
        **document["completeness"],
    }


def readiness(
    session: Session,
    actor: Actor,
    filters: Mapping[str, Any],
    limit: int,
    cursor: str | None,
    public_url: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of producers (by id) with their products' gaps. A centre sees its province, a
    producer itself, inspectors and admins any province."""
    province = filters.get("province")
    owns_products = exists().where(
        Product.organization_id == Organization.id, Product.archived_at.is_(None)
    )
    stmt = select(Organization).where(
        or_(Organization.kind.in_(MAKERS), owns_products), Organization.archived_at.is_(None)
    )
    if actor.role is Role.CENTRE:
        actor.require(
            province in (None, actor.province_code), f"read readiness in province {province}"
        )
        province = actor.province_code
    elif actor.role is Role.PRODUCER:
        stmt = stmt.where(Organization.id == actor.organization_id)
    if province is not None:
        stmt = stmt.where(Organization.province_code == province)
    if filters.get("organization") is not None:
        stmt = stmt.where(Organization.id == filters["organization"])
    organizations, next_cursor = paginate(session, stmt, Organization.id, limit, cursor)
    org_ids = [org.id for org in organizations]
    products = (
        session.scalars(
            select(Product)
            .where(Product.organization_id.in_(org_ids), Product.archived_at.is_(None))
            .order_by(Product.id)
        ).all()
        if org_ids
        else []
    )
    on = today()
    by_org: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_product: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if org_ids:
        for record in certificates_for(
            session, organization_ids=org_ids, product_ids=[p.id for p in products]
        ):
            entry = certificate_entry(record, _holder(record), on)
            if record.product_id is not None:
                by_product[record.product_id].append(entry)
            else:
                by_org[record.organization_id or 0].append(entry)
    results: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for product in products:
        certificates = by_org[product.organization_id] + by_product[product.id]
        document = _product_document(product, certificates, public_url)
        results[product.organization_id].append(_product_result(product, document))
    items = [
        {
            "organization_id": org.id,
            "name": org.name,
            "province_code": org.province_code,
            "ready": bool(results[org.id]) and all(p["complete"] for p in results[org.id]),
            "products": results[org.id],
        }
        for org in organizations
    ]
    return items, next_cursor
