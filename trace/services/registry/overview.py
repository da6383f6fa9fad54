"""What the console lists for an actor: the registry's rows in the actor's scope (a producer
its own organisation's, a centre its province's, admin and inspectors everything), through the
same list functions as the API, and per-batch counts of events, codes and scans."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from trace.models import Batch, Code, EventEpc, Facility, Product, Role, Scan
from trace.services.actors import Actor
from trace.services.registry import catalogue


def _scope(actor: Actor, owner_key: str) -> dict[str, Any]:
    """The list filters that keep an actor to what is theirs; ``owner_key`` is the filter that
    names the owning organisation (``producer`` for batches, ``organization`` otherwise)."""
    if actor.role is Role.PRODUCER:
        return {owner_key: actor.organization_id if actor.organization_id is not None else -1}
    if actor.role is Role.CENTRE:
        return {"province": actor.province_code or "--"}
    return {}


def list_batches(
    session: Session, actor: Actor, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Batch], str | None]:
    rows, next_cursor = catalogue.list_batches(
        session, {**filters, **_scope(actor, "producer")}, limit, cursor
    )
    # The page names each batch's product: one query for all of them, not one per row.
    product_ids = {batch.product_id for batch in rows}
    if product_ids:
        products = {
            p.id: p for p in session.scalars(select(Product).where(Product.id.in_(product_ids)))
        }
        for batch in rows:
            set_committed_value(batch, "product", products.get(batch.product_id))
    return rows, next_cursor


def list_products(
    session: Session, actor: Actor, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Product], str | None]:
    return catalogue.list_products(
        session, {**filters, **_scope(actor, "organization")}, limit, cursor
    )


def list_facilities(
    session: Session, actor: Actor, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Facility], str | None]:
    return catalogue.list_facilities(
        session, {**filters, **_scope(actor, "organization")}, limit, cursor
    )


@dataclass(frozen=True)
class BatchCounts:
    events: int = 0
    codes: int = 0
    scans: int = 0


def batch_counts(session: Session, batch_ids: Sequence[int]) -> dict[int, BatchCounts]:
    """Events naming each batch, its codes and the scans of them: three grouped queries over
    indexed columns, for one page of batches."""
    ids = sorted(set(batch_ids))
    if not ids:
        return {}
    events = _counted(
        session,
        select(EventEpc.batch_id, func.count(func.distinct(EventEpc.event_pk)))
        .where(EventEpc.batch_id.in_(ids))
        .group_by(EventEpc.batch_id),
    )
    codes = _counted(
        session,
        select(Code.batch_id, func.count()).where(Code.batch_id.in_(ids)).group_by(Code.batch_id),
    )
    scans = _counted(
        session,
        select(Scan.batch_id, func.count()).where(Scan.batch_id.in_(ids)).group_by(Scan.batch_id),
    )
    return {
        batch_id: BatchCounts(
            events=int(events.get(batch_id, 0)),
            codes=int(codes.get(batch_id, 0)),
            scans=int(scans.get(batch_id, 0)),
        )
        for batch_id in ids
    }


def _counted(session: Session, stmt: Executable) -> dict[int, int]:
    return {int(key): int(value) for key, value in session.execute(stmt)}
