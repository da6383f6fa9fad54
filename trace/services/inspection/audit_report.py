"""What inspectors read: a batch's audited history, the audit log, and the genealogy drawing.

For every event of a batch (corrections included): who recorded it (organisation and token),
when it happened and when it was recorded (late entries flagged), the errorDeclarations that
correct it, and the ledger check of its entry: its content still hashes to its hash ID, its
chain hash still follows from the entry before it, and its columns and index rows are what its
document says. (An index row deleted to hide an event from the batch cannot be seen from the
batch's own events: ``flask verify`` and ``GET /ledger/verify`` re-derive every event's rows.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trace.models import ApiToken, AuditEntry, Batch, Event, Organization, Recall, RecallBatch, Role
from trace.render.graph import Box, SvgGraph, layout
from trace.services.actors import Actor
from trace.services.events import custody, genealogy, history, ledger, visibility
from trace.services.pagination import paginate, where_equal
from trace.services.registry.catalogue import get

SVG_MAX_NODES = 80


def require_reader(session: Session, actor: Actor, batch: Batch) -> None:
    """The read rule of every batch route (:mod:`trace.services.events.visibility`)."""
    visibility.require_batch_reader(session, actor, batch.id)


@dataclass
class AuditedEvent:
    event: Event
    stage: dict[str, str]
    organization: dict[str, Any] | None
    token: dict[str, Any] | None
    late: bool
    delay_hours: float
    check: ledger.EntryCheck
    corrections: list[Event] = field(default_factory=list)


@dataclass
class BatchAudit:
    batch: Batch
    events: list[AuditedEvent]
    late_after_hours: float
    recalls: list[Recall]
    generated_at: dt.datetime

    @property
    def ledger_ok(self) -> bool:
        return all(e.check.ok for e in self.events)

    @property
    def late_count(self) -> int:
        return sum(1 for e in self.events if e.late)


def batch_audit(session: Session, actor: Actor, batch_id: int, late_hours: float) -> BatchAudit:
    batch = get(session, Batch, batch_id)
    require_reader(session, actor, batch)
    rows = list(history.batch_event_rows(session, batch_id))
    originals = {e.event_id for e in rows if not e.declares_error}
    known = {e.id for e in rows}
    if originals:
        rows += [
            d
            for d in session.scalars(
                select(Event).where(Event.declares_error, Event.event_id.in_(originals))
            )
            if d.id not in known
        ]
    rows.sort(key=lambda e: (e.event_time, e.seq))
    checks = ledger.check_entries(session, rows)
    tokens = {
        t.id: t
        for t in session.scalars(
            select(ApiToken).where(ApiToken.id.in_({e.captured_by_token_id for e in rows} - {None}))
        )
    }
    org_ids = {e.captured_by_organization_id for e in rows} | {
        t.organization_id for t in tokens.values()
    }
    orgs = {
        o.id: o
        for o in session.scalars(select(Organization).where(Organization.id.in_(org_ids - {None})))
    }
    # Every declaration is listed; only those the write rule honours mark their event.
    corrections = custody.declarations_of(session, [e for e in rows if not e.declares_error])
    limit = dt.timedelta(hours=late_hours)
    events = []
    for e in rows:
        token = tokens.get(e.captured_by_token_id or 0)
        org_id = e.captured_by_organization_id or (token.organization_id if token else None)
        org = orgs.get(org_id or 0)
        delay = e.record_time - e.event_time
        events.append(
            AuditedEvent(
                event=e,
                stage=history.stage_names(e.biz_step),
                organization={"id": org.id, "name": org.name, "province_code": org.province_code}
                if org
                else None,
                token=_token(token),
                late=delay > limit,
                delay_hours=round(delay.total_seconds() / 3600, 2),
                check=checks[e.seq],
                corrections=[] if e.declares_error else corrections.honoured.get(e.event_id, []),
            )
        )
    recalls = list(
        session.scalars(
            select(Recall)
            .join(RecallBatch, RecallBatch.recall_id == Recall.id)
            .where(RecallBatch.batch_id == batch_id)
            .order_by(Recall.id)
        )
    )
    return BatchAudit(batch, events, late_hours, recalls, dt.datetime.now(dt.UTC))


def _token(token: ApiToken | None) -> dict[str, Any] | None:
    if token is None:
        return None
    return {"id": token.id, "prefix": token.prefix, "role": token.role.value, "name": token.name}


# The audit log --------------------------------------------------------------------------------


def audit_log(
    session: Session, actor: Actor, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[AuditEntry], str | None]:
    """Every write, oldest first; centres see their province's actors, producers their own."""
    stmt = select(AuditEntry)
    if actor.role is Role.PRODUCER:
        stmt = stmt.where(AuditEntry.actor_organization_id == actor.organization_id)
    elif actor.role is Role.CENTRE:
        in_province = select(Organization.id).where(
            Organization.province_code == actor.province_code
        )
        province_tokens = select(ApiToken.id).where(ApiToken.province_code == actor.province_code)
        stmt = stmt.where(
            or_(
                AuditEntry.actor_organization_id.in_(in_province),
                AuditEntry.token_id.in_(province_tokens),
            )
        )
    stmt = where_equal(
        stmt,
        filters,
        {
            "organization": AuditEntry.actor_organization_id,
            "actor": AuditEntry.actor,
            "token": AuditEntry.token_id,
            "entity_type": AuditEntry.entity_type,
            "entity_id": AuditEntry.entity_id,
            "action": AuditEntry.action,
        },
    )
    if "from" in filters:
        stmt = stmt.where(AuditEntry.at >= filters["from"])
    if "to" in filters:
        stmt = stmt.where(AuditEntry.at < filters["to"])
    return paginate(session, stmt, AuditEntry.id, limit, cursor)


# The genealogy as an SVG graph ------------------------------------------------------------


def genealogy_graph(
    session: Session, batch_id: int, depth: int = 8, reader: Actor | None = None
) -> SvgGraph:
    """Backward and forward genealogy laid out in columns: inputs left, outputs right.

    The template draws it as inline SVG; every text goes through the template's escaping.
    """
    back = genealogy.trace(session, batch_id, "backward", depth, reader)
    forward = genealogy.trace(session, batch_id, "forward", depth, reader)
    columns: dict[int, list[Box]] = {}
    seen: set[int] = set()
    count = 0
    truncated = False
    for nodes, sign in ((back.nodes, -1), (forward.nodes, 1)):
        for node in nodes:
            if node.batch.id in seen:
                continue
            if count >= SVG_MAX_NODES:
                truncated = True
                break
            seen.add(node.batch.id)
            count += 1
            columns.setdefault(sign * node.depth, []).append(
                Box(
                    node.batch.id,
                    node.batch.lot_code,
                    node.product.name_vi,
                    node.producer.name,
                    node.batch.status.value,
                )
            )
    links = [(e.input_batch_id, e.output_batch_id) for e in back.edges + forward.edges]
    return layout(columns, links, batch_id, truncated)
