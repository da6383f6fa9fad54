"""Recalls in the console: start one (batches, reason, what consumers must do, downstream or
not), read its impact from a dry run before confirming, confirm, read it, close it.

The form posts the API's field names through the API's :class:`RecallCreateSchema`; the impact
is the API's dry run (:func:`trace.services.inspection.recalls.preview`), so what the page shows
before confirming is what the recall will cover. The confirm form carries the same fields.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from trace.api.inspection_schemas import RecallCloseSchema, RecallCreateSchema
from trace.console import auth, forms, messages
from trace.console.inspector_desk import desk_actor
from trace.console.pages import list_args, render
from trace.db import db, transaction
from trace.models import Role
from trace.provinces import province_name
from trace.services.errors import ServiceError
from trace.services.inspection import finder, recalls

_create = RecallCreateSchema()
_close = RecallCloseSchema()
PAGE = 25
_SPLIT = re.compile(r"[\s,;]+")
FIELDS = ("batches", "reason", "instruction_vi", "instruction_en", "include_downstream")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/recalls", "recalls", recalls_page, methods=["GET"])
    bp.add_url_rule("/recalls/preview", "recall_preview", preview, methods=["POST"])
    bp.add_url_rule("/recalls", "recalls_post", confirm, methods=["POST"])
    bp.add_url_rule("/recalls/<int:recall_id>", "recall", recall_page, methods=["GET"])
    bp.add_url_rule("/recalls/<int:recall_id>/close", "recall_close", close, methods=["POST"])


def _form_data(form: MultiDict[str, str]) -> dict[str, Any]:
    """The posted form as the API's JSON body: batch ids typed with spaces or commas."""
    data: dict[str, Any] = {
        key: form.get(key, "").strip()
        for key in ("reason", "instruction_vi", "instruction_en")
        if form.get(key, "").strip()
    }
    typed = [part for part in _SPLIT.split(form.get("batches", "")) if part]
    data["batches"] = [int(part) if part.isdigit() and len(part) < 12 else part for part in typed]
    data["include_downstream"] = form.get("include_downstream") == "1"
    return data


def _list_page(form: forms.FormState, status: int = 200) -> Response:
    actor = desk_actor()
    _q, cursor = list_args()
    shown = request.args.get("status", "")
    filters: dict[str, Any] = {"status": shown} if shown in ("open", "closed") else {}
    if actor.role is Role.CENTRE:
        filters["province"] = actor.province_code or "--"
    rows, next_cursor = recalls.list_recalls(db.session, actor, filters, PAGE, cursor)
    chosen = _chosen_batches(str(form.value("batches", "")))
    return render(
        "console/inspector/recalls.html",
        status,
        rows=rows,
        next_cursor=next_cursor,
        shown=shown,
        form=form,
        chosen=chosen,
    )


def _chosen_batches(typed: str) -> list[finder.Hit]:
    ids = [int(p) for p in _SPLIT.split(typed) if p.isdigit() and len(p) < 12][:50]
    return finder.batches(db.session, desk_actor(), ids) if ids else []


@auth.signed_in
def recalls_page() -> Response:
    picked = request.args.get("batch", "")[:200]
    values = {"batches": picked, "include_downstream": "1"} if picked else {}
    return _list_page(forms.FormState(values=values))


@auth.signed_in
def preview() -> Response:
    actor = desk_actor()
    try:
        data = _create.load(_form_data(request.form))
        with transaction(write=True) as session:
            report = recalls.preview(session, actor, data)
            return render("console/inspector/recall_preview.html", impact=report, data=data,
                          province_name=province_name)  # fmt: skip
    except (ValidationError, ServiceError) as error:
        return _failed(error)


def _failed(error: ValidationError | ServiceError) -> Response:
    shown = messages.readable(error)
    status = shown.status if isinstance(shown, ServiceError) else 422
    return _list_page(forms.state(request.form, shown), status)


@auth.signed_in
def confirm() -> BaseResponse:
    actor = desk_actor()
    try:
        data = _create.load(_form_data(request.form))
        with transaction(write=True) as session:
            recall_id = recalls.create_recall(session, actor, data).id
    except (ValidationError, ServiceError) as error:
        return _failed(error)
    return redirect(url_for("console.recall", recall_id=recall_id, issued=1), 303)


def _recall_page(recall_id: int, form: forms.FormState, status: int = 200) -> Response:
    actor = desk_actor()
    recalls.require_in_province(db.session, actor, recall_id)
    view = recalls.get_recall(db.session, actor, recall_id)
    return render(
        "console/inspector/recall.html",
        status,
        view=view,
        form=form,
        issued=request.args.get("issued") == "1",
        closed=request.args.get("closed") == "1",
    )


@auth.signed_in
def recall_page(recall_id: int) -> Response:
    return _recall_page(recall_id, forms.FormState())


@auth.signed_in
def close(recall_id: int) -> BaseResponse:
    actor = desk_actor()
    try:
        data = _close.load(forms.nested(request.form))
        with transaction(write=True) as session:
            recalls.close_recall(session, actor, recall_id, data["note"])
    except ValidationError as error:
        return _recall_page(recall_id, forms.state(request.form, messages.readable(error)), 422)
    return redirect(url_for("console.recall", recall_id=recall_id, closed=1), 303)
