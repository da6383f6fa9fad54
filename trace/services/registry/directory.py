"""What the console's registry pages read: organisations, their facilities, products, people
and certificates, in the actor's read scope (a producer its own organisation, a centre its
province, admins and inspectors everything). Something out of scope is "not found", never
"forbidden": another province's ids tell nothing. Writes go through :mod:`catalogue`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.models import (
    Certificate,
    Facility,
    Organization,
    OrganizationKind,
    Product,
    Role,
    User,
)
from trace.services.actors import Actor
from trace.services.errors import NotFound
from trace.services.pagination import paginate
from trace.services.registry.text import fold

#: the most facilities, products, people and certificates one organisation's page lists
DETAIL_LIMIT = 200


def may_read(actor: Actor, org: Organization) -> bool:
    if actor.role in (Role.ADMIN, Role.INSPECTOR):
        return True
    if actor.role is Role.CENTRE:
        return actor.province_code == org.province_code
    return actor.organization_id == org.id


def organization(session: Session, actor: Actor, org_id: int) -> Organization:
    org = session.get(Organization, org_id)
    if org is None or not may_read(actor, org):
        raise NotFound(f"There is no organization with id {org_id}.")
    return org


def facility(session: Session, actor: Actor, facility_id: int) -> Facility:
    found = session.get(Facility, facility_id)
    if found is None or not may_read(actor, found.organization):
        raise NotFound(f"There is no facility with id {facility_id}.")
    return found


def product(session: Session, actor: Actor, product_id: int) -> Product:
    found = session.get(Product, product_id)
    if found is None or not may_read(actor, found.organization):
        raise NotFound(f"There is no product with id {product_id}.")
    return found


def list_organizations(
    session: Session, actor: Actor, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Organization], str | None]:
    """``filters``: ``q`` (words found without diacritics in name, tax code, address),
    ``kind``, ``province`` (a province code), ``archived`` (True: the archived ones only)."""
    stmt = select(Organization)
    if actor.role is Role.CENTRE:
        stmt = stmt.where(Organization.province_code == (actor.province_code or "--"))
    elif actor.role is Role.PRODUCER:
        stmt = stmt.where(Organization.id == (actor.organization_id or -1))
    if filters.get("kind"):
        stmt = stmt.where(Organization.kind == OrganizationKind(filters["kind"]))
    if filters.get("province"):
        stmt = stmt.where(Organization.province_code == filters["province"])
    for word in fold(filters.get("q") or "").split():
        stmt = stmt.where(Organization.search_text.contains(word, autoescape=True))
    if filters.get("archived"):
        stmt = stmt.where(Organization.archived_at.is_not(None))
    else:
        stmt = stmt.where(Organization.archived_at.is_(None))
    return paginate(session, stmt, Organization.id, limit, cursor)


@dataclass(frozen=True)
class OrganizationPage:
    organization: Organization
    facilities: Sequence[Facility]
    products: Sequence[Product]
    #: its people, for those who manage them (empty otherwise)
    people: Sequence[User]
    certificates: Sequence[Certificate]


def may_manage_people(actor: Actor, org: Organization) -> bool:
    return actor.is_admin or (
        actor.role is Role.CENTRE and actor.province_code == org.province_code
    )


def organization_page(session: Session, actor: Actor, org_id: int) -> OrganizationPage:
    """The organisation with what it has, archived things last."""
    org = organization(session, actor, org_id)
    facilities = session.scalars(
        select(Facility)
        .where(Facility.organization_id == org.id)
        .order_by(Facility.archived_at.is_not(None), Facility.id)
        .limit(DETAIL_LIMIT)
    ).all()
    products = session.scalars(
        select(Product)
        .where(Product.organization_id == org.id)
        .order_by(Product.archived_at.is_not(None), Product.id)
        .limit(DETAIL_LIMIT)
    ).all()
    people: Sequence[User] = []
    if may_manage_people(actor, org):
        people = session.scalars(
            select(User)
            .where(User.organization_id == org.id, User.role.in_((Role.PRODUCER, Role.CENTRE)))
            .order_by(User.id)
            .limit(DETAIL_LIMIT)
        ).all()
    product_ids = [p.id for p in products]
    certificates = session.scalars(
        select(Certificate)
        .where(
            Certificate.archived_at.is_(None),
            (Certificate.organization_id == org.id) | Certificate.product_id.in_(product_ids),
        )
        .order_by(Certificate.id)
        .limit(DETAIL_LIMIT)
    ).all()
    return OrganizationPage(org, facilities, products, people, certificates)
