"""Recalls: mark batches recalled (and everything made from them), close them, report impact.

A recall names batches; with ``include_downstream`` it also covers every batch made from them,
at any depth (one recursive query over ``batch_link``, run in the database). Covered batches get
status ``recalled``: capture then refuses shipping and retail events for them (409) and the
public page shows the recall. Closing a recall returns its batches to ``active``, except those
another open recall still covers. Nothing is deleted: the recall keeps its reason, who issued
and who closed it, and the audit trail has an entry for the recall and for every status change.

The impact report answers "where did it go": the covered batches, the organisations and
facilities that received them (shipping destinations and receiving events), the codes issued
per batch, and the scans by province since production. Each part is one set-based query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    CTE,
    Select,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from trace.models import (
    ApiToken,
    AuditEntry,
    Batch,
    BatchLink,
    BatchStatus,
    Code,
    Event,
    EventEpc,
    Facility,
    Organization,
    Product,
    Recall,
    RecallBatch,
    Role,
    Scan,
)
from trace.provinces import province_name
from trace.services import audit, outbox
from trace.services.actors import Actor
from trace.services.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    get_or_404,
)
from trace.services.events.identifiers import canonical_uri, resolve
from trace.services.pagination import paginate

SHIPPING_STEPS = frozenset({"shipping", "departing", "staging_outbound", "transporting"})
RECEIVING_STEPS = frozenset({"receiving", "accepting", "arriving"})
_CHUNK = 500
PAGE = 1000  # batches per page of a recall's batch list


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _chunks(values: Sequence[int], size: int = _CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def downstream(roots: Sequence[int]) -> CTE:
    """Every batch reachable from ``roots`` through the genealogy, the roots included.

    ``UNION`` (not ``UNION ALL``) keeps each batch once, so diamonds and even cycles end.
    """
    walk = select(Batch.id.label("batch_id")).where(Batch.id.in_(roots)).cte("down", recursive=True)
    step = select(BatchLink.output_batch_id).join(walk, BatchLink.input_batch_id == walk.c.batch_id)
    return walk.union(step)


# Issuing and closing --------------------------------------------------------------------------


def _may_recall(actor: Actor) -> None:
    actor.require(actor.role in {Role.ADMIN, Role.INSPECTOR, Role.CENTRE}, "issue or close recalls")


def _check_province(actor: Actor, provinces: Mapping[int, str]) -> None:
    if actor.role is Role.CENTRE:
        outside = sorted(b for b, p in provinces.items() if p != actor.province_code)
        if outside:
            raise Forbidden(
                f"A centre token recalls batches of its own province ({actor.province_code}) "
                f"only; batches {outside} are of other provinces."
            )


def create_recall(session: Session, actor: Actor, data: Mapping[str, Any]) -> Recall:
    _may_recall(actor)
    ids = list(dict.fromkeys(data["batches"]))
    provinces: dict[int, str] = {}
    for chunk in _chunks(ids):
        provinces.update(
            session.execute(
                select(Batch.id, Organization.province_code)
                .join(Organization, Organization.id == Batch.producer_id)
                .where(Batch.id.in_(chunk))
            ).all()
        )
    missing = [
        FieldError(f"/batches/{index}", f"batch {batch_id} does not exist")
        for index, batch_id in enumerate(data["batches"])
        if batch_id not in provinces
    ]
    if missing:
        raise InvalidInput("Some batches to recall do not exist.", errors=missing)
    _check_province(actor, provinces)

    recall = Recall(
        reason=data["reason"],
        instruction_vi=data.get("instruction_vi"),
        instruction_en=data.get("instruction_en"),
        include_downstream=data["include_downstream"],
        created_at=_now(),
        created_by_token_id=actor.token_id,
        created_by_organization_id=actor.organization_id,
    )
    session.add(recall)
    session.flush()
    session.execute(
        insert(RecallBatch),
        [{"recall_id": recall.id, "batch_id": b, "direct": True} for b in ids],
    )
    if recall.include_downstream:
        down = downstream(ids)
        session.execute(
            insert(RecallBatch).from_select(
                ["recall_id", "batch_id", "direct"],
                select(literal(recall.id), down.c.batch_id, literal(False)).where(
                    down.c.batch_id.not_in(ids)
                ),
            )
        )
    covered = select(RecallBatch.batch_id).where(RecallBatch.recall_id == recall.id)
    if recall.include_downstream and session.get_bind().dialect.name == "postgresql":
        # Thousands of rows just arrived: fresh statistics let the impact report's joins hash
        # instead of looping (ANALYZE is allowed in a transaction and sees its own rows).
        session.execute(text("ANALYZE recall_batch"))
    changed = session.execute(
        select(Batch.id, Batch.status).where(
            Batch.id.in_(covered), Batch.status != BatchStatus.RECALLED
        )
    ).all()
    session.execute(
        update(Batch)
        .where(Batch.id.in_(covered), Batch.status != BatchStatus.RECALLED)
        .values(status=BatchStatus.RECALLED)
        .execution_options(synchronize_session=False)
    )
    total = session.scalar(select(func.count()).select_from(covered.subquery())) or 0
    audit.record(
        session, actor, "create", "recall", recall.id,
        after={**audit.snapshot(recall), "batches": ids, "covered": total},
    )  # fmt: skip
    _audit_status(session, actor, recall.id, changed, BatchStatus.RECALLED, "recall")
    session.expire_all()
    return recall


def preview(session: Session, actor: Actor, data: Mapping[str, Any], limit: int = PAGE) -> Impact:
    """The impact :func:`create_recall` would have, with nothing kept: the recall is issued
    inside a savepoint, its impact read by the very queries of a real one, and the savepoint
    rolled back (recall rows, batch statuses, audit entries and outbox marks alike). Only a
    PostgreSQL sequence keeps the id it handed out."""
    savepoint = session.begin_nested()
    try:
        recall = create_recall(session, actor, data)
        report = impact(session, actor, recall.id, limit)
    finally:
        savepoint.rollback()
    return report


def _audit_status(
    session: Session,
    actor: Actor,
    recall_id: int,
    changed: Sequence[Any],
    status: BatchStatus,
    action: str,
) -> None:
    if not changed:
        return
    at = _now()
    rows = [
        {
            "at": at,
            "token_id": actor.token_id,
            "actor": actor.label,
            "actor_organization_id": actor.organization_id,
            "action": action,
            "entity_type": "batch",
            "entity_id": str(batch_id),
            "before": {"status": BatchStatus(old).value},
            "after": {"status": status.value, "recall_id": recall_id},
        }
        for batch_id, old in changed
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(AuditEntry), rows[start : start + 5000])
    outbox.mark_batches(session, [batch_id for batch_id, _old in changed])


def _direct_provinces(session: Session, recall_id: int) -> dict[int, str]:
    return dict(
        session.execute(
            select(Batch.id, Organization.province_code)
            .join(Organization, Organization.id == Batch.producer_id)
            .join(RecallBatch, RecallBatch.batch_id == Batch.id)
            .where(RecallBatch.recall_id == recall_id, RecallBatch.direct)
        ).all()
    )


def close_recall(session: Session, actor: Actor, recall_id: int, note: str) -> Recall:
    _may_recall(actor)
    recall = _get(session, recall_id)
    _check_province(actor, _direct_provinces(session, recall_id))
    if recall.closed_at is not None:
        raise Conflict(f"Recall {recall_id} was closed on {recall.closed_at.isoformat()}.")
    before = audit.snapshot(recall)
    recall.closed_at = _now()
    recall.close_note = note
    recall.closed_by_token_id = actor.token_id
    session.flush()
    still_covered = (
        select(RecallBatch.batch_id)
        .join(Recall, Recall.id == RecallBatch.recall_id)
        .where(Recall.closed_at.is_(None), Recall.id != recall_id)
    )
    conditions = (
        Batch.id.in_(select(RecallBatch.batch_id).where(RecallBatch.recall_id == recall_id)),
        Batch.status == BatchStatus.RECALLED,
        Batch.id.not_in(still_covered),
    )
    changed = session.execute(select(Batch.id, Batch.status).where(*conditions)).all()
    session.execute(
        update(Batch)
        .where(*conditions)
        .values(status=BatchStatus.ACTIVE)
        .execution_options(synchronize_session=False)
    )
    audit.record(session, actor, "close", "recall", recall.id, before=before,
                 after=audit.snapshot(recall))  # fmt: skip
    _audit_status(session, actor, recall.id, changed, BatchStatus.ACTIVE, "recall_closed")
    session.expire_all()
    return recall


# Reading -------------------------------------------------------------------------------------


def _get(session: Session, recall_id: int) -> Recall:
    return get_or_404(session, Recall, recall_id)


def _visible(actor: Actor, stmt: Select[Any]) -> Select[Any]:
    """Producers see the recalls that cover one of their batches; the other roles see all."""
    if actor.role is not Role.PRODUCER:
        return stmt
    mine = (
        select(RecallBatch.recall_id)
        .join(Batch, Batch.id == RecallBatch.batch_id)
        .where(Batch.producer_id == actor.organization_id)
    )
    return stmt.where(Recall.id.in_(mine))


@dataclass
class RecallView:
    recall: Recall
    issued_by: dict[str, Any] | None
    closed_by: dict[str, Any] | None
    direct: int
    downstream: int
    batches: list[dict[str, Any]] | None = None

    @property
    def status(self) -> str:
        return "closed" if self.recall.closed_at else "open"


def _token_info(session: Session, token_ids: set[int]) -> dict[int, dict[str, Any]]:
    if not token_ids:
        return {}
    rows = session.execute(
        select(ApiToken.id, ApiToken.prefix, ApiToken.role, ApiToken.name,
               ApiToken.organization_id, Organization.name)
        .outerjoin(Organization, Organization.id == ApiToken.organization_id)
        .where(ApiToken.id.in_(token_ids))
    )  # fmt: skip
    return {
        tid: {
            "token_id": tid,
            "token_prefix": prefix,
            "role": Role(role).value,
            "name": name,
            "organization": {"id": org_id, "name": org_name} if org_id else None,
        }
        for tid, prefix, role, name, org_id, org_name in rows
    }


def _views(session: Session, recalls: Sequence[Recall]) -> list[RecallView]:
    ids = [r.id for r in recalls]
    counts: dict[tuple[int, bool], int] = {}
    if ids:
        for recall_id, direct, n in session.execute(
            select(RecallBatch.recall_id, RecallBatch.direct, func.count())
            .where(RecallBatch.recall_id.in_(ids))
            .group_by(RecallBatch.recall_id, RecallBatch.direct)
        ):
            counts[(recall_id, bool(direct))] = n
    tokens = _token_info(
        session,
        {t for r in recalls for t in (r.created_by_token_id, r.closed_by_token_id) if t},
    )
    return [
        RecallView(
            r,
            tokens.get(r.created_by_token_id or 0),
            tokens.get(r.closed_by_token_id or 0),
            counts.get((r.id, True), 0),
            counts.get((r.id, False), 0),
        )
        for r in recalls
    ]


def get_recall(session: Session, actor: Actor, recall_id: int) -> RecallView:
    recall = session.scalars(_visible(actor, select(Recall).where(Recall.id == recall_id))).first()
    if recall is None:
        _get(session, recall_id)
        raise Forbidden("A producer token reads the recalls of its own batches only.")
    view = _views(session, [recall])[0]
    view.batches = _batch_rows(session, recall_id, PAGE)
    return view


def list_recalls(
    session: Session, actor: Actor, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[list[RecallView], str | None]:
    stmt = _visible(actor, select(Recall))
    if filters.get("status") == "open":
        stmt = stmt.where(Recall.closed_at.is_(None))
    elif filters.get("status") == "closed":
        stmt = stmt.where(Recall.closed_at.is_not(None))
    if "batch" in filters:
        stmt = stmt.where(
            exists().where(
                RecallBatch.recall_id == Recall.id, RecallBatch.batch_id == filters["batch"]
            )
        )
    if "province" in filters:
        stmt = stmt.where(Recall.id.in_(touching_province(filters["province"])))
    rows, next_cursor = paginate(session, stmt, Recall.id, limit, cursor)
    return _views(session, rows), next_cursor


def touching_province(province_code: str) -> Select[Any]:
    """The recalls covering a batch produced in the province (the console keeps a centre to
    these)."""
    return (
        select(RecallBatch.recall_id)
        .join(Batch, Batch.id == RecallBatch.batch_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .where(Organization.province_code == province_code)
    )


def require_in_province(session: Session, actor: Actor, recall_id: int) -> None:
    """A centre reads, in the console, the recalls that touch its province."""
    if actor.role is not Role.CENTRE:
        return
    _get(session, recall_id)
    touching = touching_province(actor.province_code or "--").where(
        RecallBatch.recall_id == recall_id
    )
    if session.execute(touching.limit(1)).first() is None:
        raise Forbidden("A centre reads the recalls of its own province's batches only.")


def _batch_rows(
    session: Session, recall_id: int, limit: int, after: int | None = None
) -> list[dict[str, Any]]:
    """Covered batches in id order, ``limit`` after batch id ``after``."""
    stmt = (
        select(
            RecallBatch.batch_id, RecallBatch.direct, Batch.lot_code, Batch.status,
            Batch.production_date, Batch.expiry_date, Product.id, Product.name_vi,
            Product.name_en, Product.gtin, Organization.id, Organization.name,
            Organization.province_code,
        )
        .join(Batch, Batch.id == RecallBatch.batch_id)
        .join(Product, Product.id == Batch.product_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .where(RecallBatch.recall_id == recall_id)
        .order_by(RecallBatch.batch_id)
        .limit(limit)
    )  # fmt: skip
    if after is not None:
        stmt = stmt.where(RecallBatch.batch_id > after)
    rows = session.execute(stmt)
    return [
        {
            "batch_id": batch_id,
            "direct": bool(direct),
            "lot_code": lot,
            "status": BatchStatus(status).value,
            "production_date": produced.isoformat(),
            "expiry_date": expiry.isoformat() if expiry else None,
            "product": {"id": pid, "name_vi": name_vi, "name_en": name_en, "gtin": gtin},
            "producer": {"id": org_id, "name": org_name, "province_code": province},
        }
        for (batch_id, direct, lot, status, produced, expiry, pid, name_vi, name_en, gtin,
             org_id, org_name, province) in rows
    ]  # fmt: skip


# Impact ----------------------------------------------------------------------------------


@dataclass
class Impact:
    recall: RecallView
    batches: list[dict[str, Any]]
    batches_total: int
    batches_next_after: int | None
    producers: list[dict[str, Any]]
    organizations: list[dict[str, Any]]
    facilities: list[dict[str, Any]]
    unresolved_destinations: list[str]
    codes: dict[str, int]
    scans: dict[str, Any]
    generated_at: dt.datetime = field(default_factory=_now)


def _codes(session: Session, batch_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    per_batch: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(Code.batch_id, Code.status, func.count())
        .where(Code.batch_id.in_(batch_ids))
        .group_by(Code.batch_id, Code.status)
    )
    for batch_id, status, n in rows:
        counts = per_batch.setdefault(batch_id, {"issued": 0, "printed": 0, "voided": 0})
        counts[getattr(status, "value", status)] = n
    return per_batch


@dataclass
class _Receipt:
    """Batches that reached one organisation or facility, by one route (aggregated in SQL)."""

    kind: str  # organization | facility
    entity_id: int
    via: str  # shipping | receiving
    batches: int
    first: dt.datetime
    last: dt.datetime


def _receipts(session: Session, recall_id: int) -> tuple[list[_Receipt], list[str]]:
    """Who received the covered batches: shipping destinations and receiving places.

    Grouped in the database (by destination list, by receiving place and recorder), so the
    work in Python is per receiver, not per event.
    """
    covered = and_(RecallBatch.batch_id == EventEpc.batch_id, RecallBatch.recall_id == recall_id)
    aggregates = (
        func.count(func.distinct(EventEpc.batch_id)),
        func.min(Event.event_time),
        func.max(Event.event_time),
    )
    # Grouped by the first destination (short text, cheap to sort); a list naming several
    # destinations (rare) is grouped by the whole list.
    first_destination = Event.document[("destinationList", 0, "destination")].as_string()
    whole_list = case(
        (Event.document[("destinationList", 1)].is_not(None), Event.document["destinationList"]),
        else_=null(),
    )
    shipped = session.execute(
        select(first_destination, whole_list, *aggregates)
        .join(EventEpc, EventEpc.event_pk == Event.id)
        .join(RecallBatch, covered)
        .where(Event.biz_step.in_(sorted(SHIPPING_STEPS)), Event.declares_error.is_(False))
        .group_by(first_destination, whole_list)
    ).all()
    place = func.coalesce(Event.biz_location, Event.read_point)
    received = session.execute(
        select(place, Event.captured_by_organization_id, *aggregates)
        .join(EventEpc, EventEpc.event_pk == Event.id)
        .join(RecallBatch, covered)
        .where(Event.biz_step.in_(sorted(RECEIVING_STEPS)), Event.declares_error.is_(False))
        .group_by(place, Event.captured_by_organization_id)
    ).all()

    def uris(first: str | None, listed: Any) -> list[str]:
        if not listed:
            return [canonical_uri(first)] if first else []
        return [
            canonical_uri(d["destination"])
            for d in listed
            if isinstance(d, dict) and isinstance(d.get("destination"), str)
        ]

    wanted = {u for first, listed, *_ in shipped for u in uris(first, listed)}
    wanted |= {where for where, *_ in received if where}
    resolved = resolve(session, wanted)
    receipts: list[_Receipt] = []
    unresolved: set[str] = set()
    for first_uri, listed, n, first, last in shipped:
        for uri in uris(first_uri, listed):
            found = resolved.get(uri)
            if found is None:
                unresolved.add(uri)
                continue
            if found.facility_id:
                receipts.append(_Receipt("facility", found.facility_id, "shipping", n, first, last))
            if found.organization_id:
                receipts.append(
                    _Receipt("organization", found.organization_id, "shipping", n, first, last)
                )
    for where, recorder, n, first, last in received:
        found = resolved.get(where or "")
        if found is not None and found.facility_id:
            receipts.append(_Receipt("facility", found.facility_id, "receiving", n, first, last))
        receiver = (found.organization_id if found else None) or recorder
        if receiver:
            receipts.append(_Receipt("organization", receiver, "receiving", n, first, last))
    return receipts, sorted(unresolved)


def _summarise(receipts: Iterable[_Receipt], kind: str) -> dict[int, dict[str, Any]]:
    """Per receiver: batches (the most reported by one route: a batch is usually both shipped
    to and received by the same party), routes, first and last time."""
    out: dict[int, dict[str, Any]] = {}
    for r in receipts:
        if r.kind != kind:
            continue
        entry = out.setdefault(r.entity_id, {"routes": {}, "first": r.first, "last": r.last})
        entry["routes"][r.via] = entry["routes"].get(r.via, 0) + r.batches
        entry["first"], entry["last"] = min(entry["first"], r.first), max(entry["last"], r.last)
    for entry in out.values():
        entry["via"] = set(entry["routes"])
        entry["batches"] = max(entry["routes"].values())
    return out


def _scans(session: Session, recall: Recall) -> dict[str, Any]:
    since_recall = func.sum(case((Scan.at >= recall.created_at, 1), else_=0))
    by_batch = (
        select(Scan.province_code, func.count(), since_recall)
        .join(RecallBatch, and_(RecallBatch.batch_id == Scan.batch_id,
                                RecallBatch.recall_id == recall.id))
        .join(Batch, Batch.id == Scan.batch_id)
        .where(Scan.at >= Batch.production_date)
        .group_by(Scan.province_code)
    )  # fmt: skip
    by_code = (
        select(Scan.province_code, func.count(), since_recall)
        .join(Code, Code.id == Scan.code_id)
        .join(RecallBatch, and_(RecallBatch.batch_id == Code.batch_id,
                                RecallBatch.recall_id == recall.id))
        .join(Batch, Batch.id == Code.batch_id)
        .where(Scan.batch_id.is_(None), Scan.at >= Batch.production_date)
        .group_by(Scan.province_code)
    )  # fmt: skip
    provinces: dict[str | None, list[int]] = {}
    for stmt in (by_batch, by_code):
        for province, n, since in session.execute(stmt):
            counts = provinces.setdefault(province, [0, 0])
            counts[0] += n
            counts[1] += int(since or 0)
    rows = [
        {
            "province_code": code,
            "province_name": province_name(code) if code else None,
            "scans": n,
            "since_recall": since,
        }
        for code, (n, since) in sorted(provinces.items(), key=lambda kv: (-kv[1][0], kv[0] or ""))
    ]
    return {
        "total": sum(r["scans"] for r in rows),
        "since_recall": sum(r["since_recall"] for r in rows),
        "by_province": rows,
    }


def impact(
    session: Session, actor: Actor, recall_id: int, limit: int = PAGE, after: int | None = None
) -> Impact:
    """The impact report; its batch list is one page (``limit`` batches after id ``after``),
    every other part covers all the recall's batches."""
    if actor.role is Role.PRODUCER:
        raise Forbidden("A producer token may not read recall impact reports.")
    view = _views(session, [_get(session, recall_id)])[0]
    batches = _batch_rows(session, recall_id, limit, after)
    codes = _codes(session, [row["batch_id"] for row in batches])
    for row in batches:
        counts = codes.get(row["batch_id"], {"issued": 0, "printed": 0, "voided": 0})
        row["codes"] = {**counts, "total": sum(counts.values())}
    totals = {"issued": 0, "printed": 0, "voided": 0}
    for status, n in session.execute(
        select(Code.status, func.count())
        .join(RecallBatch, and_(RecallBatch.batch_id == Code.batch_id,
                                RecallBatch.recall_id == recall_id))
        .group_by(Code.status)
    ):  # fmt: skip
        totals[getattr(status, "value", status)] = n
    by_producer = [
        {"id": org_id, "name": name, "province_code": province, "batches": n}
        for org_id, name, province, n in session.execute(
            select(Organization.id, Organization.name, Organization.province_code, func.count())
            .join(Batch, Batch.producer_id == Organization.id)
            .join(
                RecallBatch,
                and_(RecallBatch.batch_id == Batch.id, RecallBatch.recall_id == recall_id),
            )
            .group_by(Organization.id, Organization.name, Organization.province_code)
            .order_by(func.count().desc(), Organization.id)
        )
    ]
    total = view.direct + view.downstream
    next_after = batches[-1]["batch_id"] if len(batches) == limit and batches else None
    receipts, unresolved = _receipts(session, recall_id)
    org_summary = _summarise(receipts, "organization")
    fac_summary = _summarise(receipts, "facility")
    orgs = {
        o.id: o
        for chunk in _chunks(sorted(org_summary))
        for o in session.scalars(select(Organization).where(Organization.id.in_(chunk)))
    }
    facilities = {
        f.id: f
        for chunk in _chunks(sorted(fac_summary))
        for f in session.scalars(select(Facility).where(Facility.id.in_(chunk)))
    }

    def common(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "batches": entry["batches"],
            "via": sorted(entry["via"]),
            "first_at": entry["first"].isoformat(),
            "last_at": entry["last"].isoformat(),
        }

    organizations = [
        {"id": o.id, "name": o.name, "kind": o.kind.value, "province_code": o.province_code,
         "address": o.address, "phone": o.phone, "email": o.email, **common(org_summary[o.id])}
        for o in sorted(orgs.values(), key=lambda o: o.id)
    ]  # fmt: skip
    places = [
        {"id": f.id, "name": f.name, "kind": f.kind.value, "gln": f.gln,
         "organization_id": f.organization_id, "province_code": f.province_code,
         "address": f.address, **common(fac_summary[f.id])}
        for f in sorted(facilities.values(), key=lambda f: f.id)
    ]  # fmt: skip
    return Impact(
        recall=view,
        batches=batches,
        batches_total=total,
        batches_next_after=next_after,
        producers=by_producer,
        organizations=organizations,
        facilities=places,
        unresolved_destinations=unresolved,
        codes={**totals, "total": sum(totals.values())},
        scans=_scans(session, view.recall),
    )
