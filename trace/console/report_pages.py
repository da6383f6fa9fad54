"""Consumers' reports (``/console/reports``): the list, open ones first, with filters; one
report; assigning it; resolving it with a note. The forms post the API's field names
(``resolution``, through the API's :class:`~trace.api.inspection_schemas.ResolveSchema`) and
go through the services of :mod:`trace.services.reportdesk`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from trace.api.inspection_schemas import ResolveSchema
from trace.codeview import scans
from trace.console import auth, forms
from trace.console.pages import PAGE_SIZE, render
from trace.db import db, transaction
from trace.models import Role
from trace.provinces import PROVINCES
from trace.services import reportdesk
from trace.services.errors import ServiceError

ASSIGNEE_FILTERS = ("me", "none")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/reports", "reports", reports_page, methods=["GET"])
    bp.add_url_rule("/reports/<int:report_id>", "report", report_page, methods=["GET"])
    bp.add_url_rule("/reports/<int:report_id>/assign", "assign_report", assign, methods=["POST"])
    bp.add_url_rule("/reports/<int:report_id>/resolve", "resolve_report", resolve, methods=["POST"])


def _filters() -> dict[str, str]:
    args, kept = request.args, {}
    if args.get("status") in reportdesk.STATUSES:
        kept["status"] = args["status"]
    if args.get("kind") in scans.REPORT_KINDS:
        kept["kind"] = args["kind"]
    if args.get("assignee") in ASSIGNEE_FILTERS:
        kept["assignee"] = args["assignee"]
    if args.get("province") in PROVINCES:
        kept["province"] = args["province"]
    return kept


@auth.signed_in
def reports_page() -> Response:
    actor = auth.current_actor()
    try:
        page = max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    kept = _filters()
    rows, more = reportdesk.list_reports(db.session, actor, kept, PAGE_SIZE, page)
    return render(
        "console/centre/reports.html",
        rows=rows,
        more=more,
        page=page,
        kept=kept,
        kinds=scans.REPORT_KINDS,
        provinces=PROVINCES if actor.role is not Role.CENTRE else {},
    )


def _report_page(report_id: int, form: forms.FormState | None = None, status: int = 200,
                 done: str | None = None) -> Response:  # fmt: skip
    session, actor = db.session, auth.current_actor()
    row = reportdesk.get_report(session, actor, report_id)
    return render(
        "console/centre/report.html",
        status,
        row=row,
        handlers=reportdesk.handlers(session, row.province_code),
        form=form or forms.FormState(),
        done=done,
    )


@auth.signed_in
def report_page(report_id: int) -> Response:
    return _report_page(report_id, done=request.args.get("done"))


@auth.signed_in
def assign(report_id: int) -> BaseResponse:
    raw = request.form.get("assignee_id", "").strip()
    assignee: int | None = None
    if raw:
        try:
            assignee = int(raw)
        except ValueError:
            return _report_page(report_id, forms.FormState(errors={"assignee_id": [
                forms.translated("Not a valid integer.")]}), 400)  # fmt: skip
    try:
        with transaction(write=True) as session:
            reportdesk.assign(session, auth.current_actor(), report_id, assignee)
    except ServiceError as error:
        if error.status in (403, 404):
            raise
        return _report_page(report_id, forms.state(request.form, error), 400)
    return redirect(url_for("console.report", report_id=report_id, done="assigned"), 303)


@auth.signed_in
def resolve(report_id: int) -> BaseResponse:
    data: dict[str, Any] = forms.nested(request.form)
    try:
        body = ResolveSchema().load(data)
    except ValidationError as error:
        return _report_page(report_id, forms.state(request.form, error), 400)
    try:
        with transaction(write=True) as session:
            reportdesk.resolve(session, auth.current_actor(), report_id, body["resolution"])
    except ServiceError as error:
        if error.status in (403, 404):
            raise
        return _report_page(report_id, forms.state(request.form, error), 409)
    return redirect(url_for("console.report", report_id=report_id, done="resolved"), 303)
