"""The read rule for batches and events, as SQL conditions, so that a listing stays one query.

- admin and inspectors read everything;
- a centre reads the batches produced in its province and those its province's organisations
  received, one genealogy step from those, and the events about them or recorded in its province;
- a producer reads what it owns or has held: the batches it produces and the batches it recorded
  a receipt of (under the write rule the only way to hold another's batch), one genealogy step
  back and forward from those (the inputs of what it made, what was made from its goods), every
  event about those batches whoever recorded it (its trading partners' events about goods that
  passed through its hands), and every event it recorded itself.

What the public lookup page shows stays public on that page; through the API the rule above
applies to every route that reads events, genealogy, print runs or codes.

EUDR due diligence adds one explicit exception (:func:`require_due_diligence_reader`): the owner
of an export lot reads the plots and harvest events upstream of it at any depth, through that
lot's due diligence package only; besides the owner, only the centre of the lot's province,
inspectors and admin read that package. A plot's geolocation, farmer and land documents
(:func:`may_read_plot`) are read by its organisation, its province's centre, inspectors and admin.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from trace.models import Batch, BatchLink, Event, EventEpc, Organization, Role
from trace.services.actors import Actor
from trace.services.errors import Forbidden, get_or_404
from trace.services.events.custody import RECEIVING_STEPS

EVERYTHING = frozenset({Role.ADMIN, Role.INSPECTOR})
#: Up to this many own batches, an actor's readable events are listed by a join with their set.
SMALL_ACTOR = 2000


def reads_everything(actor: Actor) -> bool:
    return actor.role in EVERYTHING


def _recorded_by(actor: Actor, event: type[Event] | Any = Event) -> ColumnElement[bool]:
    """Events recorded by the actor's organisation (a centre: by its province's organisations)."""
    if actor.role is Role.CENTRE:
        return event.captured_by_organization_id.in_(
            select(Organization.id).where(Organization.province_code == actor.province_code)
        )
    if actor.organization_id is None:
        return false()
    return event.captured_by_organization_id == actor.organization_id


def _produced(actor: Actor, batch: Any) -> ColumnElement[bool]:
    """The batch (an aliased :class:`Batch`) is the producer's own, or of the centre's province."""
    if actor.role is Role.CENTRE:
        return cast(
            ColumnElement[bool],
            batch.producer_id.in_(
                select(Organization.id).where(Organization.province_code == actor.province_code)
            ),
        )
    if actor.organization_id is None:
        return false()
    return cast(ColumnElement[bool], batch.producer_id == actor.organization_id)


def _received(actor: Actor) -> Select[Any]:
    """The batches the actor (a centre: its province's organisations) recorded a receipt of: under
    the write rule the only way to come to hold another organisation's batch. A small set."""
    receipt, named = aliased(Event), aliased(EventEpc)
    return (
        select(named.batch_id)
        .join(receipt, receipt.id == named.event_pk)
        .where(
            _recorded_by(actor, receipt),
            receipt.biz_step.in_(sorted(RECEIVING_STEPS)),
            receipt.declares_error.is_(False),
            named.batch_id.is_not(None),
        )
    )


def batch_readable(actor: Actor, batch_id: Any) -> ColumnElement[bool]:
    """A condition on a batch id column (or value): the actor may read that batch. Evaluated per
    row with index lookups and one small set (what it received), never a set of every batch a
    large producer owns, so that listings stay one cheap query."""
    if reads_everything(actor):
        return true()
    received = _received(actor)
    this, near = aliased(Batch), aliased(Batch)
    link = aliased(BatchLink)

    def held(batch: Any) -> ColumnElement[bool]:
        return or_(_produced(actor, batch), batch.id.in_(received))

    return or_(
        exists().where(this.id == batch_id, held(this)),
        exists().where(
            link.output_batch_id == batch_id, near.id == link.input_batch_id, held(near)
        ),
        exists().where(
            link.input_batch_id == batch_id, near.id == link.output_batch_id, held(near)
        ),
    )


def readable_events(actor: Actor) -> ColumnElement[bool]:
    """A condition on :class:`Event`: the events the actor may read (those it recorded, and every
    event naming a batch it may read)."""
    if reads_everything(actor):
        return true()
    named = aliased(EventEpc)
    return or_(
        _recorded_by(actor),
        exists().where(named.event_pk == Event.id, batch_readable(actor, named.batch_id)),
    )


def _readable_set(actor: Actor) -> CompoundSelect[Any]:
    """The ids of the batches the actor may read, as a set: for actors owning few batches."""
    base = select(Batch.id).where(_produced(actor, Batch)).union(_received(actor)).subquery("base")
    return select(base.c.id).union(
        select(BatchLink.output_batch_id).where(BatchLink.input_batch_id.in_(select(base.c.id))),
        select(BatchLink.input_batch_id).where(BatchLink.output_batch_id.in_(select(base.c.id))),
    )


def restrict_events(session: Session, actor: Actor, stmt: Select[Any]) -> Select[Any]:
    """``stmt`` (a select of :class:`Event`) limited to the events the actor may read.

    Two plans for one rule: an actor owning few batches gets a join with the (small) set of the
    events it may read, which PostgreSQL drives from the indexes; a large producer gets the per-row
    condition, cheap where most rows pass. Either way one query."""
    if reads_everything(actor):
        return stmt
    owned = session.scalar(
        select(func.count()).select_from(
            select(Batch.id).where(_produced(actor, Batch)).limit(SMALL_ACTOR + 1).subquery()
        )
    )
    if owned is not None and owned > SMALL_ACTOR:
        return stmt.where(readable_events(actor))
    readable = (
        select(EventEpc.event_pk.label("event_pk"))
        .where(EventEpc.batch_id.in_(_readable_set(actor)))
        .union(select(Event.id).where(_recorded_by(actor)))
        .subquery("readable")
    )
    return stmt.join(readable, readable.c.event_pk == Event.id)


def may_read_batch(session: Session, actor: Actor, batch_id: int) -> bool:
    if reads_everything(actor):
        return True
    return bool(session.scalar(select(batch_readable(actor, literal(batch_id)))))


def may_read_plot(actor: Actor, organization_id: int, province_code: str) -> bool:
    """A plot's geolocation, farmer or owner and land-use documents (personal data)."""
    if reads_everything(actor):
        return True
    if actor.role is Role.CENTRE:
        return actor.province_code == province_code
    return actor.organization_id is not None and actor.organization_id == organization_id


def require_due_diligence_reader(session: Session, actor: Actor, batch_id: int) -> Batch:
    """The EUDR package of a lot, and with it every plot and harvest event upstream of the lot at
    any depth: its owner (the organisation that produced the export lot), the centre of the
    owner's province, inspectors and admin. The one exception to the one-step rule, and only
    through the package; 404 for an unknown lot, 403 for anyone else."""
    batch = get_or_404(session, Batch, batch_id)
    if reads_everything(actor):
        return batch
    if actor.role is Role.CENTRE:
        province = session.scalar(
            select(Organization.province_code).where(Organization.id == batch.producer_id)
        )
        if province == actor.province_code:
            return batch
    elif actor.organization_id is not None and actor.organization_id == batch.producer_id:
        return batch
    raise Forbidden(
        f"A {actor.role.value} token may not read the EUDR due diligence package of batch "
        f"{batch_id}: only the organisation that owns the lot, its province's centre and "
        "inspectors read the plots and harvests upstream of it."
    )


def require_batch_reader(session: Session, actor: Actor, batch_id: int) -> None:
    """404 for an unknown batch, 403 unless the actor may read it (its events, genealogy, print
    runs, codes)."""
    get_or_404(session, Batch, batch_id)
    if not may_read_batch(session, actor, batch_id):
        whose = "of another province" if actor.role is Role.CENTRE else "it neither owns nor held"
        raise Forbidden(
            f"A {actor.role.value} token may not read batch {batch_id}, a batch {whose}: "
            "producers read the batches they own or have held (and one genealogy step from "
            "them), centres their province's."
        )
