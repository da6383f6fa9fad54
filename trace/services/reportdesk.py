"""Consumers' reports on the console: listed open first, read one, assign it to a person who
handles reports, resolve it with a note. Each change is audited.

A report belongs to the province of the producer of its batch (:func:`signals.reports_in_scope`,
the API's rule): a centre handles its province's, an inspector or an administrator every one
(reports about codes that are not registered have no province: only they see those). A report
is handled by an active centre officer of its province or an inspector.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, or_, select
from sqlalchemy.orm import Session

from trace.models import Batch, Code, Organization, Product, Report, Role, User
from trace.services import audit
from trace.services.actors import Actor
from trace.services.errors import NotFound, invalid
from trace.services.inspection import signals

STATUSES = ("open", "resolved")
HANDLERS = frozenset({Role.ADMIN, Role.INSPECTOR, Role.CENTRE})


def require_handler(actor: Actor) -> None:
    actor.require(actor.role in HANDLERS, "handle consumers' reports")


@dataclass(frozen=True)
class ReportRow:
    report: Report
    lot_code: str | None
    product_name: str | None
    producer_name: str | None
    province_code: str | None
    code: str | None
    assignee: User | None


def _rows(session: Session, stmt: Select[Any]) -> list[ReportRow]:
    query = (
        stmt.add_columns(Batch.lot_code, Product.name_vi, Organization.name,
                         Organization.province_code, Code.code, User)
        .outerjoin(Batch, Batch.id == Report.batch_id)
        .outerjoin(Product, Product.id == Batch.product_id)
        .outerjoin(Organization, Organization.id == Batch.producer_id)
        .outerjoin(Code, Code.id == Report.code_id)
        .outerjoin(User, User.id == Report.assignee_id)
    )  # fmt: skip
    return [ReportRow(*row) for row in session.execute(query)]


def list_reports(
    session: Session, actor: Actor, filters: Mapping[str, Any], limit: int, page: int
) -> tuple[list[ReportRow], bool]:
    """One page (from 1) of the actor's reports, open ones first, newest first; and whether
    another page follows. ``filters``: ``status`` (open/resolved), ``kind``, ``assignee``
    (``me``, ``none`` or a user id), ``province`` (inspectors and admins)."""
    require_handler(actor)
    stmt = signals.reports_in_scope(actor, select(Report.id))
    if filters.get("status") in STATUSES:
        stmt = stmt.where(Report.status == filters["status"])
    if filters.get("kind"):
        stmt = stmt.where(Report.kind == filters["kind"])
    assignee = filters.get("assignee")
    if assignee == "me":
        stmt = stmt.where(Report.assignee_id == (actor.user_id or -1))
    elif assignee == "none":
        stmt = stmt.where(Report.assignee_id.is_(None))
    if filters.get("province") and actor.role is not Role.CENTRE:
        stmt = stmt.where(signals.report_province() == filters["province"])
    ids = list(
        session.scalars(
            stmt.order_by(case((Report.status == "open", 0), else_=1), Report.id.desc())
            .offset((max(1, page) - 1) * limit)
            .limit(limit + 1)
        )
    )
    found = {r.report.id: r for r in _rows(session, select(Report).where(Report.id.in_(ids)))}
    rows = [found[i] for i in ids]
    return rows[:limit], len(rows) > limit


def get_report(session: Session, actor: Actor, report_id: int) -> ReportRow:
    """One of the actor's reports (another province's is not found, as one that does not
    exist: its existence is not theirs to learn)."""
    require_handler(actor)
    rows = _rows(session, signals.reports_in_scope(actor, select(Report)).where(
        Report.id == report_id))  # fmt: skip
    if not rows:
        raise NotFound(f"There is no report with id {report_id}.")
    return rows[0]


def handlers(session: Session, province_code: str | None) -> Sequence[User]:
    """Who may be given a report of this province: its active centre officers, and inspectors."""
    # a report without a province is for inspectors only
    centre = (
        (User.role == Role.CENTRE) & (User.province_code == province_code)
        if province_code
        else User.id.is_(None)
    )
    return session.scalars(
        select(User)
        .where(User.active.is_(True), or_(centre, User.role == Role.INSPECTOR))
        .order_by(User.role, User.name, User.email, User.id)
    ).all()


def assign(session: Session, actor: Actor, report_id: int, assignee_id: int | None) -> Report:
    """Give the report to a handler (``None``: to nobody), audited."""
    row = get_report(session, actor, report_id)
    report = row.report
    if assignee_id is not None and assignee_id not in {
        u.id for u in handlers(session, row.province_code)
    }:
        raise invalid("/assignee_id", "not a person who handles this report")
    if report.assignee_id == assignee_id:
        return report
    before = audit.snapshot(report)
    report.assignee_id = assignee_id
    report.assigned_at = dt.datetime.now(dt.UTC) if assignee_id is not None else None
    session.flush()
    audit.record(session, actor, "assign", "report", report.id, before=before,
                 after=audit.snapshot(report))  # fmt: skip
    return report


def resolve(session: Session, actor: Actor, report_id: int, resolution: str) -> Report:
    """Resolve with a note (the API's service, which audits it)."""
    get_report(session, actor, report_id)
    return signals.resolve_report(session, actor, report_id, resolution)
