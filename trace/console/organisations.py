"""The province's organisations: list (search without diacritics, filter by kind, archived
ones apart), register, read (facilities, products, people, certificates), edit, archive and
take out of the archive. Forms load through the API's schemas and write through the registry's
services, whose rules decide (a centre its province, an admin everywhere)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from trace.api.schemas import OrganizationSchema
from trace.console import auth
from trace.console.forms import FormState
from trace.console.pages import PAGE_SIZE, list_args, render
from trace.console.registry_forms import done_notice, failed, load, values_of
from trace.db import db, transaction
from trace.models import OrganizationKind, Role
from trace.provinces import PROVINCES
from trace.services.actors import Actor
from trace.services.errors import Forbidden, ServiceError
from trace.services.registry import catalogue, directory

FIELDS = ("kind", "name", "tax_code", "gln", "province_code", "address", "phone", "email",
          "website")  # fmt: skip


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/organisations", "organisations", organisations, methods=["GET"])
    bp.add_url_rule("/organisations/new", "organisation_new", new_form, methods=["GET"])
    bp.add_url_rule("/organisations/new", "organisation_create", create, methods=["POST"])
    bp.add_url_rule("/organisations/<int:org_id>", "organisation", detail, methods=["GET"])
    bp.add_url_rule(
        "/organisations/<int:org_id>/edit", "organisation_edit", edit_form, methods=["GET"]
    )
    bp.add_url_rule(
        "/organisations/<int:org_id>/edit", "organisation_update", update, methods=["POST"]
    )
    bp.add_url_rule(
        "/organisations/<int:org_id>/archive", "organisation_archive", archive, methods=["POST"]
    )
    bp.add_url_rule(
        "/organisations/<int:org_id>/unarchive",
        "organisation_unarchive",
        unarchive,
        methods=["POST"],
    )


def provinces_for() -> list[tuple[str, str]]:
    """The provinces the user may register in: a centre officer's own, every one for others."""
    actor = auth.current_actor()
    if actor.role is Role.CENTRE and actor.province_code in PROVINCES:
        return [(actor.province_code, PROVINCES[actor.province_code])]
    return sorted(PROVINCES.items(), key=lambda item: item[1])


def _may_register() -> bool:
    return auth.current_actor().role in (Role.ADMIN, Role.CENTRE)


@auth.signed_in
def organisations() -> Response:
    q, cursor = list_args()
    kind = request.args.get("kind", "")
    kind = kind if kind in {k.value for k in OrganizationKind} else ""
    archived = request.args.get("archived") == "1"
    province = request.args.get("province", "")
    province = province if province in PROVINCES else ""
    filters: dict[str, Any] = {"q": q, "kind": kind, "province": province, "archived": archived}
    rows, next_cursor = directory.list_organizations(
        db.session, auth.current_actor(), filters, PAGE_SIZE, cursor
    )
    g.console_list = True
    return render(
        "console/registry/organisations.html",
        rows=rows,
        q=q,
        kind=kind,
        archived=archived,
        next_cursor=next_cursor,
        paged=bool(cursor),
        may_register=_may_register(),
    )


def _form_page(form: FormState, status: int = 200, org: Any = None) -> Response:
    return render(
        "console/registry/organisation_form.html",
        status,
        form=form,
        org=org,
        provinces=provinces_for(),
    )


@auth.signed_in
def new_form() -> Response:
    if not _may_register():
        raise Forbidden("Only administrators and centre officers register organisations.")
    province = auth.current_actor().province_code or ""
    return _form_page(FormState(values={"kind": "producer", "province_code": province}))


@auth.signed_in
def create() -> BaseResponse:
    try:
        data = load(OrganizationSchema())
        with transaction(write=True) as session:
            org_id = catalogue.create_organization(session, auth.current_actor(), data).id
    except (ValidationError, ServiceError) as error:
        if isinstance(error, ServiceError) and error.status in (403, 404):
            raise
        return _form_page(failed(error), 422)
    return redirect(url_for("console.organisation", org_id=org_id, done="created"), 303)


@auth.signed_in
def detail(org_id: int) -> Response:
    actor = auth.current_actor()
    page = directory.organization_page(db.session, actor, org_id)
    org = page.organization
    return render(
        "console/registry/organisation.html",
        page=page,
        org=org,
        notice=done_notice(),
        may_edit=actor.may_manage_province(org.province_code),
        may_manage_facilities=actor.may_manage_organization(org.id, org.province_code),
        may_manage_people=directory.may_manage_people(actor, org),
        invite_form=FormState(values={"role": "producer", "organization_id": str(org.id)}),
    )


def _editable(org_id: int) -> Any:
    actor = auth.current_actor()
    org = directory.organization(db.session, actor, org_id)
    actor.require(actor.may_manage_province(org.province_code), "change this organisation")
    return org


@auth.signed_in
def edit_form(org_id: int) -> Response:
    org = _editable(org_id)
    return _form_page(FormState(values=values_of(org, FIELDS)), org=org)


@auth.signed_in
def update(org_id: int) -> BaseResponse:
    org = _editable(org_id)
    try:
        changes = load(OrganizationSchema(partial=True), edit=True)
        with transaction(write=True) as session:
            catalogue.update_organization(session, auth.current_actor(), org_id, changes)
    except (ValidationError, ServiceError) as error:
        if isinstance(error, ServiceError) and error.status in (403, 404):
            raise
        return _form_page(failed(error), 422, org=org)
    return redirect(url_for("console.organisation", org_id=org_id, done="saved"), 303)


@auth.signed_in
def archive(org_id: int) -> BaseResponse:
    return _change_archive(org_id, catalogue.archive_organization, "archived")


@auth.signed_in
def unarchive(org_id: int) -> BaseResponse:
    return _change_archive(org_id, catalogue.unarchive_organization, "unarchived")


def _change_archive(
    org_id: int, change: Callable[[Session, Actor, int], object], done: str
) -> BaseResponse:
    """Archive or take out of the archive (``change``) an organisation the user may read."""
    directory.organization(db.session, auth.current_actor(), org_id)
    with transaction(write=True) as session:
        change(session, auth.current_actor(), org_id)
    return redirect(url_for("console.organisation", org_id=org_id, done=done), 303)
