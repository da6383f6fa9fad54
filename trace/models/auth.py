"""API tokens (stored hashed) and the audit trail of every write."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace.models.base import Base, str_enum, utcnow
from trace.models.registry import Organization


class Role(enum.StrEnum):
    ADMIN = "admin"
    CENTRE = "centre"
    PRODUCER = "producer"
    INSPECTOR = "inspector"


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once, at creation."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(str_enum(Role, "role", length=16))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    province_code: Mapped[str | None] = mapped_column(String(2))
    #: a personal token acts for this console user (and stops with the user's deactivation)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]

    organization: Mapped[Organization | None] = relationship()


class AuditEntry(Base):
    """Who changed what, when, through which token or user, with the state before and after."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_entity", "entity_type", "entity_id"),
        # The admin's audit log: newest first (by id) within one user, organisation or action.
        Index("ix_audit_entry_user_keyset", "user_id", "id"),
        Index("ix_audit_entry_org_keyset", "actor_organization_id", "id"),
        Index("ix_audit_entry_action_keyset", "action", "id"),
        Index("ix_audit_entry_at_keyset", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    #: the console user who acted (through a session or a personal token)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor: Mapped[str] = mapped_column(String(100))
    actor_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    # The spreadsheet import that made this change, if one did.
    import_id: Mapped[int | None] = mapped_column(ForeignKey("data_import.id"), index=True)
