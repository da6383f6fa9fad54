"""An organisation's facilities and products: register, edit, archive, take out of the
archive; a product with its image (a JPEG or PNG upload, checked and re-encoded by
:mod:`trace.services.registry.images` before anything is written). Forms load through the
API's schemas; the registry's services decide who may write (facilities: the organisation's
own producer, its centre, an admin; products: its centre or an admin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from trace.api.schemas import (
    FacilitySchema,
    FacilityUpdateSchema,
    ProductSchema,
    ProductUpdateSchema,
)
from trace.console import auth
from trace.console.forms import FormState
from trace.console.pages import render
from trace.console.registry_forms import (
    IMAGE_PROBLEMS,
    failed,
    load,
    product_category,
    values_of,
)
from trace.console.words import facility_kind
from trace.db import db, transaction
from trace.models import Facility, FacilityKind, Organization, Product, ProductCategory
from trace.provinces import PROVINCES
from trace.public.i18n import unit_name
from trace.services.actors import Actor
from trace.services.errors import ServiceError
from trace.services.registry import catalogue, directory, images
from trace.units import UNITS

FACILITY_FIELDS = ("kind", "name", "gln", "address", "province_code", "commune_code",
                   "latitude", "longitude")  # fmt: skip
PRODUCT_FIELDS = ("name_vi", "name_en", "category", "gtin", "ocop_stars",
                  "geographical_indication", "standards", "unit", "shelf_life_days",
                  "description_vi", "description_en", "origin_province_code",
                  "safety_warning_vi", "safety_warning_en")  # fmt: skip


def register(bp: Blueprint) -> None:
    routes: list[tuple[str, str, Any, str]] = [
        ("/organisations/<int:org_id>/facilities/new", "facility_new", facility_new, "GET"),
        ("/organisations/<int:org_id>/facilities/new", "facility_create", facility_create,
         "POST"),
        ("/facilities/<int:facility_id>/edit", "facility_edit", facility_edit, "GET"),
        ("/facilities/<int:facility_id>/edit", "facility_update", facility_update, "POST"),
        ("/facilities/<int:facility_id>/archive", "facility_archive", facility_archive, "POST"),
        ("/facilities/<int:facility_id>/unarchive", "facility_unarchive", facility_unarchive,
         "POST"),
        ("/organisations/<int:org_id>/products/new", "product_new", product_new, "GET"),
        ("/organisations/<int:org_id>/products/new", "product_create", product_create, "POST"),
        ("/products/<int:product_id>/edit", "product_edit", product_edit, "GET"),
        ("/products/<int:product_id>/edit", "product_update", product_update, "POST"),
        ("/products/<int:product_id>/archive", "product_archive", product_archive, "POST"),
        ("/products/<int:product_id>/unarchive", "product_unarchive", product_unarchive,
         "POST"),
    ]  # fmt: skip
    for path, endpoint, view, method in routes:
        bp.add_url_rule(path, endpoint, view, methods=[method])


def _back(org_id: int, done: str) -> BaseResponse:
    return redirect(url_for("console.organisation", org_id=org_id, done=done), 303)


def _refused(error: ValidationError | ServiceError) -> bool:
    return isinstance(error, ServiceError) and error.status in (403, 404)


def _change_archive(
    read: Callable[[Session, Actor, int], Facility | Product],
    change: Callable[[Session, Actor, int], object],
    thing_id: int,
    notice: str,
) -> BaseResponse:
    """Archive or take out of the archive (``change``) a facility or product the user may read,
    then back to its organisation's page."""
    org_id = read(db.session, auth.current_actor(), thing_id).organization_id
    with transaction(write=True) as session:
        change(session, auth.current_actor(), thing_id)
    return _back(org_id, notice)


# Facilities ---------------------------------------------------------------------------------


def _facility_org(org_id: int) -> Organization:
    actor = auth.current_actor()
    org = directory.organization(db.session, actor, org_id)
    actor.require(
        actor.may_manage_organization(org.id, org.province_code),
        "register facilities for this organisation",
    )
    return org


def _editable_facility(facility_id: int) -> Facility:
    actor = auth.current_actor()
    facility = directory.facility(db.session, actor, facility_id)
    org = facility.organization
    actor.require(actor.may_manage_organization(org.id, org.province_code), "change this facility")
    return facility


def _facility_page(
    form: FormState, org: Organization, facility: Facility | None = None, status: int = 200
) -> Response:
    return render(
        "console/registry/facility_form.html",
        status,
        form=form,
        org=org,
        facility=facility,
        kinds=[(kind.value, facility_kind(kind.value)) for kind in FacilityKind],
        provinces=sorted(PROVINCES.items(), key=lambda item: item[1]),
    )


@auth.signed_in
def facility_new(org_id: int) -> Response:
    org = _facility_org(org_id)
    return _facility_page(FormState(values={"province_code": org.province_code}), org)


@auth.signed_in
def facility_create(org_id: int) -> BaseResponse:
    org = _facility_org(org_id)
    try:
        data = load(FacilitySchema(), extra={"organization_id": org_id})
        with transaction(write=True) as session:
            catalogue.create_facility(session, auth.current_actor(), data)
    except (ValidationError, ServiceError) as error:
        if _refused(error):
            raise
        return _facility_page(failed(error), org, status=422)
    return _back(org_id, "created")


@auth.signed_in
def facility_edit(facility_id: int) -> Response:
    facility = _editable_facility(facility_id)
    values = values_of(facility, FACILITY_FIELDS)
    return _facility_page(FormState(values=values), facility.organization, facility)


@auth.signed_in
def facility_update(facility_id: int) -> BaseResponse:
    facility = _editable_facility(facility_id)
    org_id = facility.organization_id
    try:
        changes = load(FacilityUpdateSchema(partial=True), edit=True)
        with transaction(write=True) as session:
            catalogue.update_facility(session, auth.current_actor(), facility_id, changes)
    except (ValidationError, ServiceError) as error:
        if _refused(error):
            raise
        facility = directory.facility(db.session, auth.current_actor(), facility_id)
        return _facility_page(failed(error), facility.organization, facility, 422)
    return _back(org_id, "saved")


@auth.signed_in
def facility_archive(facility_id: int) -> BaseResponse:
    return _change_archive(directory.facility, catalogue.archive_facility, facility_id, "archived")


@auth.signed_in
def facility_unarchive(facility_id: int) -> BaseResponse:
    return _change_archive(
        directory.facility, catalogue.unarchive_facility, facility_id, "unarchived"
    )


# Products -----------------------------------------------------------------------------------


def _product_org(org_id: int) -> Organization:
    actor = auth.current_actor()
    org = directory.organization(db.session, actor, org_id)
    actor.require(
        actor.may_manage_province(org.province_code),
        f"register products in province {org.province_code}",
    )
    return org


def _editable_product(product_id: int) -> Product:
    actor = auth.current_actor()
    product = directory.product(db.session, actor, product_id)
    actor.require(
        actor.may_manage_province(product.organization.province_code), "change this product"
    )
    return product


def _product_page(
    form: FormState, org: Organization, product: Product | None = None, status: int = 200
) -> Response:
    return render(
        "console/registry/product_form.html",
        status,
        form=form,
        org=org,
        product=product,
        image_version=images.stored_version(product.image) if product else None,
        categories=[(c.value, product_category(c.value)) for c in ProductCategory],
        units=[(code, unit_name(code)) for code in UNITS],
        provinces=_all_provinces(),
        max_mb=images.MAX_BYTES // (1024 * 1024),
    )


def _all_provinces() -> list[tuple[str, str]]:
    return sorted(PROVINCES.items(), key=lambda item: item[1])


def _upload() -> tuple[images.PreparedImage | None, str | None]:
    """The uploaded image, prepared, or why it is refused (in the page's language)."""
    upload = request.files.get("image")
    if upload is None:
        return None, None
    data = upload.stream.read(images.MAX_BYTES + 1)
    if not data and not upload.filename:
        return None, None  # no file chosen
    try:
        return images.prepare(data), None
    except images.ImageRejected as rejected:
        return None, str(IMAGE_PROBLEMS[rejected.reason])


def _save_product(
    org: Organization, product: Product | None, edit: bool
) -> tuple[int | None, FormState | None]:
    """Load the form and the image, then write both or nothing; the product's id, or the form
    to show again with its errors."""
    prepared, image_problem = _upload()
    try:
        if edit:
            data = load(ProductUpdateSchema(partial=True), lists=("standards",), edit=True)
        else:
            data = load(ProductSchema(), lists=("standards",), extra={"organization_id": org.id})
    except ValidationError as error:
        form = failed(error)
        if image_problem:
            form.errors.setdefault("image", []).append(image_problem)
        return None, form
    if image_problem:
        form = failed(ValidationError({}))
        form.errors["image"] = [image_problem]
        return None, form
    try:
        with transaction(write=True) as session:
            saved = images.save_product(
                session,
                auth.current_actor(),
                data,
                prepared,
                product.id if product is not None else None,
            )
            return saved.id, None
    except ServiceError as error:
        if _refused(error):
            raise
        return None, failed(error)


@auth.signed_in
def product_new(org_id: int) -> Response:
    org = _product_org(org_id)
    values = {"origin_province_code": org.province_code, "unit": "KGM", "category": "fruit"}
    return _product_page(FormState(values=values), org)


@auth.signed_in
def product_create(org_id: int) -> BaseResponse:
    org = _product_org(org_id)
    _saved, form = _save_product(org, None, edit=False)
    if form is not None:
        org = directory.organization(db.session, auth.current_actor(), org_id)
        return _product_page(form, org, status=422)
    return _back(org_id, "created")


@auth.signed_in
def product_edit(product_id: int) -> Response:
    product = _editable_product(product_id)
    return _product_page(
        FormState(values=values_of(product, PRODUCT_FIELDS)), product.organization, product
    )


@auth.signed_in
def product_update(product_id: int) -> BaseResponse:
    product = _editable_product(product_id)
    org_id = product.organization_id
    _saved, form = _save_product(product.organization, product, edit=True)
    if form is not None:
        product = directory.product(db.session, auth.current_actor(), product_id)
        return _product_page(form, product.organization, product, 422)
    return _back(org_id, "saved")


@auth.signed_in
def product_archive(product_id: int) -> BaseResponse:
    return _change_archive(directory.product, catalogue.archive_product, product_id, "archived")


@auth.signed_in
def product_unarchive(product_id: int) -> BaseResponse:
    return _change_archive(directory.product, catalogue.unarchive_product, product_id, "unarchived")
