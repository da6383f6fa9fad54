"""``/console/welcome/<link>``: the person invited, or sent a reset link, sets a password and
is signed in. A link works once and for 72 hours; after that it is a friendly "not valid"."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from trace.console import auth, throttling
from trace.console.forms import FormState, state
from trace.console.pages import render
from trace.db import db, transaction
from trace.services.accounts import links, sessions
from trace.services.errors import FieldError, InvalidInput, NotFound


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/welcome/<secret>", "welcome", welcome, methods=["GET"])
    bp.add_url_rule("/welcome/<secret>", "welcome_post", set_password, methods=["POST"])


def _invalid() -> Response:
    return render("console/welcome.html", 404, link=None, form=FormState(), secret="")


def welcome(secret: str) -> Response:
    link = links.find(db.session, secret)
    if link is None:
        return _invalid()
    return render("console/welcome.html", link=link, form=FormState(), secret=secret)


def set_password(secret: str) -> BaseResponse:
    password = request.form.get("password", "")[:1000]
    if password != request.form.get("password_confirm", "")[:1000]:
        link = links.find(db.session, secret)
        if link is None:
            return _invalid()
        error = InvalidInput("", errors=[FieldError("/password_confirm", "mismatch")])
        return render("console/welcome.html", 422, link=link, form=state({}, error), secret=secret)
    try:
        with transaction(write=True) as session:
            user = links.use(session, secret, password, auth.password_cost())
            login = user.login
            _, cookie = sessions.start(session, user, auth.lifetimes())
    except NotFound:
        return _invalid()
    except InvalidInput as error:
        link = links.find(db.session, secret)
        if link is None:
            return _invalid()
        return render("console/welcome.html", 422, link=link, form=state({}, error), secret=secret)
    response = redirect(url_for("console.home"), 303)
    auth.set_cookie(response, cookie)
    throttling.remember_browser(response, login)
    return response
