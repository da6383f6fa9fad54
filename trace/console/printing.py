"""Printing labels in the console: a batch's print form, a sample preview of the first sheet,
print runs (their progress, PDF, codes and statuses), and voiding a run or a code.

The form posts :class:`~trace.api.label_schemas.PrintRunCreateSchema`'s field names (``count``,
``template``, ``serialised``, ``layout-rows`` …) and goes through that schema and the same
services as the API. Previewing is a GET of the form (no token in the address: the CSRF field is
only in the form that generates), whose page shows the image and the form that generates.
Generating queues the render job; the run's page refreshes itself (``<meta http-equiv=refresh>``,
no script needed) until its PDF is ready.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request, url_for
from flask_babel import lazy_gettext
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse
from werkzeug.wsgi import wrap_file

from trace.api import label_schemas as ls
from trace.console import auth, forms
from trace.console.pages import render
from trace.db import db, transaction
from trace.jobs import latest_job, results_dir
from trace.labels.sheets import TEMPLATES
from trace.models import Batch, CodeStatus, JobStatus, PrintRun
from trace.services.errors import ServiceError, get_or_404
from trace.services.events.visibility import require_batch_reader
from trace.services.labels import issuance
from trace.services.labels.preview import sample_sheet

RUNS_PER_PAGE = 20
CODES_PER_PAGE = 25
REFRESH_SECONDS = 2
_CHUNK = 64 * 1024
_WHOLE = re.compile(r"^-?\d{1,9}$")
#: strict integer fields of the schema, typed as text in a form
_INTEGERS = ("count", "layout-rows", "layout-cols")
FORM_FIELDS = (
    "count",
    "template",
    "serialised",
    "ec",
    "cut_marks",
    "layout-rows",
    "layout-cols",
    "layout-label_w_mm",
    "layout-label_h_mm",
    "layout-margin_top_mm",
    "layout-margin_left_mm",
    "layout-gap_x_mm",
    "layout-gap_y_mm",
)

create_schema = ls.PrintRunCreateSchema()
void_schema = ls.VoidSchema()


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/batches/<int:batch_id>/labels", "labels", labels_page, methods=["GET"])
    bp.add_url_rule(
        "/batches/<int:batch_id>/labels/preview.png", "labels_preview", preview, methods=["GET"]
    )
    bp.add_url_rule(
        "/batches/<int:batch_id>/print-runs", "create_print_run", create_run, methods=["POST"]
    )
    bp.add_url_rule("/print-runs/<int:run_id>", "print_run", run_page, methods=["GET"])
    bp.add_url_rule("/print-runs/<int:run_id>/labels.pdf", "print_run_pdf", pdf, methods=["GET"])
    bp.add_url_rule("/print-runs/<int:run_id>/void", "void_print_run", void_run, methods=["POST"])
    bp.add_url_rule("/codes/<code>/void", "void_code", void_code, methods=["POST"])


# The form -----------------------------------------------------------------------------------


def _typed(form: MultiDict[str, str]) -> MultiDict[str, str]:
    """The form's own fields only (what the schema loads; the rest is ignored, not refused)."""
    values: MultiDict[str, str] = MultiDict()
    for name in FORM_FIELDS:
        value = form.get(name)
        if value is not None:
            values[name] = value
    if values.get("template") != issuance.CUSTOM_TEMPLATE:
        # the layout's fields stay on the form for the custom template; they do not apply here
        for name in [key for key in values if key.startswith("layout-")]:
            del values[name]
    return values


def _load(form: MultiDict[str, str]) -> dict[str, Any]:
    """The form as :class:`PrintRunCreateSchema` loads it (ValidationError when it does not)."""
    data = forms.nested(_typed(form))
    for name in _INTEGERS:
        parts = name.split(forms.SEPARATOR)
        node = data
        for part in parts[:-1]:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        value = node.get(parts[-1]) if isinstance(node, dict) else None
        if isinstance(value, str) and _WHOLE.match(value):
            node[parts[-1]] = int(value)
    for flag in ("serialised", "cut_marks"):
        if flag in data:
            data[flag] = data[flag] in ("true", "1", "on", "yes")
    return dict(create_schema.load(data))


def _batch_for_reader(batch_id: int) -> Batch:
    session, actor = db.session, auth.current_actor()
    batch = get_or_404(session, Batch, batch_id)
    require_batch_reader(session, actor, batch_id)
    return batch


def _may_print(batch: Batch) -> bool:
    actor = auth.current_actor()
    producer = batch.producer
    return actor.may_manage_organization(producer.id, producer.province_code)


def _template_options() -> list[tuple[str, str]]:
    stock = [
        (name, f"A4 · {t.cols} × {t.rows} = {t.per_page} · {t.label_w_mm:g} × {t.label_h_mm:g} mm")
        for name, t in TEMPLATES.items()
    ]
    return [*stock, (issuance.CUSTOM_TEMPLATE, str(lazy_gettext("Custom layout")))]


def _defaults() -> dict[str, str]:
    return {"count": "24", "template": next(iter(TEMPLATES)), "serialised": "true", "ec": "M"}


def _labels(
    batch_id: int, form: forms.FormState, *, previewed: bool, status: int = 200
) -> Response:
    batch = _batch_for_reader(batch_id)
    runs, next_cursor = issuance.list_print_runs(
        db.session, batch_id, RUNS_PER_PAGE, request.args.get("after") or None
    )
    preview_query = {k: v for k, v in form.values.items() if k in FORM_FIELDS}
    return render(
        "console/labels.html",
        status,
        batch=batch,
        form=form,
        previewed=previewed,
        preview_query=preview_query,
        may_print=_may_print(batch),
        runs=runs,
        next_cursor=next_cursor,
        templates=_template_options(),
        max_count=issuance.MAX_RUN_COUNT,
    )


@auth.signed_in
def labels_page(batch_id: int) -> Response:
    """The print form; with ``?preview=1``, the form checked and its first sheet's preview."""
    if request.args.get("preview") != "1":
        return _labels(batch_id, forms.FormState(values=_defaults()), previewed=False)
    try:
        _load(request.args)
    except ValidationError as error:
        return _labels(batch_id, forms.state(request.args, error), previewed=False, status=422)
    return _labels(batch_id, forms.state(request.args), previewed=True)


@auth.signed_in
def preview(batch_id: int) -> Response:
    """The sample sheet as a PNG (no codes issued, nothing written)."""
    try:
        fields = _load(request.args)
    except ValidationError as error:
        return Response(str(error.messages), status=422, mimetype="text/plain")
    try:
        png = sample_sheet(
            db.session,
            auth.current_actor(),
            batch_id,
            public_url=str(current_app.config["PUBLIC_URL"]),
            **fields,
        )
    except ServiceError as error:
        if error.status == 422:
            return Response(error.detail, status=422, mimetype="text/plain")
        raise
    response = Response(png, mimetype="image/png")
    response.headers["Content-Disposition"] = "inline; filename=preview-sample.png"
    return response


@auth.signed_in
def create_run(batch_id: int) -> BaseResponse:
    try:
        fields = _load(request.form)
        with transaction(write=True) as session:
            run = issuance.create_print_run(session, auth.current_actor(), batch_id, **fields)
            run_id = run.id
    except (ValidationError, ServiceError) as error:
        if isinstance(error, ServiceError) and error.status in (403, 404):
            raise
        return _labels(batch_id, forms.state(request.form, error), previewed=True, status=422)
    return _redirect(url_for("console.print_run", run_id=run_id))


# A run ----------------------------------------------------------------------------------------


def _run_for_reader(run_id: int) -> PrintRun:
    run = issuance.get_print_run(db.session, run_id)
    require_batch_reader(db.session, auth.current_actor(), run.batch_id)
    return run


@auth.signed_in
def run_page(run_id: int, form: forms.FormState | None = None, status: int = 200) -> Response:
    run = _run_for_reader(run_id)
    session = db.session
    info = issuance.describe_print_run(session, run)
    job = latest_job(session, issuance.RENDER_JOB, ("print_run", run.id))
    codes, next_cursor = issuance.list_run_codes(
        session,
        run,
        str(current_app.config["PUBLIC_URL"]),
        CODES_PER_PAGE,
        request.args.get("after") or None,
    )
    busy = (JobStatus.QUEUED, JobStatus.RUNNING)
    working = run.voided_at is None and job is not None and job.status in busy
    return render(
        "console/print_run.html",
        status,
        run=run,
        info=info,
        job=job,
        working=working,
        refresh=REFRESH_SECONDS if working else None,
        codes=codes,
        next_cursor=next_cursor,
        paged=bool(request.args.get("after")),
        may_print=_may_print(run.batch),
        form=form or forms.FormState(),
        voided=CodeStatus.VOIDED,
    )


@auth.signed_in
def pdf(run_id: int) -> BaseResponse:
    """The run's PDF once rendered (its codes become printed, as through the API); until then a
    202 page that refreshes itself with the job's progress."""
    handle = None
    try:
        with transaction(write=True) as session:
            sheets = issuance.labels_pdf(
                session, auth.current_actor(), run_id, results_dir(current_app)
            )
            handle = sheets.file
    except BaseException:
        if handle is not None:
            handle.close()
        raise
    if sheets.file is None:
        return render(
            "console/labels_wait.html",
            202,
            run_id=run_id,
            job=sheets.job,
            refresh=REFRESH_SECONDS,
        )
    headers = {
        "Content-Length": str(sheets.size),
        "Content-Disposition": f'attachment; filename="print-run-{run_id}.pdf"',
    }
    body = wrap_file(request.environ, sheets.file, _CHUNK)
    return Response(body, mimetype="application/pdf", headers=headers, direct_passthrough=True)


@auth.signed_in
def void_run(run_id: int) -> BaseResponse:
    try:
        reason = void_schema.load({"reason": request.form.get("reason", "")})["reason"]
        with transaction(write=True) as session:
            issuance.void_print_run(session, auth.current_actor(), run_id, reason)
    except (ValidationError, ServiceError) as error:
        if isinstance(error, ServiceError) and error.status in (403, 404):
            raise
        return run_page(run_id, forms.state(request.form, error), 422)
    return _redirect(url_for("console.print_run", run_id=run_id))


@auth.signed_in
def void_code(code: str) -> BaseResponse:
    try:
        reason = void_schema.load({"reason": request.form.get("reason", "")})["reason"]
        with transaction(write=True) as session:
            voided = issuance.void_code(session, auth.current_actor(), code, reason)
            run_id = voided.print_run_id
    except (ValidationError, ServiceError) as error:
        if isinstance(error, ServiceError) and error.status in (403, 404):
            raise
        run_id = issuance.find_code(db.session, code).print_run_id
        if run_id is None:
            raise
        state = forms.state(request.form, error)
        state.errors = {f"reason-{code}": state.errors.get("reason", [])} if state.errors else {}
        return run_page(run_id, state, 422)
    back = request.form.get("next")
    fallback = url_for("console.print_run", run_id=run_id) if run_id else url_for("console.home")
    return _redirect(auth.safe_next(back, fallback))


def _redirect(target: str) -> BaseResponse:
    return redirect(target, 303)
