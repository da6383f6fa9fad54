"""People across provinces, for the administrator: filter by province, organisation, role,
active or not and last sign-in; one person's sessions and API tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trace.models import ApiToken, Organization, Role, User, UserSession
from trace.services.actors import Actor
from trace.services.admin import require_admin
from trace.services.errors import get_or_404

#: ``signed_in`` filter values: within the last N days, or not within them, or never
RECENT_DAYS = 30


@dataclass(frozen=True)
class UserFilters:
    q: str = ""
    province_code: str | None = None
    organization_id: int | None = None
    role: Role | None = None
    active: bool | None = None
    #: "recent" (within RECENT_DAYS), "stale" (not within them, but once), "never"
    signed_in: str | None = None


@dataclass(frozen=True)
class Person:
    user: User
    open_sessions: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def list_users(
    session: Session, actor: Actor, filters: UserFilters, limit: int, after_id: int | None
) -> tuple[list[Person], int | None]:
    """A page of people by id, and the id to continue after (``None`` at the end)."""
    require_admin(actor)
    stmt = select(User).order_by(User.id)
    if filters.q:
        needle = filters.q.strip().lower()
        stmt = stmt.where(
            User.name.ilike(f"%{needle}%")
            | User.email.contains(needle)
            | User.phone.contains(needle)
        )
    if filters.province_code:
        in_province = select(Organization.id).where(
            Organization.province_code == filters.province_code
        )
        stmt = stmt.where(
            User.organization_id.in_(in_province) | (User.province_code == filters.province_code)
        )
    if filters.organization_id is not None:
        stmt = stmt.where(User.organization_id == filters.organization_id)
    if filters.role is not None:
        stmt = stmt.where(User.role == filters.role)
    if filters.active is not None:
        stmt = stmt.where(User.active.is_(filters.active))
    since = _now() - dt.timedelta(days=RECENT_DAYS)
    if filters.signed_in == "recent":
        stmt = stmt.where(User.last_sign_in_at >= since)
    elif filters.signed_in == "stale":
        stmt = stmt.where(User.last_sign_in_at < since)
    elif filters.signed_in == "never":
        stmt = stmt.where(User.last_sign_in_at.is_(None))
    if after_id is not None:
        stmt = stmt.where(User.id > after_id)
    rows = list(session.scalars(stmt.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    counts = open_sessions(session, [u.id for u in rows])
    people = [Person(u, counts.get(u.id, 0)) for u in rows]
    return people, (rows[-1].id if more and rows else None)


def open_sessions(session: Session, user_ids: Sequence[int]) -> dict[int, int]:
    """How many live (not ended, not expired) sessions each user has."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(UserSession.user_id, func.count())
        .where(
            UserSession.user_id.in_(user_ids),
            UserSession.ended_at.is_(None),
            UserSession.expires_at > _now(),
        )
        .group_by(UserSession.user_id)
    )
    return {user_id: int(count) for user_id, count in rows}


def get_user(session: Session, actor: Actor, user_id: int) -> Person:
    require_admin(actor)
    user = get_or_404(session, User, user_id)
    return Person(user, open_sessions(session, [user.id]).get(user.id, 0))


def user_tokens(session: Session, actor: Actor, user_id: int) -> Sequence[ApiToken]:
    """The person's personal API tokens, newest first (revoked ones too)."""
    require_admin(actor)
    return session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    ).all()


def organizations(session: Session, actor: Actor, province_code: str | None) -> list[Organization]:
    """Organisations to filter by (of a province when one is chosen), by name."""
    require_admin(actor)
    stmt = select(Organization).order_by(Organization.name).limit(500)
    if province_code:
        stmt = stmt.where(Organization.province_code == province_code)
    return list(session.scalars(stmt))
