"""API tokens: random, shown once, stored as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.models import ApiToken, Organization, Role
from trace.provinces import PROVINCES
from trace.services import audit
from trace.services.actors import Actor
from trace.services.errors import invalid

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
    return Actor(
        role=token.role,
        label=f"token:{token.prefix}",
        token_id=token.id,
        organization_id=token.organization_id,
        province_code=token.province_code,
    )
