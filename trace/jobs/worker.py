"""The worker loop: claim a job, run its handler, record the outcome; sleep briefly when idle.

The worker is the transaction boundary of job work: a claim, each lease renewal and the outcome
are short transactions of their own, so a long job never holds a lock. Stopping (SIGTERM, or
:meth:`Worker.stop`) interrupts the running job at its next progress report and puts it back in
the queue, so a restart picks it up again; nothing half-written stays behind.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from trace import collector
from trace.db import db, transaction
from trace.jobs import queue
from trace.jobs.queue import JobContext, JobInterrupted, JobLost, PermanentJobError

log = logging.getLogger(__name__)
RENEW_EVERY_SECONDS = 1.0  # progress and lease are written at most this often


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    params: dict[str, Any]
    attempt: int


def start_worker(app: Flask) -> Worker:
    """The worker of this process, started: its job kinds loaded, then everything alive at that
    point frozen out of the garbage collector's full collections (:mod:`trace.collector`)."""
    worker = Worker(app)
    collector.freeze_startup_objects()
    return worker


class Worker:
    """One worker: ``run()`` processes jobs until stopped (or, in burst mode, until none is due)."""

    def __init__(self, app: Flask, *, worker_id: str | None = None) -> None:
        self.app = app
        self.worker_id = worker_id or queue.new_worker_id()
        self.lease_seconds = float(app.config["JOB_LEASE_SECONDS"])
        self.poll_seconds = float(app.config["JOB_POLL_SECONDS"])
        self.retry_seconds = float(app.config["JOB_RETRY_SECONDS"])
        self._stopping = threading.Event()
        queue.load_kinds()

    def stop(self) -> None:
        """Ask the loop to end; a running job is interrupted and queued again."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self, *, burst: bool = False, once: bool = False) -> int:
        """Process jobs; returns how many were processed. ``burst``: stop when none is due;
        ``once``: after one job (or none due)."""
        processed = 0
        if not (burst or once):  # a serving worker keeps the recurring jobs going
            self._record(queue.schedule_recurring, self.app, wait=False)
        while not self.stopping:
            claimed = self._claim()
            if claimed is None:
                if burst or once:
                    break
                self._stopping.wait(self.poll_seconds)
                continue
            self._process(claimed)
            kind = queue.kind_of(claimed.kind)
            if kind is not None and kind.every is not None:
                self._record(queue.schedule_recurring, self.app)
            processed += 1
            if once:
                break
        return processed

    def _session(self) -> Session:
        return db.new_session(self.app)

    def _claim(self) -> _Claimed | None:
        with self._session() as own, transaction(write=True, bind=own) as session:
            job = queue.claim(session, self.worker_id, self.lease_seconds)
            claimed = _Claimed(job.id, job.kind, dict(job.params), job.attempts) if job else None
        if claimed:
            log.info("job %s (%s) claimed, attempt %s", claimed.id, claimed.kind, claimed.attempt)
        return claimed

    def _record(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        with self._session() as own, transaction(write=True, bind=own) as session:
            return action(session, *args, **kwargs)

    def _process(self, claimed: _Claimed) -> None:
        kind = queue.kind_of(claimed.kind)
        if kind is None:
            self._record(queue.fail, claimed.id, self.worker_id,
                         f"unknown job kind {claimed.kind!r}", retry_seconds=0,
                         permanent=True)  # fmt: skip
            return
        last = 0.0

        def report(done: int, total: int | None) -> None:
            nonlocal last
            if self.stopping:
                raise JobInterrupted
            now = time.monotonic()
            if now - last < RENEW_EVERY_SECONDS:
                return
            last = now
            held = self._record(queue.renew, claimed.id, self.worker_id, self.lease_seconds,
                                done=done, total=total)  # fmt: skip
            if not held:
                raise JobLost

        with self.app.app_context():
            ctx = JobContext(
                job_id=claimed.id,
                kind=claimed.kind,
                params=claimed.params,
                attempt=claimed.attempt,
                session=db.session,
                app=self.app,
                report=report,
                result_dir=queue.results_dir(self.app),
            )
            try:
                kind.handler(ctx)
                ctx.session.rollback()  # handlers read; a writing one uses a transaction()
            except JobInterrupted:
                ctx.session.rollback()
                self._record(queue.release, claimed.id, self.worker_id)
                log.info("job %s interrupted: queued again", claimed.id)
                return
            except JobLost:
                ctx.session.rollback()
                log.warning("job %s was taken over by another worker", claimed.id)
                return
            except Exception as error:
                ctx.session.rollback()
                permanent = isinstance(error, PermanentJobError)
                text = str(error) if permanent else _describe(error)
                status = self._record(queue.fail, claimed.id, self.worker_id, text,
                                      retry_seconds=self.retry_seconds,
                                      permanent=permanent)  # fmt: skip
                log.warning("job %s failed (%s): %s", claimed.id, status, text,
                            exc_info=not permanent)  # fmt: skip
                return
        self._finish(claimed, ctx)

    def _finish(self, claimed: _Claimed, ctx: JobContext) -> None:
        path, content_type = ctx.result if ctx.result else (None, None)
        done = self._record(
            queue.complete,
            claimed.id,
            self.worker_id,
            result_file=path.name if path else None,
            result_size=path.stat().st_size if path else None,
            result_type=content_type,
        )
        if not done and path is not None:
            path.unlink(missing_ok=True)  # another worker owns the job now: its result counts
        log.info("job %s %s", claimed.id, "done" if done else "lost before it was recorded")


def _describe(error: BaseException) -> str:
    """The error's type and the first line of its message, at most 200 characters, for the
    job's record, which the job's reader sees through the API and the console. The traceback
    (file paths, source lines, perhaps a statement's parameters) goes to the worker's log only."""
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    return f"{type(error).__name__}: {first}"[:200] if first else type(error).__name__
