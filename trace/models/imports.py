"""Spreadsheet imports: one row per import committed (or queued to commit), or per preview of a
file too large to check within a request (``dry_run``: it writes nothing but this record).

The uploaded file is kept in ``content`` until the worker has run the import (any node's worker
can read it there), then cleared; its SHA-256 and name stay. The rows' audit entries point here
(``AuditEntry.import_id``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from trace.models.base import Base, str_enum, utcnow


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"


class Import(Base):
    __tablename__ = "data_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, "import_status", length=16), default=ImportStatus.QUEUED
    )
    # Who: the acting token's identity, kept so the worker acts with the same rights.
    created_by: Mapped[str] = mapped_column(String(100))
    created_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    role: Mapped[str] = mapped_column(String(16))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    province_code: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    # A preview: counts and errors say what a commit would do; nothing else is written.
    dry_run: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Counts once run: {"rows", "created", "updated", "unchanged"}; errors when it failed.
    counts: Mapped[dict[str, Any] | None]
    errors: Mapped[dict[str, Any] | None]
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
