"""Inspectors' API: batch audits, the audit log, recalls and their impact, exports, signals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    send_file,
    stream_with_context,
)

from trace.api import inspection_schemas as s
from trace.api.auth import current_actor
from trace.api.docs import documented
from trace.api.io import dump, list_page, load_body, load_query, public_url
from trace.db import db
from trace.provinces import province_name
from trace.render import graph as graph_layout
from trace.services.inspection import audit_report, exports, recalls, signals
from trace.services.pagination import decode_cursor, encode_cursor

_audit = s.BatchAuditSchema()
_audit_page = s.AuditEntryPage()
_recall = s.RecallSchema()
_recall_page = s.RecallPage()
_impact = s.ImpactSchema()
_preview = s.RecallPreviewSchema()
_portal_page = s.PortalPage()
_report = s.ReportSchema()
_report_page = s.ReportPage()
_suspicions = s.SuspicionListSchema()
_copy_warning = s.CopyWarningSchema()
HTML_BATCH_ROWS = 1000  # batches listed in the printable impact report (all are in the JSON)


def wants_html(args: dict[str, Any]) -> bool:
    """``?format=html``, or a client (a browser) that prefers HTML to JSON."""
    if "format" in args:
        return bool(args["format"] == "html")
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def _html(template: str, **context: Any) -> Response:
    body = render_template(template, province_name=province_name, **context)
    return Response(body, mimetype="text/html")


# Audit ------------------------------------------------------------------------------------


@documented(summary="A batch's audited history (JSON, or the printable report as HTML)",
            tag="Inspection", query=s.HtmlQuery, response=s.BatchAuditSchema,
            also_as=("text/html",), errors=(401, 403, 404, 422))  # fmt: skip
def batch_audit(batch_id: int) -> Response:
    actor = current_actor()
    args = load_query(s.HtmlQuery())
    late_hours = float(current_app.config["LATE_ENTRY_HOURS"])
    report = audit_report.batch_audit(db.session, actor, batch_id, late_hours)
    if wants_html(args):
        graph = audit_report.genealogy_graph(db.session, batch_id, reader=actor)
        return _html("inspection/audit.html", audit=report, graph=graph, svg=graph_layout,
                     generated_at=report.generated_at)  # fmt: skip
    return dump(_audit, report)


@documented(summary="Every write, filterable by organisation, actor, kind and time",
            tag="Inspection", query=s.AuditLogQuery, response=s.AuditEntryPage,
            errors=(401, 422))  # fmt: skip
def audit_log() -> Response:
    actor = current_actor()
    return list_page(s.AuditLogQuery(), _audit_page,
                     lambda args, limit, cursor: audit_report.audit_log(
                         db.session, actor, args, limit, cursor))  # fmt: skip


# Recalls ----------------------------------------------------------------------------------


@documented(summary="Recall batches (and, with include_downstream, all made from them); "
            "with dry_run=true, the impact it would have, writing nothing", tag="Recalls",
            body=s.RecallCreateSchema, query=s.RecallCreateQuery, response=s.RecallSchema,
            status=201, errors=(401, 403, 422),
            alternatives={200: ("Dry run: the impact; nothing was written",
                                s.RecallPreviewSchema)})  # fmt: skip
def create_recall() -> Response:
    actor = current_actor()
    dry_run = load_query(s.RecallCreateQuery())["dry_run"]
    data = load_body(s.RecallCreateSchema())
    if dry_run:
        report = recalls.preview(db.session, actor, data)
        next_cursor = None  # the batch list is the first page; the recall itself lists all
        return dump(_preview, {**report.__dict__, "batches_next_cursor": next_cursor})
    recall = recalls.create_recall(db.session, actor, data)
    view = recalls.get_recall(db.session, actor, recall.id)
    return dump(_recall, view, 201, {"Location": f"/api/v1/recalls/{recall.id}"})


@documented(summary="List recalls", tag="Recalls", query=s.RecallQuery, response=s.RecallPage,
            errors=(401, 422))  # fmt: skip
def list_recalls() -> Response:
    actor = current_actor()
    return list_page(s.RecallQuery(), _recall_page,
                     lambda args, limit, cursor: recalls.list_recalls(
                         db.session, actor, args, limit, cursor))  # fmt: skip


@documented(summary="Read a recall with its batches", tag="Recalls", response=s.RecallSchema,
            errors=(401, 403, 404))  # fmt: skip
def get_recall(recall_id: int) -> Response:
    return dump(_recall, recalls.get_recall(db.session, current_actor(), recall_id))


@documented(summary="Close a recall with a note (batches not under another open recall "
            "become active)", tag="Recalls", body=s.RecallCloseSchema, response=s.RecallSchema,
            errors=(401, 403, 404, 409, 422))  # fmt: skip
def close_recall(recall_id: int) -> Response:
    actor = current_actor()
    body = load_body(s.RecallCloseSchema())
    recalls.close_recall(db.session, actor, recall_id, body["note"])
    return dump(_recall, recalls.get_recall(db.session, actor, recall_id))


@documented(summary="A recall's impact: downstream batches, receivers, codes, scans "
            "(JSON, or the printable report as HTML)", tag="Recalls", query=s.ImpactQuery,
            response=s.ImpactSchema, also_as=("text/html",),
            errors=(401, 403, 404, 422))  # fmt: skip
def recall_impact(recall_id: int) -> Response:
    actor = current_actor()
    args = load_query(s.ImpactQuery())
    after = decode_cursor(args["cursor"]) if "cursor" in args else None
    report = recalls.impact(db.session, actor, recall_id, args["limit"], after)
    if wants_html(args):
        return _html("inspection/impact.html", impact=report, generated_at=report.generated_at,
                     html_rows=HTML_BATCH_ROWS)  # fmt: skip
    next_cursor = encode_cursor(report.batches_next_after) if report.batches_next_after else None
    return dump(_impact, {**report.__dict__, "batches_next_cursor": next_cursor})


# Exports ----------------------------------------------------------------------------------


def _filename(stem: str, args: dict[str, Any], ext: str) -> str:
    keys = ("product", "batch", "organization", "lot", "from", "to")
    parts = [stem] + [f"{k}-{args[k]}" for k in keys if k in args]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in "_".join(parts))
    return f"{safe}.{ext}"


def _attachment(filename: str) -> str:
    """RFC 6266 ``Content-Disposition``: an ASCII ``filename`` for old clients and, when the
    name is not ASCII (a lot ``Vải``), the exact one as ``filename*`` (RFC 8187)."""
    ascii_name = "".join(c if c.isascii() else "_" for c in filename)
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


@documented(summary="KDE spreadsheet (FSMA 204 style) as CSV, streamed", tag="Exports",
            query=s.KdeQuery, content_type="text/csv", errors=(401, 422))  # fmt: skip
def kde_csv() -> Response:
    actor = current_actor()
    args = load_query(s.KdeQuery())
    session = db.session
    rows = exports.kde_csv(session, actor, args)

    def body() -> Iterator[str]:
        # The rows are read while the body is sent, after the request's teardown: the session
        # is this one's to end (a fresh context inside the stream would have another).
        try:
            yield from rows
        finally:
            session.close()

    return Response(
        stream_with_context(body()),
        mimetype="text/csv",
        headers={"Content-Disposition": _attachment(_filename("kde", args, "csv"))},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@documented(summary="KDE spreadsheet (FSMA 204 style) as XLSX", tag="Exports",
            query=s.KdeQuery, content_type=XLSX, errors=(401, 422))  # fmt: skip
def kde_xlsx() -> Response:
    actor = current_actor()
    args = load_query(s.KdeQuery())
    handle = exports.kde_xlsx(db.session, actor, args)
    return send_file(
        handle,
        mimetype=XLSX,
        as_attachment=True,
        download_name=_filename("kde", args, "xlsx"),
        max_age=0,
    )


@documented(summary="Circular 02/2024 Art. 6.5 items per batch, for the national portal",
            tag="Exports", query=s.PortalQuery, response=s.PortalPage,
            errors=(401, 422))  # fmt: skip
def portal() -> Response:
    actor, base = current_actor(), public_url()
    return list_page(s.PortalQuery(), _portal_page,
                     lambda args, limit, cursor: exports.portal_batches(
                         db.session, actor, args, limit, cursor, base))  # fmt: skip


# Consumer signals -------------------------------------------------------------------------


@documented(summary="Consumers' reports", tag="Signals", query=s.ReportQuery,
            response=s.ReportPage, errors=(401, 422))  # fmt: skip
def list_reports() -> Response:
    actor = current_actor()
    return list_page(s.ReportQuery(), _report_page,
                     lambda args, limit, cursor: signals.list_reports(
                         db.session, actor, args, limit, cursor))  # fmt: skip


@documented(summary="Resolve a consumer's report", tag="Signals", body=s.ResolveSchema,
            response=s.ReportSchema, errors=(401, 403, 404, 409, 422))  # fmt: skip
def resolve_report(report_id: int) -> Response:
    actor = current_actor()
    body = load_body(s.ResolveSchema())
    return dump(_report, signals.resolve_report(db.session, actor, report_id, body["resolution"]))


@documented(summary="Clear a unit code's copy warning, with a reason (audited); it comes back "
            "only on scans after this", tag="Signals", body=s.ClearWarningSchema,
            response=s.CopyWarningSchema, errors=(401, 403, 404, 409, 422))  # fmt: skip
def clear_copy_warning(code: str) -> Response:
    actor = current_actor()
    body = load_body(s.ClearWarningSchema())
    return dump(_copy_warning,
                signals.clear_copy_warning(db.session, actor, code, body["reason"]))  # fmt: skip


@documented(summary="Unit codes with suspicious scans (many clients, far-apart places)",
            tag="Signals", query=s.SuspiciousQuery, response=s.SuspicionListSchema,
            errors=(401, 422))  # fmt: skip
def suspicious_codes() -> Response:
    actor = current_actor()
    args = load_query(s.SuspiciousQuery())
    config = current_app.config
    window = dt.timedelta(hours=float(args.get("window_hours", config["SUSPICIOUS_WINDOW_HOURS"])))
    until = args.get("until") or dt.datetime.now(dt.UTC)
    since = args.get("since") or until - max(window, dt.timedelta(days=7))
    min_clients = int(args.get("min_clients", config["SUSPICIOUS_MIN_CLIENTS"]))
    min_km = float(args.get("min_km", config["SUSPICIOUS_MIN_KM"]))
    items = signals.suspicious_codes(
        db.session, actor, since=since, until=until, window=window, limit=args["limit"],
        min_clients=min_clients, min_km=min_km,
    )  # fmt: skip
    return dump(
        _suspicions,
        {"since": since, "until": until, "window_hours": window.total_seconds() / 3600,
         "items": items, "min_clients": min_clients, "min_km": min_km},
    )  # fmt: skip


def register(bp: Blueprint) -> None:
    rules = [
        ("/batches/<int:batch_id>/audit", "batch_audit", batch_audit, "GET"),
        ("/audit-log", "audit_log", audit_log, "GET"),
        ("/recalls", "create_recall", create_recall, "POST"),
        ("/recalls", "list_recalls", list_recalls, "GET"),
        ("/recalls/<int:recall_id>", "get_recall", get_recall, "GET"),
        ("/recalls/<int:recall_id>/close", "close_recall", close_recall, "POST"),
        ("/recalls/<int:recall_id>/impact", "recall_impact", recall_impact, "GET"),
        ("/exports/kde.csv", "export_kde_csv", kde_csv, "GET"),
        ("/exports/kde.xlsx", "export_kde_xlsx", kde_xlsx, "GET"),
        ("/exports/portal.json", "export_portal", portal, "GET"),
        ("/reports", "list_reports", list_reports, "GET"),
        ("/reports/<int:report_id>/resolve", "resolve_report", resolve_report, "POST"),
        ("/signals/suspicious-codes", "suspicious_codes", suspicious_codes, "GET"),
        ("/codes/<code>/copy-warning/clear", "clear_copy_warning", clear_copy_warning, "POST"),
    ]
    for rule, endpoint, view, method in rules:
        bp.add_url_rule(rule, endpoint, view, methods=[method])
