"""Scans of an actor's codes, summed up: per day (Vietnam time), per province, each code's first
and latest scan. A producer sees the scans of its own batches' codes, a centre those of its
province's producers, an inspector or an admin every scan: the same scope as the console's lists
(:mod:`trace.services.registry.overview`) and the copy warnings
(:func:`trace.services.inspection.signals.suspicious_codes`).

Provinces are what clients offered (``?province=``): information, not proof.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session

from trace.models import Batch, Code, Organization, Product, Role, Scan
from trace.provinces import province_name
from trace.services.actors import Actor

VIETNAM = dt.timezone(dt.timedelta(hours=7))
MAX_DAYS = 366
TOP_CODES = 50


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    scans: int
    clients: int


@dataclass(frozen=True)
class ProvinceCount:
    province_code: str | None
    province_name: str | None
    scans: int


@dataclass(frozen=True)
class CodeScans:
    code: str | None
    batch_id: int
    lot_code: str
    product_name: str
    scans: int
    first_at: dt.datetime
    latest_at: dt.datetime


@dataclass(frozen=True)
class ScanSummary:
    since: dt.datetime
    until: dt.datetime
    scans: int
    first_at: dt.datetime | None
    latest_at: dt.datetime | None
    days: list[DayCount]
    provinces: list[ProvinceCount]
    codes: list[CodeScans]


def _in_scope(actor: Actor) -> ColumnElement[bool] | None:
    """The condition on :class:`Batch` that keeps the actor to its own codes (``None``: all)."""
    if actor.role is Role.PRODUCER:
        return Batch.producer_id == (actor.organization_id or -1)
    if actor.role is Role.CENTRE:
        return Batch.producer_id.in_(
            select(Organization.id).where(Organization.province_code == (actor.province_code or ""))
        )
    return None


def _scoped(actor: Actor, stmt: Any, since: dt.datetime, until: dt.datetime) -> Any:
    stmt = stmt.where(Scan.at >= since, Scan.at < until)
    condition = _in_scope(actor)
    if condition is not None:
        stmt = stmt.join(Batch, Batch.id == Scan.batch_id).where(condition)
    return stmt


def vietnam_day(session: Session) -> Any:
    """The scan's calendar day in Vietnam (+07:00 all year), in the database's own terms."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Ho_Chi_Minh", Scan.at))
    return func.date(Scan.at, literal_column("'+7 hours'"))


def summarize(
    session: Session, actor: Actor, *, days: int, now: dt.datetime | None = None
) -> ScanSummary:
    """The actor's scans of the last ``days`` days (1 to :data:`MAX_DAYS`)."""
    days = max(1, min(int(days), MAX_DAYS))
    until = now or dt.datetime.now(dt.UTC)
    today = until.astimezone(VIETNAM).date()
    start_day = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(start_day, dt.time(), VIETNAM).astimezone(dt.UTC)

    total, first_at, latest_at = session.execute(
        _scoped(actor, select(func.count(), func.min(Scan.at), func.max(Scan.at)), since, until)
    ).one()

    day = vietnam_day(session).label("day")
    by_day = {
        as_date(value): (int(scans), int(clients))
        for value, scans, clients in session.execute(
            _scoped(
                actor,
                select(day, func.count(), func.count(func.distinct(Scan.client_hash))),
                since,
                until,
            ).group_by(day)
        )
    }
    day_rows = [
        DayCount(d, *by_day.get(d, (0, 0)))
        for d in (today - dt.timedelta(days=n) for n in range(days))
    ]

    province_rows = [
        ProvinceCount(code, province_name(code) if code else None, int(scans))
        for code, scans in session.execute(
            _scoped(actor, select(Scan.province_code, func.count()), since, until)
            .group_by(Scan.province_code)
            .order_by(func.count().desc(), Scan.province_code)
        )
    ]

    per_code = (
        _scoped(
            actor,
            select(
                Scan.code_id,
                Scan.batch_id,
                func.count().label("scans"),
                func.min(Scan.at).label("first_at"),
                func.max(Scan.at).label("latest_at"),
            ),
            since,
            until,
        )
        .where(Scan.code_id.is_not(None))
        .group_by(Scan.code_id, Scan.batch_id)
        .order_by(func.max(Scan.at).desc(), Scan.code_id)
        .limit(TOP_CODES)
        .subquery()
    )
    code_rows = [
        CodeScans(code, batch_id, lot, product, int(scans), _aware(first), _aware(latest))  # type: ignore[arg-type]
        for code, batch_id, lot, product, scans, first, latest in session.execute(
            select(
                Code.code,
                per_code.c.batch_id,
                Batch.lot_code,
                Product.name_vi,
                per_code.c.scans,
                per_code.c.first_at,
                per_code.c.latest_at,
            )
            .join(Code, Code.id == per_code.c.code_id)
            .join(Batch, Batch.id == Code.batch_id)
            .join(Product, Product.id == Batch.product_id)
            .order_by(per_code.c.latest_at.desc(), per_code.c.code_id)
        )
    ]
    return ScanSummary(
        since=since,
        until=until,
        scans=int(total or 0),
        first_at=_aware(first_at),
        latest_at=_aware(latest_at),
        days=day_rows,
        provinces=province_rows,
        codes=code_rows,
    )


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Aggregates bypass the column type: SQLite gives naive UTC (or text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
