"""Exports in the console: the KDE spreadsheet (CSV or XLSX) for a batch, a product, an
organisation or a period, and the national portal's items, each a background job
(:mod:`trace.services.inspection.export_jobs`) with a page that shows its progress and, when it
is done, the download. The form posts the API's KDE query field names through its schema."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, request, send_file, url_for
from flask_babel import lazy_gettext
from marshmallow import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from trace.api.inspection_schemas import KdeQuery
from trace.console import auth, forms, messages
from trace.console.pages import error_page, render
from trace.db import db, transaction
from trace.jobs import results_dir
from trace.models import JobStatus, Role
from trace.services.errors import ServiceError
from trace.services.inspection import export_jobs
from trace.services.jobs import get_job

_query = KdeQuery()
REFRESH_SECONDS = 2
STATUS = {
    "queued": lazy_gettext("waiting to start"),
    "running": lazy_gettext("running"),
    "done": lazy_gettext("ready"),
    "failed": lazy_gettext("failed"),
}


def export_status(value: str) -> str:
    return str(STATUS.get(value, value))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/exports", "exports", exports_page, methods=["GET"])
    bp.add_url_rule("/exports", "exports_post", start, methods=["POST"])
    bp.add_url_rule("/exports/<int:job_id>", "export", export_page, methods=["GET"])
    bp.add_url_rule("/exports/<int:job_id>/download", "export_download", download,
                    methods=["GET"])  # fmt: skip


def _page(form: forms.FormState, status: int = 200) -> Response:
    actor = auth.current_actor()
    return render(
        "console/inspector/exports.html",
        status,
        form=form,
        jobs=export_jobs.recent(db.session, actor),
        export_status=export_status,
    )


@auth.signed_in
def exports_page() -> Response:
    actor = auth.current_actor()
    actor.require(actor.role is not Role.PRODUCER, "export from the console")
    values = {k: request.args.get(k, "")[:40] for k in ("batch", "product", "organization")}
    return _page(forms.FormState(values={k: v for k, v in values.items() if v}))


@auth.signed_in
def start() -> BaseResponse:
    actor = auth.current_actor()
    data = forms.nested(request.form)
    kind = data.pop("format", "csv")
    if request.form.get("lang"):  # the headings' language (forms.nested leaves out ``lang``)
        data["lang"] = request.form["lang"]
    try:
        if kind not in export_jobs.FORMATS:
            raise ValidationError({"format": ["Must be one of: csv, xlsx, portal."]})
        spec: dict[str, Any] = {**_query.load(forms.typed(_query, data)), "format": kind}
        with transaction(write=True) as session:
            job_id = export_jobs.start(session, actor, spec).id
    except (ValidationError, ServiceError) as error:
        shown = messages.readable(error)
        status = shown.status if isinstance(shown, ServiceError) else 422
        return _page(forms.state(request.form, shown), status)
    return redirect(url_for("console.export", job_id=job_id), 303)


@auth.signed_in
def export_page(job_id: int) -> Response:
    job = get_job(db.session, auth.current_actor(), job_id)
    if job.kind != export_jobs.JOB_KIND:
        return error_page(404, "not_found")
    working = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    return render("console/inspector/export.html", job=job, working=working,
                  refresh=REFRESH_SECONDS, export_status=export_status)  # fmt: skip


@auth.signed_in
def download(job_id: int) -> BaseResponse:
    job = get_job(db.session, auth.current_actor(), job_id)
    if job.kind != export_jobs.JOB_KIND or job.status != JobStatus.DONE or not job.result_file:
        return error_page(404, "not_found")
    path = results_dir(current_app) / job.result_file
    if not path.is_file():  # cleaned away since: the export has to be asked for again
        return error_page(404, "not_found")
    suffix = export_jobs.FORMATS[job.params["format"]][0]
    return send_file(
        path,
        mimetype=job.result_type or "application/octet-stream",
        as_attachment=True,
        download_name=f"trace-export-{job.id}{suffix}",
        max_age=0,
    )
