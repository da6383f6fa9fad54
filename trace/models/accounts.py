"""People who sign in to the console: users, their server-side sessions, one-time links
(invitations and password resets) and the counters that slow down password guessing.

Secrets are never stored: a session id, an invitation link and a client address are kept as
SHA-256 digests (they carry enough randomness, or are looked up by exact value); a password as
an argon2id hash.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace.models.auth import Role
from trace.models.base import Base, str_enum, utcnow
from trace.models.registry import Organization


class User(Base):
    """A person with one role in one organisation (a centre user: in one province)."""

    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role", length=16))
    province_code: Mapped[str | None] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(200), default="")
    #: lower-cased
    email: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: digits only, national form (0…)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    #: argon2id; empty until the person sets a password from an invitation
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[dt.datetime | None]

    organization: Mapped[Organization | None] = relationship()

    @property
    def login(self) -> str:
        return self.email or self.phone or ""


class UserSession(Base):
    """A console session: the cookie carries a random id, the row its SHA-256."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user_open", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class LinkPurpose(enum.StrEnum):
    INVITATION = "invitation"
    RESET = "reset"


class OneTimeLink(Base):
    """An invitation to join an organisation with a role, or a password reset: used once."""

    __tablename__ = "one_time_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[LinkPurpose] = mapped_column(str_enum(LinkPurpose, "link_purpose", length=16))
    #: the person invited (created with the invitation, no password yet) or resetting
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class SignInThrottle(Base):
    """Failed sign-ins of one account or one client (key: SHA-256 of what is counted)."""

    __tablename__ = "sign_in_throttle"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_failure_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[dt.datetime | None]
