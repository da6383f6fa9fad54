"""The system's status for the administrator: one line per part, each OK or a warning with
what was found. Every figure is cheap to read (a few indexed queries, one ``statvfs``)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from trace.migrate import alembic_config
from trace.models import Job, JobStatus, LedgerCheckpoint, LedgerHead
from trace.services.actors import Actor
from trace.services.admin import require_admin

LEDGER_CHECK_JOB = "ledger_check"
QUEUE_WAIT_WARNING = dt.timedelta(minutes=5)
FAILED_JOBS_SINCE = dt.timedelta(hours=24)
LEDGER_CHECK_STALE = dt.timedelta(minutes=15)
CHECKPOINT_STALE = dt.timedelta(hours=24)
DISK_FREE_FRACTION = 0.10
DISK_FREE_BYTES = 1024**3


@dataclass(frozen=True)
class LiveHealth:
    """What a process's live public state says of itself (PostgreSQL only)."""

    listening: bool
    unwritten: int
    dropped: int


@dataclass(frozen=True)
class Line:
    key: str
    ok: bool
    facts: dict[str, Any] = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def report(
    session: Session,
    actor: Actor,
    *,
    instance_path: str,
    live_wanted: bool,
    live: LiveHealth | None,
) -> list[Line]:
    """Every line of the status page. ``live_wanted``: the public live state should run in
    this process (PostgreSQL or a SQLite file, with ``PUBLIC_LIVE``); ``live``: what it says,
    if it runs here."""
    require_admin(actor)
    now = _now()
    return [
        database(session),
        migrations(session),
        *ledger(session, now),
        live_line(live_wanted, live),
        *jobs(session, now),
        disk(instance_path),
    ]


def database(session: Session) -> Line:
    bind = session.get_bind()
    name = bind.dialect.name
    if name == "postgresql":
        version = str(session.scalar(text("SHOW server_version")))
        size = int(session.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    else:
        version = sqlite3.sqlite_version
        pages = int(session.scalar(text("PRAGMA page_count")) or 0)
        size = pages * int(session.scalar(text("PRAGMA page_size")) or 0)
    return Line("database", True, {"engine": name, "version": version, "size": size})


def migrations(session: Session) -> Line:
    bind = session.get_bind()
    head = ScriptDirectory.from_config(alembic_config(bind.engine)).get_current_head()
    current = None
    if inspect(session.connection()).has_table("alembic_version"):
        current = session.scalar(text("SELECT version_num FROM alembic_version"))
    return Line("migrations", current == head, {"current": current, "head": head})


def ledger(session: Session, now: dt.datetime) -> list[Line]:
    head = session.scalars(select(LedgerHead).limit(1)).first()
    checkpoint = session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc()).limit(1)
    ).first()
    seq = head.seq if head is not None else 0
    head_line = Line(
        "ledger",
        True,
        {
            "seq": seq,
            "hash": head.chain_hash if head is not None else None,
            "at": head.updated_at if head is not None else None,
        },
    )
    if checkpoint is None:
        return [head_line, Line("checkpoint", seq == 0, {"seq": None, "behind": seq})]
    behind = seq - checkpoint.seq
    ok = behind == 0 or now - checkpoint.at < CHECKPOINT_STALE
    facts = {"seq": checkpoint.seq, "at": checkpoint.at, "key": checkpoint.key_id,
             "behind": behind}  # fmt: skip
    return [head_line, Line("checkpoint", ok, facts)]


def live_line(wanted: bool, live: LiveHealth | None) -> Line:
    if not wanted:
        return Line("live", True, {"used": False})
    if live is None:
        return Line("live", False, {"used": True, "running": False})
    return Line(
        "live",
        live.listening and live.dropped == 0,
        {"used": True, "running": True, "listening": live.listening,
         "unwritten": live.unwritten, "dropped": live.dropped},
    )  # fmt: skip


def jobs(session: Session, now: dt.datetime) -> list[Line]:
    counts = dict(
        session.execute(
            select(Job.status, func.count())
            .where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
            .group_by(Job.status)
        ).all()
    )
    failed = int(
        session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.status == JobStatus.FAILED, Job.finished_at >= now - FAILED_JOBS_SINCE)
        )
        or 0
    )
    oldest = session.scalar(
        select(func.min(Job.run_after)).where(Job.status == JobStatus.QUEUED, Job.run_after <= now)
    )
    waited = now - oldest if oldest is not None else None
    queue_line = Line(
        "jobs",
        failed == 0 and (waited is None or waited < QUEUE_WAIT_WARNING),
        {"queued": int(counts.get(JobStatus.QUEUED, 0)),
         "running": int(counts.get(JobStatus.RUNNING, 0)),
         "failed": failed, "oldest_wait": waited},
    )  # fmt: skip
    last = session.scalars(
        select(Job)
        .where(Job.kind == LEDGER_CHECK_JOB, Job.finished_at.is_not(None))
        .order_by(Job.finished_at.desc())
        .limit(1)
    ).first()
    if last is None:
        return [queue_line, Line("ledger_check", False, {"at": None})]
    fresh = last.finished_at is not None and now - last.finished_at < LEDGER_CHECK_STALE
    return [
        queue_line,
        Line(
            "ledger_check",
            fresh and last.status is JobStatus.DONE,
            {"at": last.finished_at, "status": last.status.value, "error": last.error},
        ),
    ]


def disk(instance_path: str) -> Line:
    folder = Path(instance_path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    ok = usage.free >= DISK_FREE_BYTES and usage.free >= usage.total * DISK_FREE_FRACTION
    return Line("disk", ok, {"free": usage.free, "total": usage.total, "path": str(folder)})
