"""``POST /q/<code>/report``: a consumer's report of a problem, for inspectors.

The form carries a signed, timestamped token for its code (CSRF protection without cookies:
a page of ours must have been fetched to post, within ``PUBLIC_FORM_MAX_AGE``, 2 hours); each
client address (:func:`trace.public.client.client_address`, whatever its User-Agent) may send
``PUBLIC_REPORTS_PER_HOUR`` reports an hour, counted and inserted atomically in the database.
A report about a code that is not registered is kept too (that is how a suspected fake is
reported).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request
from marshmallow import Schema, ValidationError, fields, validate

from trace.codeview import scans
from trace.db import db, transaction
from trace.public import client
from trace.public.errors import error_page
from trace.services import lookup
from trace.services.registry.text import storable_problem


def _storable(value: str) -> None:
    problem = storable_problem(value)
    if problem:
        raise ValidationError(problem)


class ReportForm(Schema):
    """Every field is checked :func:`_storable` (a NUL would fail on PostgreSQL only)."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.validators.append(_storable)

    kind = fields.String(required=True, validate=validate.OneOf(scans.REPORT_KINDS))
    message = fields.String(required=True, validate=validate.Length(min=3, max=2000))
    contact = fields.String(load_default=None, validate=validate.Length(max=200))
    token = fields.String(required=True, validate=validate.Length(max=500))
    lang = fields.String(load_default=None)


def _form_data() -> dict[str, Any]:
    data = {k: v.strip() for k, v in request.form.items() if k in ReportForm().fields}
    if not data.get("contact"):
        data.pop("contact", None)
    return data


def report(code: str) -> Response:
    raw = code.strip()[:40]
    try:
        target: lookup.Target | None = lookup.find_code(db.session, raw)
    except lookup.LookupError_:
        target = None
    code_text = target.code if target and target.code else raw
    try:
        form = ReportForm().load(_form_data())
    except ValidationError as exc:
        return _form_page(code_text, 400, errors=exc.messages, values=_form_data())
    if not client.valid_form_token(form["token"], code_text):
        return _form_page(code_text, 400, errors={"token": ["expired"]}, values=form)
    message = form["message"] if target else f"[{raw}] {form['message']}"
    try:
        with transaction(write=True) as session:
            scans.submit_report(
                session,
                code_id=target.code_id if target else None,
                batch_id=target.batch_id if target else None,
                kind=form["kind"],
                message=message[:2000],
                contact=form.get("contact"),
                clients=client.client_hashes(),
                per_hour=int(current_app.config["PUBLIC_REPORTS_PER_HOUR"]),
            )
    except scans.RateLimited:
        response = error_page(429, "rate_limited", code=code_text)
        response.headers["Retry-After"] = "3600"
        return response
    body = render_template("public/report_done.html", code=code_text, known=target is not None)
    return Response(body, status=201, mimetype="text/html")


def _form_page(code: str, status: int, *, errors: Any, values: dict[str, Any]) -> Response:
    body = render_template(
        "public/report_form.html",
        code=code,
        errors=errors,
        values=values,
        form_token=client.form_token(code),
    )
    return Response(body, status=status, mimetype="text/html")
