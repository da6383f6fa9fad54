"""What QR labels carry: batch and unit codes, and the print runs that made them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace.models.base import Base, str_enum, utcnow
from trace.models.registry import Batch


class CodeKind(enum.StrEnum):
    BATCH = "batch"
    UNIT = "unit"


class CodeStatus(enum.StrEnum):
    ISSUED = "issued"
    PRINTED = "printed"
    VOIDED = "voided"


class PrintRun(Base):
    __tablename__ = "print_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    template: Mapped[str] = mapped_column(String(40))
    layout: Mapped[dict[str, Any]]
    count: Mapped[int]
    serialised: Mapped[bool]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    voided_at: Mapped[dt.datetime | None]

    batch: Mapped[Batch] = relationship()


class Code(Base):
    """A code printed in a QR label. Never deleted, never reused; voided when withdrawn."""

    __tablename__ = "code"
    __table_args__ = (Index("ix_code_print_run_position", "print_run_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[CodeKind] = mapped_column(str_enum(CodeKind, "code_kind", length=16))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    print_run_id: Mapped[int | None] = mapped_column(ForeignKey("print_run.id"))
    position: Mapped[int | None]
    status: Mapped[CodeStatus] = mapped_column(
        str_enum(CodeStatus, "code_status", length=16), default=CodeStatus.ISSUED
    )
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[dt.datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(300))
    # A unit code's copy warning counts only scans after this (trace.services.inspection.signals).
    copy_warning_cleared_at: Mapped[dt.datetime | None]
    copy_warning_clear_reason: Mapped[str | None] = mapped_column(String(500))

    batch: Mapped[Batch] = relationship()
    print_run: Mapped[PrintRun | None] = relationship()
