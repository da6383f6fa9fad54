"""The province dashboard: its figures counted by a recurring job into small rollup tables
(:mod:`trace.models.dashboard`), and read back for a centre (its province) or an inspector or an
administrator (one province, or all of them).

The job (:data:`JOB_KIND`, every ``DASHBOARD_ROLLUP_SECONDS``) runs a few grouped queries over
the whole database — organisations, products, batches by status, the events of this week (Vietnam
time, from Monday), the scans of the last :data:`DAYS` days by day and by the province the
scanning client offered, open reports, codes the copy warning flags (kept with their evidence in
``flagged_code``, the console's list) — and rewrites the rollups in one short transaction. The
page then reads at most 35 + 35 × 30 + 35 × 34 small rows by primary key. What it counts belongs
to the province of the producer that owns it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from trace.db import transaction
from trace.jobs import JobContext, job_kind
from trace.models import (
    Batch,
    BatchStatus,
    Event,
    EventEpc,
    FlaggedCode,
    Organization,
    OrganizationKind,
    Product,
    ProvinceFigures,
    ProvinceScanDay,
    ProvinceScanPlace,
    Report,
    Role,
    Scan,
)
from trace.provinces import PROVINCES, VIETNAM
from trace.services.actors import SYSTEM, Actor
from trace.services.errors import Forbidden
from trace.services.inspection import signals
from trace.services.scan_summary import as_date, vietnam_day

log = logging.getLogger(__name__)

JOB_KIND = "dashboard_rollup"
DAYS = 30
NO_PROVINCE = ""
#: what a figure counts, in the order the page shows them
FIGURES = (
    "producers",
    "cooperatives",
    "products",
    "active_batches",
    "recalled_batches",
    "events_week",
    "scans_30d",
    "open_reports",
    "flagged_codes",
)


@dataclass(frozen=True)
class Settings:
    """The copy warning's settings (the same as the console's list of flagged codes)."""

    window: dt.timedelta
    min_clients: int
    min_km: float

    @classmethod
    def of(cls, config: Any) -> Settings:
        return cls(
            window=dt.timedelta(hours=float(config["SUSPICIOUS_WINDOW_HOURS"])),
            min_clients=int(config["SUSPICIOUS_MIN_CLIENTS"]),
            min_km=float(config["SUSPICIOUS_MIN_KM"]),
        )


def week_start(now: dt.datetime) -> dt.datetime:
    """Monday 00:00 of ``now``'s week in Vietnam, as UTC."""
    today = now.astimezone(VIETNAM).date()
    monday = today - dt.timedelta(days=today.weekday())
    return dt.datetime.combine(monday, dt.time(), VIETNAM).astimezone(dt.UTC)


def scans_since(now: dt.datetime) -> dt.datetime:
    """The start of the first of the last :data:`DAYS` days (Vietnam time), as UTC."""
    first = now.astimezone(VIETNAM).date() - dt.timedelta(days=DAYS - 1)
    return dt.datetime.combine(first, dt.time(), VIETNAM).astimezone(dt.UTC)


# Counting ---------------------------------------------------------------------------------


@dataclass
class Counted:
    figures: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    days: dict[tuple[str, dt.date], int] = field(default_factory=dict)
    places: dict[tuple[str, str], int] = field(default_factory=dict)
    flagged: list[tuple[str, signals.Suspicion]] = field(default_factory=list)


def _put(counted: Counted, name: str, rows: Iterable[Any]) -> None:
    for province, value in rows:
        mine = counted.figures[province or NO_PROVINCE]
        mine[name] = mine.get(name, 0) + int(value)


def count(session: Session, now: dt.datetime, settings: Settings) -> Counted:
    """Every figure of every province, read from the live tables."""
    counted = Counted()
    province = Organization.province_code
    for kind, name in ((OrganizationKind.PRODUCER, "producers"),
                       (OrganizationKind.COOPERATIVE, "cooperatives")):  # fmt: skip
        _put(counted, name, session.execute(
            select(province, func.count())
            .where(Organization.kind == kind, Organization.archived_at.is_(None))
            .group_by(province)))  # fmt: skip
    _put(counted, "products", session.execute(
        select(province, func.count()).select_from(Product)
        .join(Organization, Organization.id == Product.organization_id)
        .where(Product.archived_at.is_(None)).group_by(province)))  # fmt: skip
    for status, name in ((BatchStatus.ACTIVE, "active_batches"),
                         (BatchStatus.RECALLED, "recalled_batches")):  # fmt: skip
        _put(counted, name, session.execute(
            select(province, func.count()).select_from(Batch)
            .join(Organization, Organization.id == Batch.producer_id)
            .where(Batch.status == status).group_by(province)))  # fmt: skip
    _put(counted, "events_week", session.execute(
        select(province, func.count(func.distinct(EventEpc.event_pk))).select_from(EventEpc)
        .join(Batch, Batch.id == EventEpc.batch_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .where(EventEpc.event_time >= week_start(now), EventEpc.event_time < now)
        .group_by(province)))  # fmt: skip
    _put(counted, "open_reports", session.execute(
        select(province, func.count()).select_from(Report)
        .outerjoin(Batch, Batch.id == Report.batch_id)
        .outerjoin(Organization, Organization.id == Batch.producer_id)
        .where(Report.status == "open").group_by(province)))  # fmt: skip

    since = scans_since(now)
    scanned = (
        select(Scan).join(Batch, Batch.id == Scan.batch_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .where(Scan.at >= since, Scan.at < now)
    )  # fmt: skip
    day = vietnam_day(session).label("day")
    for owner, on, scans in session.execute(
        scanned.with_only_columns(province, day, func.count()).group_by(province, day)
    ):
        counted.days[(owner, as_date(on))] = int(scans)
        mine = counted.figures[owner]
        mine["scans_30d"] = mine.get("scans_30d", 0) + int(scans)
    for owner, place, scans in session.execute(
        scanned.with_only_columns(province, Scan.province_code, func.count())
        .where(Scan.province_code.is_not(None))
        .group_by(province, Scan.province_code)
    ):
        counted.places[(owner, place or "")] = int(scans)

    flagged = signals.suspicious_codes(
        session, SYSTEM, since=since, until=now, window=settings.window,
        min_clients=settings.min_clients, min_km=settings.min_km, limit=10**9,
    )  # fmt: skip
    batch_ids = sorted({s.batch_id for s in flagged})
    owners = {
        batch_id: owner
        for batch_id, owner in session.execute(
            select(Batch.id, province)
            .join(Organization, Organization.id == Batch.producer_id)
            .where(Batch.id.in_(batch_ids))
        )
    }
    for suspicion in flagged:
        owner = owners.get(suspicion.batch_id) or NO_PROVINCE
        mine = counted.figures[owner]
        mine["flagged_codes"] = mine.get("flagged_codes", 0) + 1
        counted.flagged.append((owner, suspicion))
    return counted


def store(session: Session, counted: Counted, now: dt.datetime) -> None:
    """Replace the rollups with ``counted``: a row of figures for every province (zeros where
    nothing was counted) and for :data:`NO_PROVINCE`."""
    for table in (ProvinceFigures, ProvinceScanDay, ProvinceScanPlace, FlaggedCode):
        session.execute(delete(table))
    for code in sorted({*PROVINCES, NO_PROVINCE, *counted.figures}):
        values = counted.figures.get(code, {})
        session.add(ProvinceFigures(province_code=code, as_of=now,
                                    **{name: values.get(name, 0) for name in FIGURES}))  # fmt: skip
    session.add_all(
        ProvinceScanDay(province_code=code, day=day, scans=n)
        for (code, day), n in counted.days.items()
    )
    session.add_all(
        ProvinceScanPlace(province_code=code, place_code=place, scans=n)
        for (code, place), n in counted.places.items()
    )
    session.add_all(
        FlaggedCode(code_id=s.code.id, province_code=code, batch_id=s.batch_id, as_of=now,
                    scans=s.scans, clients=s.clients, first_at=s.first_at, last_at=s.last_at,
                    reasons=s.reasons, provinces=s.provinces)
        for code, s in counted.flagged
    )  # fmt: skip
    session.flush()


def refresh(session: Session, settings: Settings, now: dt.datetime | None = None) -> None:
    """Count (in a reading transaction) and store (in a short writing one)."""
    now = now or dt.datetime.now(dt.UTC)
    with transaction(write=False, bind=session):
        counted = count(session, now, settings)
    with transaction(write=True, bind=session):
        store(session, counted, now)


def _every(app: Flask) -> float:
    return float(app.config["DASHBOARD_ROLLUP_SECONDS"])


@job_kind(JOB_KIND, every=_every, max_attempts=1)
def rollup(ctx: JobContext) -> None:
    """The recurring job: one refresh of the dashboard's rollups."""
    refresh(ctx.session, Settings.of(ctx.app.config))
    log.info("dashboard rollups refreshed")


# Reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayScans:
    day: dt.date
    scans: int


@dataclass(frozen=True)
class PlaceScans:
    code: str
    name: str
    scans: int


@dataclass(frozen=True)
class Dashboard:
    province_code: str | None  # None: every province
    as_of: dt.datetime | None  # None: the job has not run yet
    figures: dict[str, int]
    days: list[DayScans]
    places: list[PlaceScans]

    @property
    def busiest_day(self) -> int:
        return max((d.scans for d in self.days), default=0)

    @property
    def busiest_place(self) -> int:
        return max((p.scans for p in self.places), default=0)

    @property
    def unknown_place(self) -> int:
        """Scans of the period whose client offered no province."""
        return max(0, self.figures.get("scans_30d", 0) - sum(p.scans for p in self.places))


def province_for(actor: Actor, asked: str | None) -> str | None:
    """The province whose dashboard the actor sees: a centre its own whatever it asks; an
    inspector or an administrator the one asked (``None``: all). Others may not."""
    if actor.role is Role.CENTRE:
        return actor.province_code or "--"
    if actor.role in (Role.INSPECTOR, Role.ADMIN):
        return asked if asked in PROVINCES else None
    raise Forbidden("Only a centre, an inspector or an administrator has a province dashboard.")


def read(session: Session, actor: Actor, asked: str | None = None) -> Dashboard:
    """The dashboard of the actor's province (:func:`province_for`), from the rollups."""
    code = province_for(actor, asked)
    figures_q = select(ProvinceFigures)
    days_q = select(ProvinceScanDay.day, func.sum(ProvinceScanDay.scans)).group_by(
        ProvinceScanDay.day
    )
    places_q = select(ProvinceScanPlace.place_code, func.sum(ProvinceScanPlace.scans)).group_by(
        ProvinceScanPlace.place_code
    )
    if code is not None:
        figures_q = figures_q.where(ProvinceFigures.province_code == code)
        days_q = days_q.where(ProvinceScanDay.province_code == code)
        places_q = places_q.where(ProvinceScanPlace.province_code == code)
    rows = session.scalars(figures_q).all()
    as_of = min((r.as_of for r in rows), default=None)
    figures = {name: sum(getattr(r, name) for r in rows) for name in FIGURES}
    by_day = {as_date(d): int(n) for d, n in session.execute(days_q)}
    days: list[DayScans] = []
    if as_of is not None:
        last = as_of.astimezone(VIETNAM).date()
        days = [
            DayScans(day, by_day.get(day, 0))
            for day in (last - dt.timedelta(days=n) for n in range(DAYS - 1, -1, -1))
        ]
    by_place = {place: int(n) for place, n in session.execute(places_q)}
    places = sorted(
        (PlaceScans(place, name, by_place.get(place, 0)) for place, name in PROVINCES.items()),
        key=lambda p: (-p.scans, p.code),
    )
    return Dashboard(code, as_of, figures, days, places)


@dataclass(frozen=True)
class WeekEvent:
    event_id: int
    event_time: dt.datetime
    event_type: str
    biz_step: str | None
    batch_id: int
    lot_code: str
    product_name: str


def week_events(
    session: Session, actor: Actor, asked: str | None, limit: int, page: int,
    now: dt.datetime | None = None,
) -> tuple[list[WeekEvent], bool]:  # fmt: skip
    """The events behind the "events this week" figure, newest first (one page, from 1), each
    with one of the province's batches it names; and whether another page follows. Walks the
    events by time (``ix_event_event_time``) until a page of the province's is found."""
    code = province_for(actor, asked)
    now = now or dt.datetime.now(dt.UTC)
    named = (
        select(func.min(EventEpc.batch_id))
        .where(EventEpc.event_pk == Event.id, EventEpc.batch_id.is_not(None))
        .correlate(Event)
    )
    if code is not None:
        named = named.join(Batch, Batch.id == EventEpc.batch_id).where(
            Batch.producer_id.in_(select(Organization.id).where(Organization.province_code == code))
        )
    batch_of = named.scalar_subquery()
    rows = session.execute(
        select(Event.id, Event.event_time, Event.event_type, Event.biz_step, batch_of)
        .where(Event.event_time >= week_start(now), Event.event_time < now,
               batch_of.is_not(None))
        .order_by(Event.event_time.desc(), Event.id.desc())
        .offset((max(page, 1) - 1) * limit)
        .limit(limit + 1)
    ).all()  # fmt: skip
    batches = {
        batch_id: (lot, product)
        for batch_id, lot, product in session.execute(
            select(Batch.id, Batch.lot_code, Product.name_vi)
            .join(Product, Product.id == Batch.product_id)
            .where(Batch.id.in_({r[4] for r in rows}))
        )
    }
    return [
        WeekEvent(event_id, at, kind, step, batch_id, *batches[batch_id])
        for event_id, at, kind, step, batch_id in rows[:limit]
    ], len(rows) > limit
