"""The import upload page (issue 14's engine, :mod:`trace.api.imports`): choose the kind,
download its templates, upload a file, see the preview as a table (counts, and every error as
row, column and message in the page's language), commit it as a background job whose page
refreshes itself, and see the organisation's (a centre: the province's) past imports.

The preview is the engine's own preview job (``engine.submit(..., dry_run=True)``, as the API's
``?dry_run=true``): a large file takes longer than a request may. The console keeps a copy of
the file for the commit (:mod:`trace.console.import_preview`). Who may import what is the
engine's rule, the API's: a producer its own batches and events, a centre within its province,
never an inspector.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, request, url_for
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from trace.api.imports import columns, engine, reading, templates
from trace.console import auth, import_preview
from trace.console.forms import FormState
from trace.console.import_words import say
from trace.console.pages import render
from trace.db import db, transaction
from trace.models import Import, ImportStatus, Job, JobStatus, Role
from trace.services import import_history
from trace.services.errors import Forbidden, NotFound, ServiceError
from trace.services.jobs import get_job

HISTORY_PER_PAGE = 20
ERRORS_SHOWN = 200
REFRESH_SECONDS = 2
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BUSY = (JobStatus.QUEUED, JobStatus.RUNNING)
#: The preview job's parameter naming the import its commit made (committing again goes there).
COMMITTED = "committed_import_id"


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/imports", "imports", imports_page, methods=["GET"])
    bp.add_url_rule("/imports", "import_upload", upload, methods=["POST"])
    bp.add_url_rule("/imports/templates/<kind>.<fmt>", "import_template", template,
                    methods=["GET"])  # fmt: skip
    bp.add_url_rule("/imports/previews/<int:job_id>", "import_preview", preview_page,
                    methods=["GET"])  # fmt: skip
    bp.add_url_rule("/imports/previews/<int:job_id>/commit", "import_commit", commit,
                    methods=["POST"])  # fmt: skip
    bp.add_url_rule("/imports/<int:import_id>", "import_page", import_page, methods=["GET"])


def _may_import() -> None:
    if auth.current_actor().role is Role.INSPECTOR:
        raise Forbidden("An inspector does not import.")


def kind_names() -> dict[str, str]:
    return {
        "organizations": gettext("Organisations"),
        "facilities": gettext("Facilities"),
        "products": gettext("Products"),
        "batches": gettext("Batches"),
        "events": gettext("Stage events"),
    }


def _kinds_for(role: Role) -> list[str]:
    """What the role may import (a producer: its batches and their events)."""
    if role is Role.PRODUCER:
        return ["batches", "events"]
    return list(columns.KINDS)


def _page(form: FormState | None = None, status: int = 200) -> Response:
    actor = auth.current_actor()
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 10 else None
    rows, next_before = import_history.imports(db.session, actor, HISTORY_PER_PAGE, before_id)
    kinds = _kinds_for(actor.role)
    return render(
        "console/admin/imports.html",
        status,
        form=form or FormState(values={"kind": request.args.get("kind", kinds[0])}),
        kinds=kinds,
        kind_names=kind_names(),
        rows=rows,
        next_before=next_before,
        paged=before_id is not None,
        max_mb=reading.MAX_FILE_BYTES // (1024 * 1024),
        max_rows=reading.MAX_ROWS,
    )


@auth.signed_in
def imports_page() -> Response:
    _may_import()
    return _page()


@auth.signed_in
def upload() -> BaseResponse:
    _may_import()
    actor = auth.current_actor()
    kind = request.form.get("kind", "")
    form = FormState(values={"kind": kind})
    if kind not in _kinds_for(actor.role):
        form.errors["kind"] = [gettext("Choose what the file holds.")]
        return _page(form, 422)
    uploaded = request.files.get("file")
    content = uploaded.stream.read(reading.MAX_FILE_BYTES + 1) if uploaded else b""
    if uploaded is None or not uploaded.filename:
        form.errors["file"] = [gettext("Choose a CSV or XLSX file.")]
    elif not content:
        form.errors["file"] = [gettext("The file is empty.")]
    elif len(content) > reading.MAX_FILE_BYTES:
        form.errors["file"] = [gettext("The file is larger than %(mb)s MB.",
                                       mb=reading.MAX_FILE_BYTES // (1024 * 1024))]  # fmt: skip
    if form.errors or uploaded is None:
        return _page(form, 422)
    name = (uploaded.filename or "upload")[:255]
    staged = None
    try:
        with transaction(write=True) as session:
            record = engine.submit(session, actor, kind, name, content, dry_run=True)
            staged = import_preview.stage(current_app, record.id, content)
            job_id = record.job_id
    except ServiceError as error:
        form.errors["file"] = [say(e.message) for e in error.errors] or [say(error.detail)]
        return _page(form, 422)
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    return redirect(url_for("console.import_preview", job_id=job_id), 303)


@auth.signed_in
def template(kind: str, fmt: str) -> Response:
    if kind not in columns.KINDS or fmt not in ("csv", "xlsx"):
        raise NotFound("There is no such template.")
    if fmt == "csv":
        body, mimetype = templates.csv_template(kind), "text/csv; charset=utf-8"
    else:
        body, mimetype = templates.xlsx_template(kind), XLSX
    disposition = f'attachment; filename="trace-{kind}.{fmt}"'
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})


def failure_of(job: Job) -> str:
    """Why a job failed, in the page's language (the worker records one line)."""
    return say(job.error or "")


def _preview_of(job_id: int) -> tuple[Job, Import]:
    """The engine's preview job and its import record (the engine's rule: who may read it)."""
    job = get_job(db.session, auth.current_actor(), job_id)
    record = db.session.get(Import, int(job.subject_id or 0))
    if job.kind != engine.JOB_KIND or record is None or not record.dry_run:
        raise NotFound(f"There is no preview {job_id}.")
    return job, record


def _errors(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"row": e.get("row", 0), "column": e.get("column", ""),
             "message": say(str(e.get("message", "")))} for e in items]  # fmt: skip


def _result(record: Import) -> dict[str, Any] | None:
    """A finished preview's counts and errors, as the preview table shows them."""
    if record.status is not ImportStatus.DONE:
        return None
    stored = record.errors or {}
    return {"valid": not stored, "counts": record.counts or {},
            "error_count": int(stored.get("count", 0)),
            "errors": list(stored.get("items", []))}  # fmt: skip


def _preview_view(job: Job, record: Import, problem: str | None = None,
                  status: int = 200) -> Response:  # fmt: skip
    params = {"kind": record.kind, "file_name": record.file_name, "sha256": record.sha256,
              "import_id": job.params.get(COMMITTED)}  # fmt: skip
    if job.status in BUSY and record.status is ImportStatus.QUEUED:
        return render("console/admin/import_wait.html", 200, job=job, params=params,
                      kind_names=kind_names(), refresh=REFRESH_SECONDS,
                      what="preview")  # fmt: skip
    result = _result(record)
    if result is not None and not result["valid"]:  # nothing can be imported from it
        import_preview.staged_path(current_app, record.id).unlink(missing_ok=True)
    errors = _errors(result["errors"][:ERRORS_SHOWN]) if result else []
    return render(
        "console/admin/import_preview.html",
        status,
        job=job,
        params=params,
        result=result,
        errors=errors,
        shown=len(errors),
        kind_names=kind_names(),
        problem=problem,
        failure=failure_of(job) if result is None else None,
    )


def _legacy_view(job_id: int) -> BaseResponse | None:
    """A preview queued as the console's former job kind: its page leads to the engine's."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != import_preview.LEGACY_KIND:
        return None
    job = get_job(db.session, auth.current_actor(), job_id)
    handed = import_preview.legacy_result(current_app, job) or {}
    if handed.get("preview_job_id"):
        return redirect(url_for("console.import_preview", job_id=handed["preview_job_id"]), 303)
    params = {k: job.params.get(k) for k in ("kind", "file_name", "sha256")}
    if job.status in BUSY:
        return render("console/admin/import_wait.html", 200, job=job, params=params,
                      kind_names=kind_names(), refresh=REFRESH_SECONDS,
                      what="preview")  # fmt: skip
    return render("console/admin/import_preview.html", 200, job=job, params=params, result=None,
                  errors=[], shown=0, kind_names=kind_names(), problem=None,
                  failure=failure_of(job))  # fmt: skip


@auth.signed_in
def preview_page(job_id: int) -> BaseResponse:
    _may_import()
    legacy = _legacy_view(job_id)
    if legacy is not None:
        return legacy
    return _preview_view(*_preview_of(job_id))


@auth.signed_in
def commit(job_id: int) -> BaseResponse:
    _may_import()
    actor = auth.current_actor()
    legacy = _legacy_view(job_id)
    if legacy is not None:
        return legacy
    job, record = _preview_of(job_id)
    if not (actor.is_admin or actor.organization_id == record.organization_id):
        # A centre may read its province's previews; the file is still the uploader's to import.
        raise Forbidden("Only the organisation that uploaded this file may import it.")
    done = job.params.get(COMMITTED)
    if done:
        return redirect(url_for("console.import_page", import_id=int(done)), 303)
    result = _result(record)
    if result is None or not result["valid"]:
        message = gettext("Only a preview without errors can be imported.")
        return _preview_view(job, record, message, 409)
    path = import_preview.staged_path(current_app, record.id)
    try:
        content = path.read_bytes()
    except OSError:
        message = gettext("The uploaded file is gone: upload it again.")
        return _preview_view(job, record, message, 410)
    if engine.digest(content) != record.sha256:
        message = gettext("The uploaded file changed: upload it again.")
        return _preview_view(job, record, message, 409)
    try:
        with transaction(write=True) as session:
            locked = session.scalars(select(Job).where(Job.id == job.id).with_for_update()).one()
            if locked.params.get(COMMITTED):
                import_id = int(locked.params[COMMITTED])
            else:
                submitted = engine.submit(session, actor, record.kind, record.file_name, content)
                import_id = submitted.id
                locked.params = {**locked.params, COMMITTED: import_id}
    except ServiceError as error:
        return _preview_view(db.session.get(Job, job_id) or job, record, say(error.detail), 422)
    path.unlink(missing_ok=True)
    return redirect(url_for("console.import_page", import_id=import_id), 303)


@auth.signed_in
def import_page(import_id: int) -> Response:
    _may_import()
    record = engine.get_import(db.session, auth.current_actor(), import_id)
    job = db.session.get(Job, record.job_id) if record.job_id else None
    if record.status is ImportStatus.QUEUED and (job is None or job.status in BUSY):
        return render("console/admin/import_wait.html", 200, job=job, record=record,
                      params={"kind": record.kind, "file_name": record.file_name},
                      kind_names=kind_names(), refresh=REFRESH_SECONDS,
                      what="import")  # fmt: skip
    stored = record.errors or {}
    errors = _errors(list(stored.get("items", []))[:ERRORS_SHOWN])
    return render(
        "console/admin/import.html",
        record=record,
        job=job,
        errors=errors,
        error_count=int(stored.get("count", 0)),
        kind_names=kind_names(),
        failure=failure_of(job) if job is not None and job.status is JobStatus.FAILED else None,
    )
