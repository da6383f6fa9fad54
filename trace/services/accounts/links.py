"""One-time links: an invitation to join an organisation with a role, or a password reset.

The link carries 256 random bits; the row keeps their SHA-256. A link is valid for
``LINK_LIFETIME`` (72 hours), once: setting the password uses it up. A new reset link for a
person replaces any they had not used. Inviting creates the account without a password, so it
cannot sign in until the invited person sets one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trace.models import LinkPurpose, OneTimeLink, Organization, Role, User, UserSession
from trace.services import audit
from trace.services.accounts import passwords, users
from trace.services.actors import Actor
from trace.services.errors import NotFound, get_or_404, invalid

LINK_LIFETIME = dt.timedelta(hours=72)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _issue(
    session: Session, actor: Actor, user: User, purpose: LinkPurpose
) -> tuple[OneTimeLink, str]:
    secret = secrets.token_urlsafe(32)
    moment = now()
    link = OneTimeLink(
        token_hash=digest(secret),
        purpose=purpose,
        user_id=user.id,
        created_by_user_id=actor.user_id,
        created_at=moment,
        expires_at=moment + LINK_LIFETIME,
    )
    session.add(link)
    session.flush()
    audit.record(
        session,
        actor,
        purpose.value,
        "user",
        user.id,
        after={"link_id": link.id, "expires_at": link.expires_at.isoformat()},
    )
    return link, secret


def invite(
    session: Session,
    actor: Actor,
    *,
    role: Role,
    organization_id: int | None,
    email: str | None = None,
    phone: str | None = None,
    name: str = "",
    language: str = "vi",
) -> tuple[User, str]:
    """Create the invited person's account (no password yet) and their invitation link's
    secret. Who may invite whom is :func:`users.create_user`'s rule: an admin anyone, a centre
    officer producers and centre officers of its own province's organisations."""
    if actor.role not in (Role.ADMIN, Role.CENTRE):
        actor.require(False, "invite people")
    user = users.create_user(
        session,
        actor,
        role=role,
        email=email,
        phone=phone,
        organization_id=organization_id,
        name=name,
        language=language,
    )
    _, secret = _issue(session, actor, user, LinkPurpose.INVITATION)
    return user, secret


def issue_reset(session: Session, actor: Actor, user_id: int) -> tuple[User, str]:
    """A password reset link for a person (replacing any unused one of theirs)."""
    user = get_or_404(session, User, user_id)
    if not users.may_manage_user(actor, user):
        raise NotFound(f"There is no user with id {user_id}.")
    session.execute(
        update(OneTimeLink)
        .where(OneTimeLink.user_id == user.id, OneTimeLink.used_at.is_(None))
        .values(used_at=now())
    )
    _, secret = _issue(session, actor, user, LinkPurpose.RESET)
    return user, secret


def find(session: Session, secret: str) -> OneTimeLink | None:
    """The link of this secret while it can be used: not used, not expired, its user active."""
    if not secret or len(secret) > 100:
        return None
    link = session.scalar(select(OneTimeLink).where(OneTimeLink.token_hash == digest(secret)))
    if link is None or link.used_at is not None or now() >= link.expires_at:
        return None
    return link if link.user.active else None


def use(session: Session, secret: str, password: str, cost: passwords.Cost) -> User:
    """Set the person's password through the link, which is then used up; their other
    sessions end (a reset is often because someone else knew the old password)."""
    link = find(session, secret)
    if link is None:
        raise NotFound("This link is not valid any more.")
    problem = passwords.problem(password)
    if problem:
        raise invalid("/password", problem)
    claimed = session.execute(
        update(OneTimeLink)
        .where(OneTimeLink.id == link.id, OneTimeLink.used_at.is_(None))
        .values(used_at=now())
    )
    if not getattr(claimed, "rowcount", 0):  # used at the same moment by another request
        raise NotFound("This link is not valid any more.")
    user = link.user
    user.password_hash = passwords.hash_password(password, cost)
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now())
    )
    audit.record(
        session,
        users.actor_for(user),
        "set_password",
        "user",
        user.id,
        after={"link_id": link.id, "purpose": link.purpose.value},
    )
    return user


def manageable_users(
    session: Session, actor: Actor, q: str, limit: int, after_id: int | None
) -> Sequence[User]:
    """The people an actor manages, by id, optionally matching ``q`` in name, email or phone."""
    stmt = select(User).order_by(User.id)
    if actor.role is Role.CENTRE:
        in_province = select(Organization.id).where(
            Organization.province_code == actor.province_code
        )
        stmt = stmt.where(
            User.role.in_((Role.PRODUCER, Role.CENTRE)),
            User.organization_id.in_(in_province)
            | ((User.role == Role.CENTRE) & (User.province_code == actor.province_code)),
        )
    elif not actor.is_admin:
        return []
    if q:
        needle = q.strip().lower()
        stmt = stmt.where(
            User.name.ilike(f"%{needle}%")
            | User.email.contains(needle)
            | User.phone.contains(needle)
        )
    if after_id is not None:
        stmt = stmt.where(User.id > after_id)
    return session.scalars(stmt.limit(limit)).all()


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate (its sessions and personal tokens stop at once) or reactivate a person."""
    user = get_or_404(session, User, user_id)
    if not users.may_manage_user(actor, user) or user.id == actor.user_id:
        raise NotFound(f"There is no user with id {user_id} you may change.")
    if user.active != active:
        before = {"active": user.active}
        user.active = active
        audit.record(
            session, actor, "update", "user", user.id, before=before, after={"active": active}
        )
    return user
