"""Codes flagged as possible copies (``/console/flags``): the list, the scans behind one code,
and clearing its copy warning with a reason (the API's field name ``reason``, through the API's
:class:`~trace.api.inspection_schemas.ClearWarningSchema`). Centres (their province),
inspectors and administrators: :mod:`trace.services.flagdesk`."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from trace.api.inspection_schemas import ClearWarningSchema
from trace.console import auth, forms
from trace.console.pages import render
from trace.db import db, transaction
from trace.provinces import PROVINCES
from trace.services import dashboard, flagdesk
from trace.services.errors import ServiceError


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/flags", "flags", flags_page, methods=["GET"])
    bp.add_url_rule("/flags/<int:code_id>", "flag", flag_page, methods=["GET"])
    bp.add_url_rule("/flags/<int:code_id>/clear", "clear_flag", clear, methods=["POST"])


@auth.signed_in
def flags_page() -> Response:
    actor = auth.current_actor()
    asked = request.args.get("province", "")[:2]
    picked = asked if asked in PROVINCES else None
    try:
        page = max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    return render(
        "console/centre/flags.html",
        flagged=flagdesk.flagged(db.session, actor, picked, page),
        province=dashboard.province_for(actor, picked),
        picked=picked,
        page=page,
    )


def _flag_page(code_id: int, form: forms.FormState | None = None, status: int = 200) -> Response:
    found = flagdesk.detail(db.session, auth.current_actor(), code_id)
    return render(
        "console/centre/flag.html",
        status,
        found=found,
        form=form or forms.FormState(),
        done=request.args.get("done"),
    )


@auth.signed_in
def flag_page(code_id: int) -> Response:
    return _flag_page(code_id)


@auth.signed_in
def clear(code_id: int) -> BaseResponse:
    try:
        body = ClearWarningSchema().load(forms.nested(request.form))
    except ValidationError as error:
        return _flag_page(code_id, forms.state(request.form, error), 400)
    try:
        with transaction(write=True) as session:
            flagdesk.clear(session, auth.current_actor(), code_id, body["reason"])
    except ServiceError as error:
        if error.status in (403, 404):
            raise
        return _flag_page(code_id, forms.state(request.form, error), 409)
    return redirect(url_for("console.flag", code_id=code_id, done="cleared"), 303)
