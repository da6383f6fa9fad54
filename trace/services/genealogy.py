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

from trace.models import Batch, BatchLink, Event, Facility, Organization, Product
from trace.services.registry import get

Direction = Literal["backward", "forward"]
MAX_DEPTH = 50


@dataclass(frozen=True)
class Node:
    batch: Batch
    product: Product
    producer: Organization
    facility: Facility | None
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


def _reach(batch_id: int, direction: Direction, depth: int) -> Subquery:
    """Batch id -> smallest distance from the root, for every batch within ``depth`` steps."""
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
    walk = walk.union(step)
    return (
        select(walk.c.batch_id, func.min(walk.c.depth).label("distance"))
        .group_by(walk.c.batch_id)
        .subquery("reach")
    )


def trace(session: Session, batch_id: int, direction: Direction, depth: int) -> Genealogy:
    get(session, Batch, batch_id)
    depth = max(0, min(depth, MAX_DEPTH))
    reach = _reach(batch_id, direction, depth)
    rows = session.execute(
        select(Batch, Product, Organization, Facility, reach.c.distance)
        .join(reach, reach.c.batch_id == Batch.id)
        .join(Product, Product.id == Batch.product_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .outerjoin(Facility, Facility.id == Batch.origin_facility_id)
        .order_by(reach.c.distance, Batch.id)
    ).all()
    nodes = [Node(b, p, o, f, distance) for b, p, o, f, distance in rows]
    distances = {node.batch.id: node.depth for node in nodes}
    near, far = (
        (BatchLink.output_batch_id, BatchLink.input_batch_id)
        if direction == "backward"
        else (BatchLink.input_batch_id, BatchLink.output_batch_id)
    )
    reach_near, reach_far = reach.alias("near"), reach.alias("far")
    edge_rows = session.execute(
        select(
            BatchLink.input_batch_id, BatchLink.output_batch_id, Event.event_id, Event.event_time
        )
        .join(Event, Event.id == BatchLink.event_pk)
        .join(reach_near, reach_near.c.batch_id == near)
        .join(reach_far, reach_far.c.batch_id == far)
        .where(reach_far.c.distance <= reach_near.c.distance + 1)
        .order_by(Event.event_time)
    ).all()
    edges = [
        Edge(i, o, event_id, when.isoformat())
        for i, o, event_id, when in edge_rows
        if i in distances and o in distances
    ]
    return Genealogy(batch_id, direction, depth, nodes, edges)
