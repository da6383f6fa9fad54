"""Batch genealogy: one step back, one step forward (TCVN 12850), and as far as asked.

The walk is one recursive query in the database over ``batch_link`` (input → output edges made
by transformation and aggregation events). It stops at ``depth`` and cannot loop: a batch is
expanded at most once per depth level, and the depth is capped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Subquery, and_, func, literal, select
from sqlalchemy.orm import Session

from trace.models import Batch, BatchLink, BatchStatus, Event, Facility, Organization, Product
from trace.services.actors import Actor
from trace.services.events import visibility
from trace.services.registry.catalogue import get

Direction = Literal["backward", "forward"]
MAX_DEPTH = 50


@dataclass(frozen=True)
class BatchView:
    id: int
    lot_code: str
    status: BatchStatus


@dataclass(frozen=True)
class ProductView:
    id: int
    name_vi: str
    name_en: str | None
    gtin: str | None


@dataclass(frozen=True)
class OrganizationView:
    id: int
    name: str
    province_code: str


@dataclass(frozen=True)
class FacilityView:
    id: int
    name: str


@dataclass(frozen=True)
class Node:
    """A batch of the graph with what a reader needs of it (plain values, not ORM objects:
    a graph of thousands of batches loads in one cheap query)."""

    batch: BatchView
    product: ProductView
    producer: OrganizationView
    facility: FacilityView | None
    depth: int


@dataclass(frozen=True)
class Edge:
    input_batch_id: int
    output_batch_id: int
    event_id: str
    event_time: str


@dataclass(frozen=True)
class Genealogy:
    root_id: int
    direction: Direction
    depth: int
    nodes: list[Node]
    edges: list[Edge]


def _reach(batch_id: int, direction: Direction, depth: int,
           reader: Actor | None = None) -> Subquery:  # fmt: skip
    """Batch id -> smallest distance from the root, for every batch within ``depth`` steps
    (walking only through the batches the ``reader`` may read, when given)."""
    here, there = (
        (BatchLink.output_batch_id, BatchLink.input_batch_id)
        if direction == "backward"
        else (BatchLink.input_batch_id, BatchLink.output_batch_id)
    )
    walk = select(literal(batch_id).label("batch_id"), literal(0).label("depth")).cte(
        "walk", recursive=True
    )
    step = select(there.label("batch_id"), (walk.c.depth + 1).label("depth")).join(
        walk, and_(here == walk.c.batch_id, walk.c.depth < depth)
    )
    if reader is not None:
        step = step.where(visibility.batch_readable(reader, there))
    walk = walk.union(step)
    return (
        select(walk.c.batch_id, func.min(walk.c.depth).label("distance"))
        .group_by(walk.c.batch_id)
        .subquery("reach")
    )


def upstream(batch_id: int, depth: int = MAX_DEPTH) -> Subquery:
    """Every batch upstream of ``batch_id`` (itself included) with its distance, unrestricted:
    for callers that applied a read rule of their own (the EUDR package)."""
    return _reach(batch_id, "backward", max(0, min(depth, MAX_DEPTH)))


def trace(
    session: Session, batch_id: int, direction: Direction, depth: int, reader: Actor | None = None
) -> Genealogy:
    """The genealogy around a batch; with a ``reader``, only the batches the read rule lets it
    read, and the walk goes on only through those."""
    get(session, Batch, batch_id)
    if reader is not None:
        visibility.require_batch_reader(session, reader, batch_id)
    depth = max(0, min(depth, MAX_DEPTH))
    reach = _reach(batch_id, direction, depth, reader)
    distances = {b: d for b, d in session.execute(select(reach.c.batch_id, reach.c.distance))}
    ids = list(distances)
    rows = session.execute(
        select(
            Batch.id, Batch.lot_code, Batch.status,
            Product.id, Product.name_vi, Product.name_en, Product.gtin,
            Organization.id, Organization.name, Organization.province_code,
            Facility.id, Facility.name,
        )
        .join(Product, Product.id == Batch.product_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .outerjoin(Facility, Facility.id == Batch.origin_facility_id)
        .where(Batch.id.in_(ids))
    ).all()  # fmt: skip
    nodes = sorted(
        (
            Node(
                BatchView(r[0], r[1], r[2]),
                ProductView(r[3], r[4], r[5], r[6]),
                OrganizationView(r[7], r[8], r[9]),
                FacilityView(r[10], r[11]) if r[10] is not None else None,
                distances[r[0]],
            )
            for r in rows
        ),
        key=lambda n: (n.depth, n.batch.id),
    )
    edge_rows = session.execute(
        select(
            BatchLink.input_batch_id, BatchLink.output_batch_id, Event.event_id, Event.event_time
        )
        .join(Event, Event.id == BatchLink.event_pk)
        .where(BatchLink.input_batch_id.in_(ids), BatchLink.output_batch_id.in_(ids))
        .order_by(Event.event_time)
    ).all()
    near_far = (1, 0) if direction == "backward" else (0, 1)
    edges = [
        Edge(row[0], row[1], row[2], row[3].isoformat())
        for row in edge_rows
        if distances[row[near_far[1]]] <= distances[row[near_far[0]]] + 1
    ]
    return Genealogy(batch_id, direction, depth, nodes, edges)
