"""Server-side console sessions. The cookie carries 256 random bits; the row keeps their
SHA-256, so a leaked table opens no session. A session ends when signed out, after
``idle`` without a request, ``absolute`` after sign-in, or as soon as its user is deactivated;
a user (or an admin) can end all of a user's sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trace.models import User, UserSession
from trace.services import audit
from trace.services.accounts.users import may_manage_user
from trace.services.actors import Actor
from trace.services.errors import NotFound, get_or_404

#: ``last_seen_at`` is written at most this often (a read must not write on every request)
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Lifetimes:
    idle: dt.timedelta
    absolute: dt.timedelta


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def start(session: Session, user: User, lifetimes: Lifetimes) -> tuple[UserSession, str]:
    """A new session for ``user``; returns the row and the cookie's secret (not stored)."""
    secret = secrets.token_urlsafe(32)
    moment = now()
    row = UserSession(
        session_hash=digest(secret),
        user_id=user.id,
        created_at=moment,
        last_seen_at=moment,
        expires_at=moment + lifetimes.absolute,
    )
    user.last_sign_in_at = moment
    session.add(row)
    session.flush()
    return row, secret


def find(session: Session, secret: str, lifetimes: Lifetimes) -> UserSession | None:
    """The live session of this cookie secret, or ``None`` (unknown, ended, idle too long,
    past its absolute expiry, or its user deactivated)."""
    if not secret or len(secret) > 100:
        return None
    row = session.scalar(
        select(UserSession)
        .join(User, User.id == UserSession.user_id)
        .where(
            UserSession.session_hash == digest(secret),
            UserSession.ended_at.is_(None),
            User.active.is_(True),
        )
    )
    if row is None:
        return None
    moment = now()
    if moment >= row.expires_at or moment - row.last_seen_at >= lifetimes.idle:
        return None
    return row


def needs_touch(row: UserSession) -> bool:
    return now() - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(last_seen_at=now())
    )


def end(session: Session, session_id: int) -> None:
    """Sign-out: the session stops working at once, on every node."""
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=now())
    )


def end_all(session: Session, actor: Actor, user_id: int) -> int:
    """End every open session of a user: the user themself, an admin, or a centre for a user
    of its province's organisations. Returns how many were open."""
    user = get_or_404(session, User, user_id)
    if actor.user_id != user.id and not may_manage_user(actor, user):
        raise NotFound(f"There is no user with id {user_id}.")
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now())
    )
    ended = int(getattr(result, "rowcount", 0) or 0)
    audit.record(session, actor, "end_sessions", "user", user.id, after={"ended": ended})
    return ended
