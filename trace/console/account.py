"""The signed-in person's own account: personal API tokens (created, shown once, listed,
revoked) and their sessions (sign out everywhere)."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from trace.console import auth
from trace.console.forms import FormState, state
from trace.console.pages import render
from trace.db import db, transaction
from trace.models import UserSession
from trace.services.accounts import sessions
from trace.services.errors import ServiceError
from trace.services.registry import tokens


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/account", "account", account, methods=["GET"])
    bp.add_url_rule("/account/tokens", "create_token", create_token, methods=["POST"])
    bp.add_url_rule(
        "/account/tokens/<int:token_id>/revoke", "revoke_token", revoke_token, methods=["POST"]
    )
    bp.add_url_rule("/account/sessions/end", "end_my_sessions", end_my_sessions, methods=["POST"])


def _page(
    form: FormState | None = None, new_secret: str | None = None, status: int = 200
) -> Response:
    actor = auth.current_actor()
    open_sessions = db.session.scalar(
        select(func.count())
        .select_from(UserSession)
        .where(UserSession.user_id == actor.user_id, UserSession.ended_at.is_(None))
    )
    return render(
        "console/account.html",
        status,
        user=auth.current_user(),
        tokens=tokens.personal_tokens(db.session, actor),
        open_sessions=open_sessions or 0,
        form=form or FormState(),
        new_secret=new_secret,
    )


@auth.signed_in
def account() -> Response:
    return _page()


@auth.signed_in
def create_token() -> Response:
    try:
        with transaction(write=True) as session:
            _, secret = tokens.create_personal_token(
                session, auth.current_actor(), request.form.get("name", "")
            )
    except ServiceError as error:
        return _page(state(request.form, error), status=422)
    return _page(new_secret=secret, status=201)


@auth.signed_in
def revoke_token(token_id: int) -> BaseResponse:
    with transaction(write=True) as session:
        tokens.revoke_token(session, auth.current_actor(), token_id)
    return redirect(url_for("console.account"), 303)


@auth.signed_in
def end_my_sessions() -> BaseResponse:
    """Sign out everywhere, this browser included."""
    actor = auth.current_actor()
    assert actor.user_id is not None
    with transaction(write=True) as session:
        sessions.end_all(session, actor, actor.user_id)
    response = redirect(url_for("console.sign_in"), 303)
    auth.clear_cookie(response)
    return response
