"""People, for admins and centre officers: invite someone to an organisation with a role (a
one-time link, valid 72 hours, shown to send by Zalo or SMS), issue a password reset link, end
a person's sessions, deactivate or reactivate them. The services decide who may manage whom
(a centre: producers and centre officers of its own province)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, request, url_for
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from trace.console import auth
from trace.console.forms import FormState, nested, state
from trace.console.pages import PAGE_SIZE, render
from trace.db import db, transaction
from trace.models import Organization, Role
from trace.services.accounts import links, sessions
from trace.services.errors import Forbidden, ServiceError
from trace.services.registry.text import storable_problem

MANAGERS = frozenset({Role.ADMIN, Role.CENTRE})


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/people", "people", people, methods=["GET"])
    bp.add_url_rule("/people/invite", "invite", invite, methods=["POST"])
    bp.add_url_rule("/people/<int:user_id>/reset", "reset_link", reset_link, methods=["POST"])
    bp.add_url_rule(
        "/people/<int:user_id>/sessions/end", "end_sessions", end_sessions, methods=["POST"]
    )
    bp.add_url_rule("/people/<int:user_id>/active", "set_active", set_active, methods=["POST"])


def _storable(value: str) -> None:
    problem = storable_problem(value)
    if problem:
        raise ValidationError(problem)


class InviteForm(Schema):
    email = fields.Email(load_default=None, validate=validate.Length(max=200))
    phone = fields.String(load_default=None, validate=[validate.Length(max=30), _storable])
    name = fields.String(load_default="", validate=[validate.Length(max=200), _storable])
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    organization_id = fields.Integer(load_default=None, strict=False)
    language = fields.String(load_default="vi", validate=validate.OneOf(["vi", "en"]))


def _require_manager() -> None:
    if auth.current_actor().role not in MANAGERS:
        raise Forbidden("Only administrators and centre officers manage people.")


def _organizations() -> list[tuple[int, str]]:
    actor = auth.current_actor()
    stmt = select(Organization.id, Organization.name).where(Organization.archived_at.is_(None))
    if actor.role is Role.CENTRE:
        stmt = stmt.where(Organization.province_code == actor.province_code)
    return [
        (row.id, row.name)
        for row in db.session.execute(stmt.order_by(Organization.name).limit(1000))
    ]


def _roles() -> list[Role]:
    if auth.current_actor().is_admin:
        return list(Role)
    return [Role.PRODUCER, Role.CENTRE]


def link_url(secret: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}/console/welcome/{secret}"


def _page(form: FormState | None = None, status: int = 200, **context: Any) -> Response:
    q = request.args.get("q", "").strip()[:200]
    after = request.args.get("after", "")
    after_id = int(after) if after.isdigit() and len(after) < 10 else None
    rows = links.manageable_users(db.session, auth.current_actor(), q, PAGE_SIZE + 1, after_id)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(
        "console/people.html",
        status,
        rows=rows,
        q=q,
        next_after=rows[-1].id if more and rows else None,
        paged=after_id is not None,
        form=form or FormState(values={"role": "producer"}),
        organizations=_organizations(),
        roles=_roles(),
        **context,
    )


@auth.signed_in
def people() -> Response:
    _require_manager()
    return _page()


@auth.signed_in
def invite() -> Response:
    _require_manager()
    try:
        data = InviteForm().load(nested(request.form))
        with transaction(write=True) as session:
            user, secret = links.invite(
                session,
                auth.current_actor(),
                role=Role(data["role"]),
                organization_id=data["organization_id"],
                email=data["email"],
                phone=data["phone"],
                name=data["name"],
                language=data["language"],
            )
            login = user.login
    except (ValidationError, ServiceError) as error:
        if isinstance(error, ServiceError) and error.status == 403:
            raise
        return _page(state(request.form, error), 422)
    return _page(status=201, issued={"url": link_url(secret), "login": login, "kind": "invitation"})


@auth.signed_in
def reset_link(user_id: int) -> Response:
    _require_manager()
    with transaction(write=True) as session:
        user, secret = links.issue_reset(session, auth.current_actor(), user_id)
        login = user.login
    return _page(status=201, issued={"url": link_url(secret), "login": login, "kind": "reset"})


@auth.signed_in
def end_sessions(user_id: int) -> BaseResponse:
    _require_manager()
    with transaction(write=True) as session:
        sessions.end_all(session, auth.current_actor(), user_id)
    return _back()


@auth.signed_in
def set_active(user_id: int) -> BaseResponse:
    _require_manager()
    active = request.form.get("active") == "1"
    with transaction(write=True) as session:
        links.set_active(session, auth.current_actor(), user_id, active)
    return _back()


def _back() -> BaseResponse:
    """Back to the people page, or to the console page the form came from (an
    organisation's)."""
    return redirect(auth.safe_next(request.form.get("next"), url_for("console.people")), 303)
