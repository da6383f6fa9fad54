"""Background jobs: work that outlives a request, kept in the application database.

Any node's worker claims a queued job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock
on SQLite), holds it under a lease it renews while working, and records the outcome here. A job
whose worker died is claimed again once its lease has run out.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trace.models.base import Base, str_enum, utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_status_run_after", "status", "run_after"),
        Index("ix_job_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]]
    status: Mapped[JobStatus] = mapped_column(
        str_enum(JobStatus, "job_status", length=16), default=JobStatus.QUEUED
    )
    # What the job works for (e.g. print_run 7): who may see the job is who may see it.
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[dt.datetime | None]
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    # A result file, relative to the configured results folder every node can read.
    result_file: Mapped[str | None] = mapped_column(String(200))
    result_size: Mapped[int | None]
    result_type: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    created_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
