"""Who is signed in to the console.

The session cookie (``trace_console``, HttpOnly, SameSite=Lax, Secure in production) carries a
random secret; :mod:`trace.services.accounts.sessions` finds its row. :func:`load` runs before
every console request; views use :func:`signed_in`, :func:`current_user` and
:func:`current_actor`, which gives the same :class:`~trace.services.actors.Actor` as a personal
token of the user, so the services apply the same rules and the audit names the user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from trace.db import db, transaction
from trace.models import User
from trace.services.accounts import sessions, users
from trace.services.accounts.passwords import Cost
from trace.services.actors import Actor

COOKIE = "trace_console"
COOKIE_PATH = "/console"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class SignedIn:
    """The request's session: its row id, its user, and the cookie's secret (the CSRF seed)."""

    session_id: int
    user_id: int
    secret: str


def lifetimes() -> sessions.Lifetimes:
    config = current_app.config
    return sessions.Lifetimes(
        idle=dt.timedelta(minutes=int(config["CONSOLE_IDLE_MINUTES"])),
        absolute=dt.timedelta(hours=int(config["CONSOLE_SESSION_HOURS"])),
    )


def password_cost() -> Cost:
    config = current_app.config
    return Cost(int(config["PASSWORD_TIME_COST"]), int(config["PASSWORD_MEMORY_KIB"]))


def load() -> None:
    """Find the request's session from its cookie (``g.console``)."""
    g.console = None
    g.console_touch = False
    secret = request.cookies.get(COOKIE, "")
    if not secret:
        return
    row = sessions.find(db.session, secret, lifetimes())
    if row is None:
        return
    g.console = SignedIn(row.id, row.user_id, secret)
    g.console_touch = sessions.needs_touch(row)


def note_seen() -> None:
    """Note that the session was seen (at most once a minute: a page view must not write
    every time); after the CSRF check, so a refused request writes nothing."""
    signed = current_session()
    if signed is not None and g.pop("console_touch", False):
        with transaction(write=True) as session:
            sessions.touch(session, signed.session_id)


def current_session() -> SignedIn | None:
    return cast(SignedIn | None, g.get("console"))


def current_user() -> User | None:
    """The signed-in user, or ``None``."""
    signed = current_session()
    if signed is None:
        return None
    user = g.get("console_user")
    if user is None or user.id != signed.user_id:
        # kept on g: the session's identity map holds rows weakly, and a page asks several times
        user = g.console_user = db.session.get(User, signed.user_id)
    return cast(User | None, user)


def current_actor() -> Actor:
    """The signed-in user as the services' actor (views behind :func:`signed_in` only)."""
    user = current_user()
    if user is None:
        raise RuntimeError("current_actor() needs a signed-in user (use @signed_in)")
    return users.actor_for(user)


def safe_next(target: str | None, default: str | None = None) -> str:
    """``target`` when it is a path of this site's console, else the console's home: never an
    address elsewhere (``//evil``, ``https://…``, ``/\\evil``)."""
    fallback = default or url_for("console.home")
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(COOKIE_PATH):
        return fallback
    if target.startswith("//"):
        return fallback
    return target


def signed_in(view: F) -> F:
    """The view needs a signed-in user; an anonymous visitor is sent to sign in, and back."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_session() is None:
            wanted = request.full_path if request.method == "GET" else request.path
            return redirect(url_for("console.sign_in", next=safe_next(wanted.rstrip("?"))))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def set_cookie(response: BaseResponse, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(lifetimes().absolute.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("ENV") == "production",
    )


def clear_cookie(response: BaseResponse) -> None:
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("ENV") == "production",
    )
