"""Label resources: print runs of a batch, their PDF sheets and codes, single QR images.

Who may do what: printing (creating a run, downloading its sheets) and voiding belong to whoever
manages the batch's producer (the producer itself, its province's centre, admin); runs, codes
and QR images are read under the read rule of batches (:mod:`trace.services.events.visibility`).

Sheets are rendered by a background job (:mod:`trace.services.labels.jobs`), queued with the run: a
request never renders, so a large run cannot outlast the web server's timeout.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.wsgi import wrap_file

from trace.api import label_schemas as ls
from trace.api.auth import current_actor
from trace.api.docs import documented
from trace.api.io import dump, list_page, load_body, load_query, public_url
from trace.api.jobs import JobSchema, job_schema, retry_after
from trace.api.schemas import PageQuery
from trace.db import db, transaction
from trace.jobs import results_dir
from trace.labels.render import qr_png, qr_svg
from trace.services.events.visibility import require_batch_reader
from trace.services.labels import issuance as svc

TAG = "Labels"
_CHUNK = 64 * 1024

run_schema, code_schema, void_schema = ls.PrintRunSchema(), ls.CodeSchema(), ls.VoidSchema()
create_schema = ls.PrintRunCreateSchema()
code_page, run_page = ls.CodePage(), ls.PrintRunPage()


@documented(summary="Create a print run of a batch's labels", tag=TAG,
            body=ls.PrintRunCreateSchema, response=ls.PrintRunSchema, status=201,
            errors=(401, 403, 404, 409, 422))  # fmt: skip
def create_print_run(batch_id: int) -> Response:
    actor = current_actor()
    data = load_body(create_schema)
    run = svc.create_print_run(db.session, actor, batch_id, **data)
    info = svc.describe_print_run(db.session, run)
    return dump(run_schema, info, 201, {"Location": url_for(".get_print_run", run_id=run.id)})


@documented(summary="List a batch's print runs", tag=TAG, query=PageQuery,
            response=ls.PrintRunPage, errors=(401, 403, 404, 422))  # fmt: skip
def list_print_runs(batch_id: int) -> Response:
    require_batch_reader(db.session, current_actor(), batch_id)
    return list_page(PageQuery(), run_page,
                     lambda _, limit, cursor: svc.list_print_runs(
                         db.session, batch_id, limit, cursor))  # fmt: skip


@documented(summary="Read a print run", tag=TAG, response=ls.PrintRunSchema, errors=(401, 403, 404))
def get_print_run(run_id: int) -> Response:
    actor = current_actor()
    run = svc.get_print_run(db.session, run_id)
    require_batch_reader(db.session, actor, run.batch_id)
    return dump(run_schema, svc.describe_print_run(db.session, run))


@documented(summary="The print run's label sheets (A4 PDF), rendered by a background job; "
            "202 with the job's progress and Retry-After until they are ready; the same codes "
            "in the same places on every download", tag=TAG, content_type="application/pdf",
            accepted=JobSchema, errors=(401, 403, 404, 409))  # fmt: skip
def print_run_pdf(run_id: int) -> Response:
    actor = current_actor()
    # A GET that may record facts (a render job queued, the codes now printed): the blueprint
    # opens a transaction for writing methods only, so this view is a named boundary of its own,
    # a writing transaction (SQLite takes the write lock up front).
    pdf = None
    try:
        with transaction(write=True) as session:
            pdf = svc.labels_pdf(session, actor, run_id, results_dir(current_app))
    except BaseException:
        if pdf is not None and pdf.file is not None:
            pdf.file.close()
        raise
    if pdf.file is None:
        headers = {
            "Retry-After": retry_after(pdf.job),
            "Location": url_for(".get_job", job_id=pdf.job.id),
        }
        return dump(job_schema, pdf.job, 202, headers)
    headers = {
        "Content-Length": str(pdf.size),
        "Content-Disposition": f'inline; filename="print-run-{run_id}.pdf"',
    }
    body = wrap_file(request.environ, pdf.file, _CHUNK)
    return Response(body, mimetype="application/pdf", headers=headers, direct_passthrough=True)


@documented(summary="A print run's codes, in label order", tag=TAG, query=PageQuery,
            response=ls.CodePage, errors=(401, 403, 404, 422))  # fmt: skip
def list_print_run_codes(run_id: int) -> Response:
    actor = current_actor()
    run, base = svc.get_print_run(db.session, run_id), public_url()
    require_batch_reader(db.session, actor, run.batch_id)
    return list_page(PageQuery(), code_page,
                     lambda _, limit, cursor: svc.list_run_codes(
                         db.session, run, base, limit, cursor))  # fmt: skip


@documented(summary="Void a print run and every code it issued", tag=TAG, body=ls.VoidSchema,
            response=ls.PrintRunSchema, errors=(401, 403, 404, 409, 422))  # fmt: skip
def void_print_run(run_id: int) -> Response:
    actor = current_actor()
    run = svc.void_print_run(db.session, actor, run_id, load_body(void_schema)["reason"])
    return dump(run_schema, svc.describe_print_run(db.session, run))


@documented(summary="Read a code: status, URI, batch", tag=TAG, response=ls.CodeSchema,
            errors=(401, 403, 404))  # fmt: skip
def get_code(code: str) -> Response:
    actor = current_actor()
    info = svc.code_info(db.session, code, public_url())
    require_batch_reader(db.session, actor, info.batch_id)
    return dump(code_schema, info)


@documented(summary="Void a code (it stays on record, its page says void)", tag=TAG,
            body=ls.VoidSchema, response=ls.CodeSchema,
            errors=(401, 403, 404, 409, 422))  # fmt: skip
def void_code(code: str) -> Response:
    actor = current_actor()
    voided = svc.void_code(db.session, actor, code, load_body(void_schema)["reason"])
    return dump(code_schema, svc.describe_code(voided, public_url()))


@documented(summary="The code's QR as SVG, sized in mm", tag=TAG, query=ls.QrSvgQuery,
            content_type="image/svg+xml", errors=(401, 403, 404, 422))  # fmt: skip
def code_qr_svg(code: str) -> Response:
    actor = current_actor()
    args = load_query(ls.QrSvgQuery())
    info = svc.code_info(db.session, code, public_url())
    require_batch_reader(db.session, actor, info.batch_id)
    return Response(qr_svg(info.uri, size_mm=args["size_mm"], ec=args["ec"]),
                    mimetype="image/svg+xml")  # fmt: skip


@documented(summary="The code's QR as a 1-bit PNG, sized in mm at a dpi", tag=TAG,
            query=ls.QrPngQuery, content_type="image/png", errors=(401, 403, 404, 422))  # fmt: skip
def code_qr_png(code: str) -> Response:
    actor = current_actor()
    args = load_query(ls.QrPngQuery())
    info = svc.code_info(db.session, code, public_url())
    require_batch_reader(db.session, actor, info.batch_id)
    png = qr_png(info.uri, size_mm=args["size_mm"], dpi=args["dpi"], ec=args["ec"])
    return Response(png, mimetype="image/png")


def register(bp: Blueprint) -> None:
    runs = "/batches/<int:batch_id>/print-runs"
    run = "/print-runs/<int:run_id>"
    code = "/codes/<code>"
    bp.add_url_rule(runs, "create_print_run", create_print_run, methods=["POST"])
    bp.add_url_rule(runs, "list_print_runs", list_print_runs, methods=["GET"])
    bp.add_url_rule(run, "get_print_run", get_print_run, methods=["GET"])
    bp.add_url_rule(f"{run}/labels.pdf", "print_run_pdf", print_run_pdf, methods=["GET"])
    bp.add_url_rule(f"{run}/codes", "list_print_run_codes", list_print_run_codes, methods=["GET"])
    bp.add_url_rule(f"{run}/void", "void_print_run", void_print_run, methods=["POST"])
    bp.add_url_rule(code, "get_code", get_code, methods=["GET"])
    bp.add_url_rule(f"{code}/void", "void_code", void_code, methods=["POST"])
    bp.add_url_rule(f"{code}/qr.svg", "code_qr_svg", code_qr_svg, methods=["GET"])
    bp.add_url_rule(f"{code}/qr.png", "code_qr_png", code_qr_png, methods=["GET"])
