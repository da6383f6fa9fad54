"""What the console's forms offer to pick from: an organisation's products, facilities and
batches, trading partners, and the facility its last event was recorded at. Picking is a
convenience only: the services check every id posted, whatever the form offered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.models import (
    Batch,
    BatchStatus,
    Event,
    Facility,
    Organization,
    OrganizationKind,
    Product,
)
from trace.services.actors import Actor
from trace.services.events import visibility
from trace.services.events.identifiers import resolve
from trace.services.registry.catalogue import get

LIMIT = 300
#: organisations goods are shipped to
TRADING = (
    OrganizationKind.PRODUCER,
    OrganizationKind.COOPERATIVE,
    OrganizationKind.PROCESSOR,
    OrganizationKind.DISTRIBUTOR,
    OrganizationKind.RETAILER,
)


def products(session: Session, organization_id: int | None) -> Sequence[Product]:
    return session.scalars(
        select(Product)
        .where(Product.organization_id == organization_id, Product.archived_at.is_(None))
        .order_by(Product.name_vi, Product.id)
        .limit(LIMIT)
    ).all()


def facilities(session: Session, organization_id: int | None) -> Sequence[Facility]:
    return session.scalars(
        select(Facility)
        .where(Facility.organization_id == organization_id, Facility.archived_at.is_(None))
        .order_by(Facility.name, Facility.id)
        .limit(LIMIT)
    ).all()


def partners(session: Session, organization_id: int | None) -> Sequence[Organization]:
    """Organisations that goods may be shipped to, the given one left out."""
    return session.scalars(
        select(Organization)
        .where(
            Organization.kind.in_(TRADING),
            Organization.archived_at.is_(None),
            Organization.id != (organization_id or 0),
        )
        .order_by(Organization.name, Organization.id)
        .limit(LIMIT)
    ).all()


def input_batches(session: Session, organization_id: int | None, but: int) -> Sequence[Batch]:
    """The organisation's active batches, newest first, except batch ``but``."""
    return session.scalars(
        select(Batch)
        .where(
            Batch.producer_id == organization_id,
            Batch.status == BatchStatus.ACTIVE,
            Batch.id != but,
        )
        .order_by(Batch.production_date.desc(), Batch.id.desc())
        .limit(LIMIT)
    ).all()


def last_facility_id(session: Session, organization_id: int | None) -> int | None:
    """The organisation's facility its latest event was recorded at, if any."""
    if organization_id is None:
        return None
    place = session.scalar(
        select(Event.biz_location)
        .where(
            Event.captured_by_organization_id == organization_id,
            Event.biz_location.is_not(None),
            Event.declares_error.is_(False),
        )
        .order_by(Event.seq.desc())
        .limit(1)
    )
    if place is None:
        return None
    resolved = resolve(session, {place}).get(place)
    if resolved is None or resolved.facility_id is None:
        return None
    facility = session.get(Facility, resolved.facility_id)
    if facility is None or facility.organization_id != organization_id:
        return None
    return facility.id


@dataclass(frozen=True)
class StageChoices:
    """What the stage form of a batch offers its recorder."""

    batch: Batch
    facilities: Sequence[Facility]
    partners: Sequence[Organization]
    inputs: Sequence[Batch]
    last_facility_id: int | None


def stage_choices(session: Session, actor: Actor, batch_id: int) -> StageChoices:
    """The batch (for a reader of it, by the read rule) and the recorder's own places, partners
    and batches; the recorder is the actor's organisation."""
    batch = get(session, Batch, batch_id)
    visibility.require_batch_reader(session, actor, batch_id)
    org = actor.organization_id
    places = facilities(session, org)
    last = last_facility_id(session, org)
    if last is None and batch.origin_facility_id in {f.id for f in places}:
        last = batch.origin_facility_id  # nothing recorded yet: where the batch comes from
    return StageChoices(
        batch=batch,
        facilities=places,
        partners=partners(session, org),
        inputs=input_batches(session, org, batch_id),
        last_facility_id=last,
    )
