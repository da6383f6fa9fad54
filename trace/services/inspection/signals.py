"""Consumer signals: reports from the public page, and unit codes scanned suspiciously.

A unit code names one physical item, so in a short time it should be scanned by few clients and
in one place. A code is listed when, within the window, it was scanned by at least
``min_clients`` distinct clients, or in two places too far apart to travel between: provinces
whose administrative centres lie at least ``min_km`` apart, or scan coordinates that far apart.
Each listed code comes with its evidence: counts, first and last scan, provinces, the pair of
scans that are too far apart for the time between them. Scans from before a code's copy warning
was cleared (:func:`clear_copy_warning`) are not evidence any more. The provinces are the ones
clients offered (``?province=``): evidence to weigh, not proof.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from trace.models import Batch, Code, CodeKind, Organization, Report, Role, Scan
from trace.provinces import province_name
from trace.services import audit, lookup
from trace.services.actors import Actor
from trace.services.errors import Conflict, NotFound
from trace.services.pagination import paginate

#: Approximate coordinates (lat, lon) of each province's administrative centre (2025 units).
PROVINCE_CENTRES: dict[str, tuple[float, float]] = {
    "01": (21.028, 105.854), "04": (22.666, 106.258), "08": (21.823, 105.214),
    "11": (21.386, 103.023), "12": (22.396, 103.458), "14": (21.327, 103.914),
    "15": (21.705, 104.875), "19": (21.594, 105.848), "20": (21.853, 106.761),
    "22": (20.951, 107.080), "24": (21.273, 106.194), "25": (21.323, 105.402),
    "31": (20.845, 106.688), "33": (20.646, 106.051), "37": (20.251, 105.975),
    "38": (19.807, 105.776), "40": (18.679, 105.681), "42": (18.343, 105.906),
    "44": (17.468, 106.623), "46": (16.463, 107.591), "48": (16.054, 108.202),
    "51": (15.120, 108.792), "52": (13.776, 109.224), "56": (12.238, 109.196),
    "66": (12.667, 108.038), "68": (11.940, 108.458), "75": (10.945, 106.824),
    "79": (10.776, 106.701), "80": (10.535, 106.413), "82": (10.360, 106.365),
    "86": (10.254, 105.972), "91": (10.386, 105.435), "92": (10.045, 105.747),
    "96": (9.177, 105.150),
}  # fmt: skip


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Reports ---------------------------------------------------------------------------------


def report_province() -> Any:
    """The province of a report's batch's producer, as a correlated subquery: evaluated per
    report by primary key (reports are few; a join would hash every batch of the province)."""
    return (
        select(Organization.province_code)
        .join(Batch, Batch.producer_id == Organization.id)
        .where(Batch.id == Report.batch_id)
        .correlate(Report)
        .scalar_subquery()
    )


def reports_in_scope(actor: Actor, stmt: Select[Any]) -> Select[Any]:
    """``stmt`` (over :class:`Report`) kept to the actor's reports: a centre those about its
    province's batches, a producer those about its own, an inspector or an admin all."""
    if actor.role is Role.CENTRE:
        return stmt.where(report_province() == (actor.province_code or "--"))
    if actor.role is Role.PRODUCER:
        mine = select(Batch.id).where(Batch.producer_id == actor.organization_id)
        return stmt.where(Report.batch_id.in_(mine))
    return stmt


def list_reports(
    session: Session, actor: Actor, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Report], str | None]:
    stmt = reports_in_scope(actor, select(Report))
    for key, column in (("status", Report.status), ("batch", Report.batch_id),
                        ("kind", Report.kind)):  # fmt: skip
        if key in filters:
            stmt = stmt.where(column == filters[key])
    if "from" in filters:
        stmt = stmt.where(Report.at >= filters["from"])
    if "to" in filters:
        stmt = stmt.where(Report.at < filters["to"])
    return paginate(session, stmt, Report.id, limit, cursor)


def resolve_report(session: Session, actor: Actor, report_id: int, resolution: str) -> Report:
    actor.require(actor.role in {Role.ADMIN, Role.INSPECTOR, Role.CENTRE}, "resolve reports")
    report: Report | None = session.scalars(
        reports_in_scope(actor, select(Report).where(Report.id == report_id))
    ).first()
    if report is None:
        if session.get(Report, report_id) is None:
            raise NotFound(f"There is no report with id {report_id}.")
        actor.require(False, "resolve reports about batches of another province")
        raise AssertionError  # pragma: no cover
    if report.status == "resolved":
        raise Conflict(f"Report {report_id} is already resolved.")
    before = audit.snapshot(report)
    report.status = "resolved"
    report.resolution = resolution
    report.resolved_at = _now()
    report.resolved_by_token_id = actor.token_id
    report.resolved_by_user_id = actor.user_id
    session.flush()
    audit.record(session, actor, "resolve", "report", report.id, before=before,
                 after=audit.snapshot(report))  # fmt: skip
    return report


# Copy warnings --------------------------------------------------------------------------


def clear_copy_warning(session: Session, actor: Actor, code_text: str, reason: str) -> Code:
    """Clear a unit code's copy warning with a reason (audited). Only scans after this moment
    count towards the warning from now on, so it comes back only on new evidence. A centre
    clears the codes of its province's producers; an inspector or an admin any code."""
    actor.require(actor.role in {Role.ADMIN, Role.INSPECTOR, Role.CENTRE}, "clear copy warnings")
    try:
        normal = lookup.normalized(code_text)
    except lookup.LookupError_:
        raise NotFound(
            f"{code_text!r} is not a valid code: check it for typing mistakes."
        ) from None
    code = session.scalar(select(Code).where(Code.code == normal))
    if code is None:
        raise NotFound(f"There is no code {normal}.")
    return clear_code_warning(session, actor, code, reason)


def clear_code_warning(session: Session, actor: Actor, code: Code, reason: str) -> Code:
    """:func:`clear_copy_warning` of a code already found (the console finds it by its id)."""
    actor.require(actor.role in {Role.ADMIN, Role.INSPECTOR, Role.CENTRE}, "clear copy warnings")
    if code.kind is not CodeKind.UNIT:
        raise Conflict("Only unit codes carry a copy warning; this is a batch-level code.")
    if actor.role is Role.CENTRE:
        province = session.scalar(
            select(Organization.province_code)
            .join(Batch, Batch.producer_id == Organization.id)
            .where(Batch.id == code.batch_id)
        )
        actor.require(province == actor.province_code,
                      "clear copy warnings of another province's codes")  # fmt: skip
    before = audit.snapshot(code)
    code.copy_warning_cleared_at = _now()
    code.copy_warning_clear_reason = reason
    session.flush()
    audit.record(session, actor, "clear_copy_warning", "code", code.id, before=before,
                 after=audit.snapshot(code))  # fmt: skip
    return code


# Suspicious codes ----------------------------------------------------------------------


@dataclass
class Suspicion:
    code: Code
    batch_id: int
    scans: int
    clients: int
    first_at: dt.datetime
    last_at: dt.datetime
    provinces: list[dict[str, Any]]
    reasons: list[str] = field(default_factory=list)
    far_apart: dict[str, Any] | None = None


def _place(
    province: str | None, lat: float | None, lon: float | None
) -> tuple[float, float] | None:
    if lat is not None and lon is not None:
        return (float(lat), float(lon))
    return PROVINCE_CENTRES.get(province or "")


def _after_clear() -> Any:
    """Scans after the code's copy warning was last cleared: a cleared code is listed again only
    on new evidence."""
    return or_(Code.copy_warning_cleared_at.is_(None), Scan.at > Code.copy_warning_cleared_at)


def suspicious_codes(
    session: Session,
    actor: Actor,
    *,
    since: dt.datetime,
    until: dt.datetime,
    window: dt.timedelta,
    min_clients: int,
    min_km: float,
    limit: int,
) -> list[Suspicion]:
    """Unit codes with a suspicious pattern of scans between ``since`` and ``until``."""
    stmt = (
        select(Scan.code_id, func.count(func.distinct(Scan.client_hash)),
               func.count(func.distinct(Scan.province_code)),
               func.count(func.distinct(Scan.latitude)))
        .join(Code, Code.id == Scan.code_id)
        .where(Code.kind == CodeKind.UNIT, Scan.at >= since, Scan.at < until, _after_clear())
        .group_by(Scan.code_id)
    )  # fmt: skip
    if actor.role is Role.CENTRE:
        stmt = stmt.join(Batch, Batch.id == Code.batch_id).where(
            Batch.producer_id.in_(
                select(Organization.id).where(Organization.province_code == actor.province_code)
            )
        )
    elif actor.role is Role.PRODUCER:
        stmt = stmt.join(Batch, Batch.id == Code.batch_id).where(
            Batch.producer_id == actor.organization_id
        )
    candidates = [
        code_id
        for code_id, clients, provinces, points in session.execute(stmt)
        if clients >= min_clients or provinces >= 2 or points >= 2
    ]
    found: list[Suspicion] = []
    for code_id in candidates:
        scans = session.execute(
            select(Scan.at, Scan.client_hash, Scan.province_code, Scan.latitude, Scan.longitude)
            .join(Code, Code.id == Scan.code_id)
            .where(Scan.code_id == code_id, Scan.at >= since, Scan.at < until, _after_clear())
            .order_by(Scan.at)
        ).all()
        suspicion = _judge(scans, window, min_clients, min_km)
        if suspicion is None:
            continue
        code = session.get(Code, code_id)
        assert code is not None
        suspicion.code, suspicion.batch_id = code, code.batch_id
        found.append(suspicion)
    found.sort(key=lambda s: (-len(s.reasons), -s.clients, -s.scans, s.code.id))
    return found[:limit]


def _judge(
    scans: Sequence[Any], window: dt.timedelta, min_clients: int, min_km: float
) -> Suspicion | None:
    reasons: list[str] = []
    # Most distinct clients within any window (two pointers over the time-ordered scans).
    best_clients, start = 0, 0
    for end in range(len(scans)):
        while scans[end].at - scans[start].at > window:
            start += 1
        best_clients = max(best_clients, len({s.client_hash for s in scans[start : end + 1]}))
    if best_clients >= min_clients:
        reasons.append(f"{best_clients} distinct clients within {_hours(window)}")
    far: dict[str, Any] | None = None
    located = [
        (s, p) for s in scans if (p := _place(s.province_code, s.latitude, s.longitude)) is not None
    ]
    for i, (a, pa) in enumerate(located):
        for b, pb in located[i + 1 :]:
            if b.at - a.at > window:
                break
            km = distance_km(pa, pb)
            if km >= min_km and (far is None or km > far["km"]):
                far = {
                    "km": round(km, 1),
                    "hours": round((b.at - a.at).total_seconds() / 3600, 2),
                    "from": {"at": a.at.isoformat(), "province_code": a.province_code},
                    "to": {"at": b.at.isoformat(), "province_code": b.province_code},
                }
    if far is not None:
        reasons.append(f"scanned {far['km']} km apart within {far['hours']} h")
    if not reasons:
        return None
    provinces: dict[str | None, int] = {}
    for s in scans:
        provinces[s.province_code] = provinces.get(s.province_code, 0) + 1
    return Suspicion(
        code=None,  # type: ignore[arg-type]  # filled in by the caller
        batch_id=0,
        scans=len(scans),
        clients=len({s.client_hash for s in scans}),
        first_at=scans[0].at,
        last_at=scans[-1].at,
        provinces=[
            {"province_code": p, "province_name": province_name(p) if p else None, "scans": n}
            for p, n in sorted(provinces.items(), key=lambda kv: (-kv[1], kv[0] or ""))
        ],
        reasons=reasons,
        far_apart=far,
    )


def _hours(window: dt.timedelta) -> str:
    return f"{window.total_seconds() / 3600:g} h"
