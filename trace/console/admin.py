"""The administrator's screens: people across provinces (end their sessions, deactivate or
reactivate them, revoke their API tokens), the audit log, and the system's status. Only an
administrator reaches ``/console/admin/*`` (:func:`trace.services.admin.require_admin`, which
the services apply too)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, current_app, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from trace.codeview import live
from trace.console import auth
from trace.console.pages import render
from trace.db import db, transaction
from trace.models import Role
from trace.provinces import PROVINCES
from trace.services.accounts import links, sessions
from trace.services.admin import audit_log, directory, require_admin, status
from trace.services.registry import tokens

PEOPLE_PER_PAGE = 25
ENTRIES_PER_PAGE = 50
VN = dt.timezone(dt.timedelta(hours=7))
F = TypeVar("F", bound=Callable[..., Any])


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/admin/users", "admin_users", users_page, methods=["GET"])
    bp.add_url_rule("/admin/users/<int:user_id>", "admin_user", user_page, methods=["GET"])
    bp.add_url_rule("/admin/users/<int:user_id>/sessions/end", "admin_end_sessions",
                    end_sessions, methods=["POST"])  # fmt: skip
    bp.add_url_rule("/admin/users/<int:user_id>/active", "admin_set_active", set_active,
                    methods=["POST"])  # fmt: skip
    bp.add_url_rule("/admin/tokens/<int:token_id>/revoke", "admin_revoke_token", revoke_token,
                    methods=["POST"])  # fmt: skip
    bp.add_url_rule("/admin/audit", "admin_audit", audit_page, methods=["GET"])
    bp.add_url_rule("/admin/status", "admin_status", status_page, methods=["GET"])


def admin_only(view: F) -> F:
    """Signed in, and an administrator: anyone else gets the 403 page."""

    @auth.signed_in
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_admin(auth.current_actor())
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _whole(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def user_filters() -> directory.UserFilters:
    """The people list's filters from the query string; anything unrecognised filters nothing."""
    args = request.args
    role, province = args.get("role", ""), args.get("province", "")
    return directory.UserFilters(
        q=args.get("q", "").strip()[:200],
        province_code=province if province in PROVINCES else None,
        organization_id=_whole("organization_id"),
        role=Role(role) if role in {r.value for r in Role} else None,
        active={"1": True, "0": False}.get(args.get("active", "")),
        signed_in=args.get("signed_in") if args.get("signed_in") in ("recent", "stale", "never")
        else None,
    )  # fmt: skip


@admin_only
def users_page() -> Response:
    filters = user_filters()
    actor = auth.current_actor()
    people, next_after = directory.list_users(
        db.session, actor, filters, PEOPLE_PER_PAGE, _whole("after")
    )
    query = {k: v for k, v in request.args.items() if k != "after" and v}
    return render(
        "console/admin/users.html",
        people=people,
        filters=filters,
        query=query,
        next_after=next_after,
        paged=_whole("after") is not None,
        provinces=sorted(PROVINCES.items()),
        organizations=directory.organizations(db.session, actor, filters.province_code),
        recent_days=directory.RECENT_DAYS,
        province_names=PROVINCES,
        roles=list(Role),
    )


@admin_only
def user_page(user_id: int) -> Response:
    actor = auth.current_actor()
    person = directory.get_user(db.session, actor, user_id)
    return render(
        "console/admin/user.html",
        person=person,
        tokens=directory.user_tokens(db.session, actor, user_id),
        province_names=PROVINCES,
        ended=request.args.get("ended"),
    )


def _back(user_id: int, **extra: Any) -> BaseResponse:
    return redirect(url_for("console.admin_user", user_id=user_id, **extra), 303)


@admin_only
def end_sessions(user_id: int) -> BaseResponse:
    with transaction(write=True) as session:
        ended = sessions.end_all(session, auth.current_actor(), user_id)
    return _back(user_id, ended=ended)


@admin_only
def set_active(user_id: int) -> BaseResponse:
    active = request.form.get("active") == "1"
    with transaction(write=True) as session:
        links.set_active(session, auth.current_actor(), user_id, active)
    return _back(user_id)


@admin_only
def revoke_token(token_id: int) -> BaseResponse:
    with transaction(write=True) as session:
        token = tokens.revoke_token(session, auth.current_actor(), token_id)
        owner = token.user_id
    if owner is None:
        return redirect(url_for("console.admin_audit", entity_type="api_token"), 303)
    return _back(owner)


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, "")[:10])
    except ValueError:
        return None


def audit_filters() -> tuple[audit_log.AuditFilters, dict[str, str]]:
    """The filters, and the values to show back in the form. Days are Vietnam's (UTC+7)."""
    since, until = _day("since"), _day("until")
    action = request.args.get("action", "").strip()[:40]
    entity_type = request.args.get("entity_type", "").strip()[:40]
    filters = audit_log.AuditFilters(
        user_id=_whole("user_id"),
        organization_id=_whole("organization_id"),
        action=action or None,
        entity_type=entity_type or None,
        since=dt.datetime.combine(since, dt.time(), VN) if since else None,
        until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), VN) if until else None,
    )
    shown = {
        "user_id": str(filters.user_id or ""),
        "organization_id": str(filters.organization_id or ""),
        "action": action,
        "entity_type": entity_type,
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
    }
    return filters, shown


#: where an audit entry's subject has a console page: its endpoint and the argument's name
SUBJECT_PAGES = {
    "batch": ("console.batch", "batch_id"),
    "user": ("console.admin_user", "user_id"),
    "print_run": ("console.print_run", "run_id"),
    "import": ("console.import_page", "import_id"),
    "organization": ("console.organisation", "org_id"),
}


def subject_link(entity_type: str, entity_id: str) -> str | None:
    if not entity_id.isdigit():
        return None
    page = SUBJECT_PAGES.get(entity_type)
    if page is None:
        return None
    values: dict[str, Any] = {page[1]: int(entity_id)}
    return url_for(page[0], **values)


@admin_only
def audit_page() -> Response:
    filters, shown = audit_filters()
    rows, next_before = audit_log.entries(
        db.session, auth.current_actor(), filters, ENTRIES_PER_PAGE, _whole("before")
    )
    query = {k: v for k, v in shown.items() if v}
    return render(
        "console/admin/audit.html",
        rows=rows,
        shown=shown,
        query=query,
        next_before=next_before,
        paged=_whole("before") is not None,
        subject_link=subject_link,
        kinds=KINDS,
        actions=ACTIONS,
    )


#: suggestions for the filters (any other value may be typed)
KINDS = ("organization", "facility", "product", "batch", "event", "code", "print_run", "recall",
         "report", "user", "api_token", "import", "certificate", "plot")  # fmt: skip
ACTIONS = ("create", "update", "archive", "capture", "correct", "print", "void", "issue",
           "recall", "close", "revoke", "import", "invitation", "reset", "set_password",
           "end_sessions", "resolve", "clear_copy_warning")  # fmt: skip


@admin_only
def status_page() -> Response:
    wanted = live.wanted(current_app, db.engine)
    found = live.health(current_app)
    lines = status.report(
        db.session,
        auth.current_actor(),
        instance_path=current_app.instance_path,
        live_wanted=wanted,
        live=status.LiveHealth(*found) if found is not None else None,
    )
    return render("console/admin/status.html", lines=lines, checked_at=dt.datetime.now(dt.UTC))
