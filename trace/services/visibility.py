"""The read rule for batches and events, as SQL conditions, so that a listing stays one query.

- admin and inspectors read everything;
- a centre reads the batches produced in its province, the batches its province's organisations
  recorded events about, and those events;
- a producer reads what it owns or has held: the batches it produces and the batches it recorded
  an event about (a receipt, a transformation of its inputs, ...), one genealogy step back and
  forward from those (the inputs of what it made, what was made from its goods), every event
  about those batches whoever recorded it (its trading partners' events about goods that passed
  through its hands), and every event it recorded itself.

What the public lookup page shows stays public on that page; through the API the rule above
applies to every route that reads events, genealogy, print runs or codes.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, literal, or_, select, true, union
from sqlalchemy.orm import Session

from trace.models import Batch, BatchLink, Event, EventEpc, Organization, Role
from trace.services.actors import Actor
from trace.services.errors import Forbidden, get_or_404

EVERYTHING = frozenset({Role.ADMIN, Role.INSPECTOR})


def reads_everything(actor: Actor) -> bool:
    return actor.role in EVERYTHING


def _own_batches(actor: Actor) -> Select[tuple[int]]:
    if actor.role is Role.CENTRE:
        return (
            select(Batch.id)
            .join(Organization, Organization.id == Batch.producer_id)
            .where(Organization.province_code == actor.province_code)
        )
    return select(Batch.id).where(Batch.producer_id == actor.organization_id)


def _recorded_by(actor: Actor) -> ColumnElement[bool]:
    """Events recorded by the actor's organisation (a centre: by its province's organisations)."""
    if actor.role is Role.CENTRE:
        return Event.captured_by_organization_id.in_(
            select(Organization.id).where(Organization.province_code == actor.province_code)
        )
    if actor.organization_id is None:
        return false()
    return Event.captured_by_organization_id == actor.organization_id


def readable_batches(actor: Actor) -> Select[tuple[int]] | None:
    """The ids of the batches the actor may read, as a subquery; None for every batch."""
    if reads_everything(actor):
        return None
    held = (
        select(EventEpc.batch_id)
        .join(Event, Event.id == EventEpc.event_pk)
        .where(_recorded_by(actor), EventEpc.batch_id.is_not(None))
    )
    base = union(_own_batches(actor), held).subquery("base")
    return select(base.c.id).union(
        select(BatchLink.output_batch_id).where(BatchLink.input_batch_id.in_(select(base.c.id))),
        select(BatchLink.input_batch_id).where(BatchLink.output_batch_id.in_(select(base.c.id))),
    )


def readable_events(actor: Actor) -> ColumnElement[bool]:
    """A condition on :class:`Event`: the events the actor may read."""
    batches = readable_batches(actor)
    if batches is None:
        return true()
    about = select(EventEpc.event_pk).where(EventEpc.batch_id.in_(batches))
    return or_(Event.id.in_(about), _recorded_by(actor))


def may_read_batch(session: Session, actor: Actor, batch_id: int) -> bool:
    batches = readable_batches(actor)
    if batches is None:
        return True
    return bool(session.scalar(select(literal(batch_id).in_(batches))))


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
