"""API tokens: random, shown once, stored as a SHA-256 digest."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.models import ApiToken, Organization, Role, User
from trace.provinces import PROVINCES
from trace.services import audit
from trace.services.actors import Actor
from trace.services.errors import NotFound, invalid

TOKEN_BYTES = 32
TOKEN_PREFIX = "trc_"


def digest(secret: str) -> str:
    # A token carries 256 random bits: a fast hash is enough, no password stretching needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    actor: Actor,
    *,
    role: Role,
    organization_id: int | None = None,
    province_code: str | None = None,
    name: str = "",
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never stored."""
    actor.require(actor.is_admin, "create tokens")
    if role is Role.PRODUCER and organization_id is None:
        raise invalid("/org", "a producer token needs --org, the organisation it acts for")
    if role is Role.CENTRE and province_code is None and organization_id is None:
        raise invalid("/province", "a centre token needs --province or --org")
    if organization_id is not None:
        org = session.get(Organization, organization_id)
        if org is None:
            raise invalid("/org", f"organisation {organization_id} does not exist")
        if role is Role.CENTRE and province_code is None:
            province_code = org.province_code
    if province_code is not None and province_code not in PROVINCES:
        raise invalid("/province", f"{province_code!r} is not a province code in force")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        token_hash=digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        name=name,
        role=role,
        organization_id=organization_id,
        province_code=province_code,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "api_token",
        token.id,
        after={"role": role.value, "organization_id": organization_id, "prefix": token.prefix},
    )
    return token, secret


def authenticate(session: Session, secret: str) -> Actor | None:
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None))
    )
    if token is None:
        return None
    if token.user_id is not None:
        # a personal token acts as its user does now (role, organisation, active or not)
        user = session.get(User, token.user_id)
        if user is None or not user.active:
            return None
        return Actor(
            role=user.role,
            label=f"user:{user.login}"[:100],
            token_id=token.id,
            user_id=user.id,
            organization_id=user.organization_id,
            province_code=user.province_code,
        )
    return Actor(
        role=token.role,
        label=f"token:{token.prefix}",
        token_id=token.id,
        organization_id=token.organization_id,
        province_code=token.province_code,
    )


def create_personal_token(session: Session, actor: Actor, name: str) -> tuple[ApiToken, str]:
    """A signed-in user's own token, scoped like the user; returns the row and the secret
    (shown once, never stored)."""
    if actor.user_id is None:
        raise invalid("/user", "only a signed-in user has personal tokens")
    name = name.strip()[:200]
    if not name:
        raise invalid("/name", "give the token a name to recognise it by")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        token_hash=digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        name=name,
        role=actor.role,
        organization_id=actor.organization_id,
        province_code=actor.province_code,
        user_id=actor.user_id,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "api_token",
        token.id,
        after={"prefix": token.prefix, "name": name},
    )
    return token, secret


def personal_tokens(session: Session, actor: Actor) -> Sequence[ApiToken]:
    """The user's own tokens, newest first (revoked ones too, marked)."""
    if actor.user_id is None:
        return []
    return session.scalars(
        select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id.desc())
    ).all()


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token: its owner, or an admin. Another user's token is "not found" to anyone
    else, so its existence is not revealed."""
    token = session.get(ApiToken, token_id)
    if token is None or not (actor.is_admin or (token.user_id and token.user_id == actor.user_id)):
        raise NotFound(f"There is no token {token_id} of yours.")
    if token.revoked_at is None:
        token.revoked_at = dt.datetime.now(dt.UTC)
        audit.record(
            session, actor, "revoke", "api_token", token.id, after={"prefix": token.prefix}
        )
    return token
