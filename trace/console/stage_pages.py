"""Recording a stage of a batch in a few taps, and correcting a mistaken event.

The stage form posts the API's stage form fields (``stage``, ``time``, ``facility_id``,
``quantity``, ``unit``, ``to_organization_id``, ``inputs-N-batch_id``, ``inputs-N-quantity``,
``temperatures-N-time``, ``temperatures-N-celsius``, ``documents-N-type``,
``documents-N-number``, ``note``), loaded by the API's :class:`StageForm` and recorded by the
same :func:`stages.record_stage` as ``POST /api/v1/batches/{id}/events``: the same EPCIS event,
whose hash ID the batch's page then shows. A correction is an EPCIS error declaration
(:mod:`trace.services.events.corrections`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from flask_babel import LazyString, lazy_gettext
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from trace.api.event_schemas import CorrectionForm, StageForm
from trace.api.io import public_url
from trace.console import auth, forms, messages
from trace.console.batch_pages import producer_actor
from trace.console.pages import render
from trace.db import db, transaction
from trace.epcis import cbv
from trace.provinces import VIETNAM
from trace.services.batchwork.choices import stage_choices
from trace.services.errors import ServiceError
from trace.services.events import corrections, stages
from trace.services.events.history import local_iso, stage_names
from trace.units import UNITS

_stage_form = StageForm()
_correction_form = CorrectionForm()


@dataclass(frozen=True)
class StageOption:
    key: str
    stage: str
    label: LazyString
    hint: LazyString


STAGE_OPTIONS = [
    StageOption("harvesting", "harvesting", lazy_gettext("Harvesting"),
                lazy_gettext("Picked or harvested at a farm")),
    StageOption("packing", "packing", lazy_gettext("Packing"),
                lazy_gettext("Sorted and packed")),
    StageOption("storing", "storing", lazy_gettext("Storing"),
                lazy_gettext("Kept in a store or cold store")),
    StageOption("shipping", "shipping", lazy_gettext("Shipping"),
                lazy_gettext("Sent to a partner")),
    StageOption("receiving", "receiving", lazy_gettext("Receiving"),
                lazy_gettext("Received from a partner")),
    StageOption("processing", "processing", lazy_gettext("Processing"),
                lazy_gettext("Made from other batches")),
    StageOption("selling", "retail_selling", lazy_gettext("Selling"),
                lazy_gettext("Sold to consumers")),
]  # fmt: skip
BY_STAGE = {option.stage: option for option in STAGE_OPTIONS}
#: rows a list of the form starts with; "more rows" adds this many again
ROWS = {"inputs": 3, "temperatures": 2, "documents": 2}
MAX_ROWS = 60
BUTTONS = ("save", "more")
REASONS = [
    ("incorrect_data", lazy_gettext("Some details were wrong")),
    ("did_not_occur", lazy_gettext("This did not happen")),
]


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/batches/<int:batch_id>/stage", "stage", stage_form, methods=["GET"])
    bp.add_url_rule("/batches/<int:batch_id>/stage", "stage_post", record, methods=["POST"])
    bp.add_url_rule(
        "/batches/<int:batch_id>/events/<int:event_pk>/correct",
        "correct",
        correction_form,
        methods=["GET"],
    )
    bp.add_url_rule(
        "/batches/<int:batch_id>/events/<int:event_pk>/correct",
        "correct_post",
        correct,
        methods=["POST"],
    )


def now_local() -> str:
    """Now in +07:00, as a ``datetime-local`` field shows it."""
    return dt.datetime.now(VIETNAM).strftime("%Y-%m-%dT%H:%M")


def _rows(form: forms.FormState, name: str, extra: int = 0) -> int:
    typed = [
        int(parts[1])
        for key in form.values
        if (parts := key.split(forms.SEPARATOR))[0] == name and len(parts) == 3
        and parts[1].isdigit()
    ]  # fmt: skip
    return min(MAX_ROWS, max(ROWS[name], 1 + max(typed, default=-1)) + extra)


def _stage_page(batch_id: int, form: forms.FormState, status: int = 200,
                more: str | None = None) -> Response:  # fmt: skip
    actor = producer_actor()
    offered = stage_choices(db.session, actor, batch_id)
    option = BY_STAGE.get(str(form.value("stage")))
    rows = {name: _rows(form, name, ROWS[name] if name == more else 0) for name in ROWS}
    return render(
        "console/stage.html",
        status,
        form=form,
        option=option,
        options=STAGE_OPTIONS,
        offered=offered,
        batch=offered.batch,
        rows=rows,
        units=sorted(UNITS),
        document_types=sorted(cbv.BIZ_TRANSACTION_TYPES),
        now=now_local(),
    )


@auth.signed_in
def stage_form(batch_id: int) -> Response:
    asked = request.args.get("stage", "")
    values = {"stage": asked} if asked in BY_STAGE else {}
    return _stage_page(batch_id, forms.FormState(values=values))


@auth.signed_in
def record(batch_id: int) -> BaseResponse:
    actor = producer_actor()
    more = request.form.get("more", "")
    if more in ROWS:  # more rows, without JavaScript: the form again as typed, nothing written
        return _stage_page(batch_id, forms.state(request.form), more=more)
    try:
        data = _stage_form.load(forms.typed(_stage_form, forms.nested(_posted())))
        if data["stage"] not in BY_STAGE:
            raise ValidationError({"stage": ["Must be one of: {choices}."]})
        with transaction(write=True) as session:
            result = stages.record_stage(session, actor, batch_id, data, public_url())
    except (ValidationError, ServiceError) as error:
        shown = messages.readable(error)
        status = shown.status if isinstance(shown, ServiceError) else 422
        return _stage_page(batch_id, forms.state(request.form, shown), status)
    return redirect(
        url_for("console.batch", batch_id=batch_id, recorded=result.events[0].hash_id), 303
    )


def _posted() -> MultiDict[str, str]:
    """The form without its buttons' names (no schema loads them)."""
    posted = request.form.copy()
    for button in BUTTONS:
        posted.pop(button, None)
    return posted


def _correction_page(batch_id: int, event_pk: int, form: forms.FormState,
                     status: int = 200) -> Response:  # fmt: skip
    producer_actor()
    event = corrections.event_of_batch(db.session, auth.current_actor(), batch_id, event_pk)
    return render(
        "console/correct.html",
        status,
        form=form,
        event=event,
        stage=stage_names(event.biz_step),
        when=dt.datetime.fromisoformat(
            local_iso(event.event_time, event.event_time_zone_offset or "+07:00")
        ),
        batch_id=batch_id,
        reasons=REASONS,
        again=_again(event.biz_step),
    )


def _again(biz_step: str | None) -> str | None:
    option = BY_STAGE.get((biz_step or "").removeprefix(cbv.EXTENSION_NS))
    return option.stage if option else None


@auth.signed_in
def correction_form(batch_id: int, event_pk: int) -> Response:
    return _correction_page(batch_id, event_pk, forms.FormState())


@auth.signed_in
def correct(batch_id: int, event_pk: int) -> BaseResponse:
    actor = producer_actor()
    try:
        data: dict[str, Any] = _correction_form.load(forms.nested(request.form))
        with transaction(write=True) as session:
            corrections.declare_error(
                session, actor, batch_id, event_pk, data["reason"], data.get("explanation")
            )
    except (ValidationError, ServiceError) as error:
        shown = messages.readable(error)
        if isinstance(shown, ServiceError) and shown.status in (403, 404):
            raise error from None
        status = shown.status if isinstance(shown, ServiceError) else 422
        return _correction_page(batch_id, event_pk, forms.state(request.form, shown), status)
    return redirect(url_for("console.batch", batch_id=batch_id, corrected=1), 303)
