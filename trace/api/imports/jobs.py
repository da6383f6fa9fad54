"""The background job that commits a submitted import, all or nothing."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace import collector
from trace.api.imports import engine
from trace.db import transaction
from trace.jobs import JobContext, JobInterrupted, JobLost, PermanentJobError, job_kind
from trace.models import Import, ImportStatus, Job
from trace.services.actors import Actor

log = logging.getLogger(__name__)
UNEXPECTED = "an unexpected error"


def _authorize(session: Session, actor: Actor, job: Job) -> None:
    engine.get_import(session, actor, int(job.subject_id or 0))


@job_kind(engine.JOB_KIND, authorize=_authorize)
def run_import(ctx: JobContext) -> None:
    """Preview or commit a submitted import, with fewer young collections while it runs
    (:data:`trace.collector.IMPORT_YOUNG_THRESHOLD`)."""
    with collector.young_threshold(collector.IMPORT_YOUNG_THRESHOLD):
        _run_import(ctx)


def _run_import(ctx: JobContext) -> None:
    import_id = int(ctx.params["import_id"])
    record = ctx.session.get(Import, import_id)
    if record is None or record.status is not ImportStatus.QUEUED:
        raise PermanentJobError(f"Import {import_id} is not waiting to run.")
    total = int((record.counts or {}).get("rows", 0))
    ctx.progress(0, total)
    # SQLite: the import holds the write lock, so progress (a write) waits until it is over.
    sqlite = ctx.session.get_bind().dialect.name == "sqlite"
    public_url = str(ctx.app.config["PUBLIC_URL"])
    if record.dry_run:
        _preview(ctx, import_id, public_url, None if sqlite else ctx.progress)
        return
    try:
        with transaction(write=True, bind=ctx.session) as session:
            record = _locked(session, import_id)
            engine.execute(session, record, public_url, None if sqlite else ctx.progress)
    except engine.ImportRejected as rejected:
        with transaction(write=True, bind=ctx.session) as session:
            record = session.get(Import, import_id)
            if record is not None:
                engine.reject(session, record, rejected.report, str(rejected))
        raise PermanentJobError(f"Import {import_id}: {rejected}") from None


def _preview(ctx: JobContext, import_id: int, public_url: str,
             progress: engine.Progress | None) -> None:  # fmt: skip
    """A preview run as a job (the API's large ``?dry_run=true``, every console upload). An
    unexpected failure is recorded as a plain sentence (the log has the detail): trying again
    would only fail again, and the uploader is waiting for an answer."""
    try:
        with transaction(write=True, bind=ctx.session) as session:
            record = _locked(session, import_id)
            report = engine.preview(session, engine.actor_of(record), record.kind,
                                    record.file_name, record.content or b"", public_url,
                                    progress)  # fmt: skip
            engine.finish_preview(session, record, report)
    except (JobInterrupted, JobLost, PermanentJobError):
        raise
    except Exception as error:
        log.exception("import preview %s failed", import_id)
        with transaction(write=True, bind=ctx.session) as session:
            failed = session.get(Import, import_id)
            if failed is not None:
                engine.reject(session, failed, None, UNEXPECTED)
        raise PermanentJobError(UNEXPECTED) from error


def _locked(session: Session, import_id: int) -> Import:
    """The import, locked: a second worker that took the job over (a lease run out during a
    long import) waits here, then finds it done."""
    record = session.scalars(select(Import).where(Import.id == import_id).with_for_update()).first()
    if record is None or record.status is not ImportStatus.QUEUED:
        raise PermanentJobError(f"Import {import_id} is not waiting to run.")
    return record
