"""A producer's batches in the console: registering one, and a batch's own page (its journey as
the consumer sees it, plus who recorded what and the corrections). The form posts the API's
field names and goes through the API's :class:`~trace.api.schemas.BatchSchema` and the same
registry service; the page reads under the same read rule as ``/api/v1/batches/{id}/events``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from trace.api.io import public_url
from trace.api.schemas import BatchSchema
from trace.console import auth, forms, messages
from trace.console.pages import render
from trace.db import db, transaction
from trace.models import Role
from trace.provinces import VIETNAM
from trace.services.actors import Actor
from trace.services.batchwork import choices
from trace.services.batchwork.record import batch_details
from trace.services.errors import ServiceError
from trace.services.registry import catalogue
from trace.units import UNITS

_batch = BatchSchema()
#: certification rows the form offers (a blank row is ignored)
CERTIFICATION_ROWS = 3
MAX_CERTIFICATION_ROWS = 30


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/batches/new", "new_batch", new_batch_form, methods=["GET"])
    bp.add_url_rule("/batches/new", "new_batch_post", new_batch, methods=["POST"])
    bp.add_url_rule("/batches/<int:batch_id>", "batch", batch_page, methods=["GET"])


def producer_actor() -> Actor:
    """The signed-in producer: these forms are a producer's (403 for other roles)."""
    actor = auth.current_actor()
    actor.require(actor.role is Role.PRODUCER, "use the producer's forms")
    return actor


def today() -> dt.date:
    return dt.datetime.now(VIETNAM).date()


def _new_batch_page(form: forms.FormState, actor: Actor, status: int = 200) -> Response:
    products = choices.products(db.session, actor.organization_id)
    chosen = next((p for p in products if str(p.id) == str(form.value("product_id"))), None)
    if chosen is None and len(products) == 1:
        chosen = products[0]
    defaults: dict[str, Any] = {
        "production_date": today().isoformat(),
        "unit": "",
        "product_id": chosen.id if chosen is not None else "",
    }
    if chosen is not None:
        defaults["unit"] = chosen.unit
        if chosen.shelf_life_days:
            defaults["expiry_date"] = _expiry(
                str(form.value("production_date") or defaults["production_date"]),
                chosen.shelf_life_days,
            )
    return render(
        "console/batch_new.html",
        status,
        form=form,
        products=products,
        chosen=chosen,
        defaults=defaults,
        facilities=choices.facilities(db.session, actor.organization_id),
        units=sorted(UNITS),
        certification_rows=min(
            MAX_CERTIFICATION_ROWS,
            max(
                CERTIFICATION_ROWS,
                1 + max((int(k.split("-")[1]) for k in form.values if _is_cert_row(k)), default=-1),
            ),
        ),
    )


def _expiry(produced: str, shelf_life_days: int) -> str | None:
    """The expiry the service would work out for this production date (shown as a proposal)."""
    try:
        return (dt.date.fromisoformat(produced) + dt.timedelta(days=shelf_life_days)).isoformat()
    except (ValueError, OverflowError):
        return None


def _is_cert_row(name: str) -> bool:
    parts = name.split("-")
    return len(parts) == 2 and parts[0] == "certifications" and parts[1].isdigit()


@auth.signed_in
def new_batch_form() -> Response:
    actor = producer_actor()
    picked = request.args.get("product_id", "")[:12]
    return _new_batch_page(forms.FormState(values={"product_id": picked} if picked else {}), actor)


@auth.signed_in
def new_batch() -> BaseResponse:
    actor = producer_actor()
    try:
        data = _batch.load(forms.typed(_batch, forms.nested(request.form)))
        with transaction(write=True) as session:
            batch = catalogue.create_batch(session, actor, data)
            batch_id = batch.id
    except (ValidationError, ServiceError) as error:
        shown = messages.readable(error)
        status = shown.status if isinstance(shown, ServiceError) else 422
        return _new_batch_page(forms.state(request.form, shown), actor, status)
    return redirect(url_for("console.batch", batch_id=batch_id, registered=1), 303)


@auth.signed_in
def batch_page(batch_id: int) -> Response:
    actor = auth.current_actor()
    details = batch_details(db.session, actor, batch_id, public_url())
    recorded = request.args.get("recorded", "")[:200]
    just_recorded = next(
        (e for e in details.events if recorded and e.event.hash_id == recorded), None
    )
    return render(
        "console/batch.html",
        details=details,
        batch=details.batch,
        data=details.journey,
        mode="trace",
        just_recorded=just_recorded,
        registered=request.args.get("registered") == "1",
        corrected=request.args.get("corrected") == "1",
        may_record=actor.role is Role.PRODUCER,
    )
