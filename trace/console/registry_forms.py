"""Loading the registry's console forms through the API's own schemas.

A new thing's form loads like the API's POST; an edit form like its PATCH, with every field of
the form sent, so a field left empty clears the value (``None``) rather than keeping it."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flask import request
from flask_babel import lazy_gettext
from marshmallow import Schema, ValidationError

from trace.console.forms import FormState, nested, state, typed
from trace.console.messages import reworded
from trace.services.errors import ServiceError

#: why an image upload was refused (:class:`trace.services.registry.images.ImageRejected`)
IMAGE_PROBLEMS = {
    "too_large": lazy_gettext("The image is larger than 5 MB."),
    "not_image": lazy_gettext("This file is not a JPEG or PNG image."),
    "too_many_pixels": lazy_gettext(
        "The image has too many pixels: at most 8000 on a side and 40 megapixels."
    ),
    "damaged": lazy_gettext("The image is damaged or incomplete."),
}

ORGANIZATION_KIND = {
    "centre": lazy_gettext("Technology centre"),
    "producer": lazy_gettext("Producer"),
    "cooperative": lazy_gettext("Cooperative"),
    "processor": lazy_gettext("Processor"),
    "distributor": lazy_gettext("Distributor"),
    "retailer": lazy_gettext("Retailer"),
    "inspection_agency": lazy_gettext("Inspection agency"),
}

PRODUCT_CATEGORY = {
    "fruit": lazy_gettext("Fruit"),
    "vegetable": lazy_gettext("Vegetables"),
    "coffee": lazy_gettext("Coffee"),
    "tea": lazy_gettext("Tea"),
    "rice": lazy_gettext("Rice"),
    "seafood": lazy_gettext("Seafood"),
    "condiment": lazy_gettext("Condiments and sauces"),
    "processed": lazy_gettext("Processed food"),
    "other": lazy_gettext("Other"),
}


def organization_kind(value: str) -> str:
    return str(ORGANIZATION_KIND.get(value, value))


def product_category(value: str) -> str:
    return str(PRODUCT_CATEGORY.get(value, value))


#: notices shown after a change (``?done=``)
DONE = {
    "created": lazy_gettext("Saved."),
    "saved": lazy_gettext("Your changes are saved."),
    "archived": lazy_gettext("Archived: it is no longer offered in lists; its history is kept."),
    "unarchived": lazy_gettext("Taken out of the archive."),
}


def done_notice() -> str | None:
    notice = DONE.get(request.args.get("done", ""))
    return str(notice) if notice is not None else None


def load(
    schema: Schema,
    *,
    lists: Collection[str] = (),
    edit: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The posted form as ``schema`` loads it (raises marshmallow's ValidationError), with
    ``extra`` (what the page's address says, e.g. the organisation)."""
    data = {**nested(request.form, lists=lists), **(extra or {})}
    if edit:
        for name, field_obj in schema.fields.items():
            if field_obj.dump_only or name in data:
                continue
            if field_obj.allow_none and name in request.form:
                data[name] = None
    return dict(schema.load(typed(schema, data)))


def values_of(entity: Any, names: Collection[str]) -> dict[str, str]:
    """An entity's current values as a form shows them."""
    values: dict[str, str] = {}
    for name in names:
        value = getattr(entity, name, None)
        if value is None:
            continue
        if isinstance(value, list):
            for index, item in enumerate(value):
                values[f"{name}-{index}"] = str(item)
            continue
        values[name] = str(getattr(value, "value", value))
    return values


def failed(error: ValidationError | ServiceError) -> FormState:
    """The posted form shown again with ``error``'s messages, in the page's language."""
    result = state(request.form, error)
    for name, messages in result.errors.items():
        result.errors[name] = [reworded(message) for message in messages]
    result.general = [reworded(message) for message in result.general]
    return result
