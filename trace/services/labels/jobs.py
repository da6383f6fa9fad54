"""The background job that renders a print run's label sheets into a PDF file."""

from __future__ import annotations

from sqlalchemy.orm import Session

from trace.jobs import JobContext, PermanentJobError, job_kind
from trace.models import Job
from trace.services.actors import Actor
from trace.services.errors import NotFound
from trace.services.labels import issuance


def _authorize(session: Session, actor: Actor, job: Job) -> None:
    """Who may download the run's sheets may follow their rendering."""
    issuance.require_printer(actor, issuance.get_print_run(session, int(job.subject_id or 0)))


@job_kind(issuance.RENDER_JOB, authorize=_authorize)
def render_print_run(ctx: JobContext) -> None:
    try:
        run = issuance.get_print_run(ctx.session, int(ctx.params["print_run_id"]))
    except NotFound as error:
        raise PermanentJobError(error.detail) from None
    if run.voided_at is not None:
        raise PermanentJobError(f"Print run {run.id} is voided: its labels are not printed.")
    total = run.count
    ctx.progress(0, total)
    with ctx.result_file(".pdf", "application/pdf") as out:
        issuance.render_print_run(
            ctx.session,
            run,
            str(ctx.app.config["PUBLIC_URL"]),
            out,
            progress=lambda written: ctx.progress(written, total),
        )
