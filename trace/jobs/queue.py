"""Enqueue, claim, renew, finish: the job table's life cycle.

These functions write through the session they are given and never commit: the caller (a
request, a CLI command, the worker loop) is the transaction boundary. :func:`claim` must run in
a writing transaction (``transaction(write=True)``; on SQLite that is the write lock, which
makes claims of concurrent workers take turns).
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from flask import Flask
from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from trace.models import Job, JobStatus

DEFAULT_MAX_ATTEMPTS = 3
MAX_ERROR_CHARS = 4000
# Modules that register job kinds; the worker imports them before it claims anything.
KIND_MODULES = (
    "trace.services.labels.jobs",
    "trace.api.imports.jobs",
    "trace.codeview.store",
    "trace.console.import_preview",  # only the former preview kind, for jobs queued before
    "trace.services.dashboard",
    "trace.services.inspection.export_jobs",
    "trace.services.inspection.ledger_jobs",
)


class PermanentJobError(Exception):
    """Raised by a handler when trying again cannot help (e.g. the print run was voided)."""


class JobInterrupted(Exception):
    """The worker is stopping (SIGTERM): the job goes back to the queue, the attempt uncounted."""


class JobLost(Exception):
    """The worker no longer holds the job's lease (another worker took it over)."""


Handler = Callable[["JobContext"], None]
# (session, actor, job) -> None, raising when the actor may not read the job. The actor is a
# trace.services.actors.Actor: the foundation does not import the services that use it.
Authorizer = Callable[[Session, Any, Job], None]


class Enqueuer(Protocol):
    """Who queues a job (a :class:`trace.services.actors.Actor`): its token is recorded."""

    @property
    def token_id(self) -> int | None: ...


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    authorize: Authorizer | None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    every: Callable[[Flask], float] | None = None  # recurring: seconds between runs


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    authorize: Authorizer | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    every: Callable[[Flask], float] | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for jobs of kind ``name``; ``authorize`` raises when an actor may
    not read such a job (by default, ``None``, only admin may): it should be the rule of the job's
    subject. :func:`trace.services.jobs.get_job` applies it. ``every``: a recurring kind, run
    again that many seconds (from the app's settings) after each run
    (:func:`schedule_recurring`)."""

    def register(handler: Handler) -> Handler:
        _KINDS[name] = JobKind(name, handler, authorize, max_attempts, every)
        return handler

    return register


def load_kinds() -> None:
    for module in KIND_MODULES:
        importlib.import_module(module)


def kind_of(name: str) -> JobKind | None:
    load_kinds()
    return _KINDS.get(name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def results_dir(app: Flask) -> Path:
    """Where result files live: ``JOB_RESULTS_DIR``, default ``<instance>/job-results``.

    On several machines this must be a folder they all mount (the web nodes serve what the
    workers wrote)."""
    configured = app.config.get("JOB_RESULTS_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "job-results"


def enqueue(
    session: Session,
    kind: str,
    params: dict[str, Any],
    *,
    subject: tuple[str, int] | None = None,
    actor: Enqueuer | None = None,
    max_attempts: int | None = None,
    run_after: dt.datetime | None = None,
) -> Job:
    """Queue a job in the caller's transaction; it runs once that transaction commits (and
    ``run_after`` has come, if given)."""
    registered = kind_of(kind)
    if registered is None:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(
        kind=kind,
        params=params,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        max_attempts=max_attempts or registered.max_attempts,
        run_after=_now(),
        created_by_token_id=actor.token_id if actor else None,
    )
    if run_after is not None:
        job.run_after = run_after
    session.add(job)
    session.flush()
    return job


def schedule_recurring(
    session: Session, app: Flask, *, now: dt.datetime | None = None, wait: bool = True
) -> list[Job]:
    """Queue the next run of each recurring kind that has no run queued or running: its
    interval from ``now`` (at once when not ``wait``: a worker starting up). Two workers doing
    this together may queue two runs; each later run queues one only if none is pending, so
    the runs fall back to one chain."""
    now = now or _now()
    queued = []
    for kind in _KINDS.values():
        if kind.every is None:
            continue
        pending = session.scalar(
            select(Job.id)
            .where(Job.kind == kind.name, Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
            .limit(1)
        )
        if pending is None:
            delay = dt.timedelta(seconds=kind.every(app) if wait else 0)
            queued.append(enqueue(session, kind.name, {}, run_after=now + delay))
    return queued


def latest_job(session: Session, kind: str, subject: tuple[str, int]) -> Job | None:
    """The newest job of ``kind`` for ``subject``, if any."""
    return session.scalars(
        select(Job)
        .where(Job.kind == kind, Job.subject_type == subject[0], Job.subject_id == subject[1])
        .order_by(Job.id.desc())
        .limit(1)
    ).first()


def claim(
    session: Session, worker_id: str, lease_seconds: float, *, now: dt.datetime | None = None
) -> Job | None:
    """Take the oldest due job: a queued one whose time has come, or a running one whose
    worker let its lease run out. Returns it marked running under ``worker_id``, or None.

    A job whose lease ran out on its last allowed attempt is marked failed instead.
    """
    now = now or _now()
    due = or_(
        and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
        and_(Job.status == JobStatus.RUNNING, Job.lease_until < now),
    )
    while True:
        job = session.scalars(
            select(Job).where(due).order_by(Job.id).limit(1).with_for_update(skip_locked=True)
        ).first()
        if job is None:
            return None
        if job.status is JobStatus.RUNNING and job.attempts >= job.max_attempts:
            job.status = JobStatus.FAILED
            job.error = (
                f"its worker ({job.locked_by}) stopped without finishing, "
                f"{job.attempts} attempts of {job.max_attempts}"
            )
            job.locked_by, job.lease_until, job.finished_at = None, None, now
            session.flush()
            continue
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.locked_by = worker_id
        job.lease_until = now + dt.timedelta(seconds=lease_seconds)
        job.started_at = now
        session.flush()
        return job


def renew(
    session: Session,
    job_id: int,
    worker_id: str,
    lease_seconds: float,
    *,
    done: int | None = None,
    total: int | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Extend the lease (and record progress); False if ``worker_id`` no longer holds the job."""
    now = now or _now()
    values: dict[str, Any] = {"lease_until": now + dt.timedelta(seconds=lease_seconds)}
    if done is not None:
        values["progress_done"] = done
    if total is not None:
        values["progress_total"] = total
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.status == JobStatus.RUNNING)
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    return bool(cast(CursorResult[Any], result).rowcount)


def _held(session: Session, job_id: int, worker_id: str) -> Job | None:
    job = session.scalars(select(Job).where(Job.id == job_id).with_for_update()).first()
    if job is None or job.locked_by != worker_id or job.status is not JobStatus.RUNNING:
        return None
    return job


def complete(
    session: Session,
    job_id: int,
    worker_id: str,
    *,
    result_file: str | None = None,
    result_size: int | None = None,
    result_type: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Mark the job done with its result; False if the worker had lost it meanwhile."""
    job = _held(session, job_id, worker_id)
    if job is None:
        return False
    job.status = JobStatus.DONE
    job.result_file, job.result_size, job.result_type = result_file, result_size, result_type
    if job.progress_total is not None:
        job.progress_done = job.progress_total
    job.error = None
    job.locked_by, job.lease_until, job.finished_at = None, None, now or _now()
    session.flush()
    return True


def fail(
    session: Session,
    job_id: int,
    worker_id: str,
    error: str,
    *,
    retry_seconds: float,
    permanent: bool = False,
    now: dt.datetime | None = None,
) -> JobStatus | None:
    """Record a failed attempt: queued again after a growing delay while attempts remain,
    failed for good otherwise. Returns the new status (None if the job was lost meanwhile)."""
    now = now or _now()
    job = _held(session, job_id, worker_id)
    if job is None:
        return None
    job.error = error[:MAX_ERROR_CHARS]
    job.locked_by, job.lease_until = None, None
    if permanent or job.attempts >= job.max_attempts:
        job.status, job.finished_at = JobStatus.FAILED, now
    else:
        delay = retry_seconds * 2 ** (job.attempts - 1)
        job.status, job.run_after = JobStatus.QUEUED, now + dt.timedelta(seconds=delay)
    session.flush()
    return job.status


def release(session: Session, job_id: int, worker_id: str) -> bool:
    """Give the job back to the queue without counting the attempt (the worker is stopping)."""
    job = _held(session, job_id, worker_id)
    if job is None:
        return False
    job.status, job.attempts = JobStatus.QUEUED, max(0, job.attempts - 1)
    job.locked_by, job.lease_until, job.run_after = None, None, _now()
    session.flush()
    return True


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class JobContext:
    """What a handler gets: its job's parameters, a session to read with, progress reporting,
    and a result file to write. A handler that writes does so in
    ``trace.db.transaction(write=True, bind=ctx.session)``: it is never committed for it."""

    job_id: int
    kind: str
    params: dict[str, Any]
    attempt: int
    session: Session
    app: Flask
    report: Callable[[int, int | None], None]
    result_dir: Path
    result: tuple[Path, str] | None = field(default=None, init=False)

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress; raises :class:`JobInterrupted` when the worker is stopping and
        :class:`JobLost` when another worker took the job over."""
        self.report(done, total)

    @contextmanager
    def result_file(self, suffix: str, content_type: str) -> Iterator[BinaryIO]:
        """A file to write the result to; kept as the job's result when the handler succeeds."""
        self.result_dir.mkdir(parents=True, exist_ok=True)
        name = f"job-{self.job_id}-{secrets.token_hex(8)}{suffix}"
        path = self.result_dir / name
        try:
            with path.open("xb") as handle:
                yield handle
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.result = (path, content_type)
