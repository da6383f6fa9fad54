"""Codes flagged as possible copies, on the console: the list (what the dashboard's job found
with :func:`signals.suspicious_codes` over its 30 days, kept in ``flagged_code``: a live search
costs a query per candidate code, seconds for a province's thousands), the scans behind one code,
and clearing its copy warning with a reason (:func:`signals.clear_code_warning`, audited).

A centre sees the codes of its province's producers, an inspector or an administrator every code;
another province's code is not found. Scans are shown with their time, the province the client
offered and the first characters of the client's salted hash: never an address.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from trace.models import (
    Batch,
    Code,
    CodeKind,
    FlaggedCode,
    Organization,
    Product,
    ProvinceFigures,
    Role,
    Scan,
)
from trace.services import dashboard
from trace.services.actors import Actor
from trace.services.errors import NotFound
from trace.services.inspection import signals

HANDLERS = frozenset({Role.ADMIN, Role.INSPECTOR, Role.CENTRE})
SCANS_SHOWN = 200
CLIENT_CHARS = 8
PAGE = 50


def require_handler(actor: Actor) -> None:
    actor.require(actor.role in HANDLERS, "handle copy warnings")


@dataclass(frozen=True)
class Flagged:
    """The flagged codes of the last count, as of its time (``None``: not counted yet)."""

    as_of: dt.datetime | None
    codes: list[tuple[FlaggedCode, str]]  # each with its code's text
    more: bool


def flagged(session: Session, actor: Actor, asked: str | None = None, page: int = 1) -> Flagged:
    """The actor's flagged unit codes at the last count of the dashboard's job (a centre its
    province's, an inspector or admin the province ``asked`` or all), most clients first; a
    code whose warning was cleared since that count is left out. One page (from 1) of
    :data:`PAGE` codes."""
    require_handler(actor)
    province = dashboard.province_for(actor, asked)
    stmt = (
        select(FlaggedCode, Code.code)
        .join(Code, Code.id == FlaggedCode.code_id)
        .where(or_(Code.copy_warning_cleared_at.is_(None),
                   Code.copy_warning_cleared_at < FlaggedCode.as_of))
        .order_by(FlaggedCode.clients.desc(), FlaggedCode.scans.desc(), FlaggedCode.code_id)
        .offset((max(page, 1) - 1) * PAGE)
        .limit(PAGE + 1)
    )  # fmt: skip
    if province is not None:
        stmt = stmt.where(FlaggedCode.province_code == province)
    rows = [(row, text) for row, text in session.execute(stmt)]
    as_of = session.scalar(select(func.min(ProvinceFigures.as_of)))
    return Flagged(as_of, rows[:PAGE], len(rows) > PAGE)


@dataclass(frozen=True)
class ScanLine:
    at: dt.datetime
    province_code: str | None
    client: str  # the first characters of the salted hash
    before_clear: bool  # no longer evidence: the warning was cleared after it


@dataclass(frozen=True)
class FlagDetail:
    code: Code
    batch_id: int
    lot_code: str
    product_name: str
    producer_name: str
    province_code: str
    scans: list[ScanLine]
    more: bool


def detail(session: Session, actor: Actor, code_id: int) -> FlagDetail:
    """A unit code of the actor's scope with its latest scans (another province's: not found)."""
    require_handler(actor)
    stmt = (
        select(Code, Batch.lot_code, Product.name_vi, Organization.name, Organization.province_code)
        .join(Batch, Batch.id == Code.batch_id)
        .join(Product, Product.id == Batch.product_id)
        .join(Organization, Organization.id == Batch.producer_id)
        .where(Code.id == code_id, Code.kind == CodeKind.UNIT)
    )
    if actor.role is Role.CENTRE:
        stmt = stmt.where(Organization.province_code == (actor.province_code or "--"))
    found = session.execute(stmt).first()
    if found is None:
        raise NotFound(f"There is no unit code with id {code_id}.")
    code, lot_code, product_name, producer_name, province_code = found
    cleared = code.copy_warning_cleared_at
    rows = session.execute(
        select(Scan.at, Scan.province_code, Scan.client_hash)
        .where(Scan.code_id == code.id)
        .order_by(Scan.at.desc(), Scan.id.desc())
        .limit(SCANS_SHOWN + 1)
    ).all()
    scans = [
        ScanLine(at, place, client[:CLIENT_CHARS], cleared is not None and _aware(at) <= cleared)
        for at, place, client in rows[:SCANS_SHOWN]
    ]
    return FlagDetail(code, code.batch_id, lot_code, product_name, producer_name, province_code,
                      scans, len(rows) > SCANS_SHOWN)  # fmt: skip


def clear(session: Session, actor: Actor, code_id: int, reason: str) -> Code:
    """Clear the code's copy warning with a reason (the API's service, audited)."""
    found = detail(session, actor, code_id)
    return signals.clear_code_warning(session, actor, found.code, reason)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
