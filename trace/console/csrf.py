"""CSRF protection of every state-changing console request.

The token is an HMAC (the app's secret key) of a per-browser seed: the session's secret when
signed in, else a random ``trace_csrf`` cookie given to anonymous visitors (the sign-in form is
protected too, so no one can sign a victim in to an account of theirs). Signing in changes the
seed, so a token seen before sign-in is worthless after. Forms carry it with
``{{ csrf_field() }}``; :func:`check` runs before every console POST, and a missing or wrong
token gets a friendly 400 page before any view runs: nothing is written.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Response, current_app, g, request
from markupsafe import Markup, escape

from trace.console.auth import COOKIE_PATH, current_session

FIELD = "csrf_token"
ANON_COOKIE = "trace_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Exception):
    """The request carries no valid CSRF token."""


def _seed() -> str:
    signed = current_session()
    if signed is not None:
        return "session:" + signed.secret
    seed = g.get("csrf_anon_seed") or request.cookies.get(ANON_COOKIE, "")
    if not seed or len(seed) > 100:
        seed = secrets.token_urlsafe(32)
        g.csrf_new_seed = seed
    g.csrf_anon_seed = seed
    return "anon:" + seed


def token() -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, ("trace.console.csrf|" + _seed()).encode(), hashlib.sha256).hexdigest()


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, escape(token()))


def check() -> None:
    """Raise :class:`CsrfFailed` on a state-changing request without the right token."""
    if request.method in SAFE_METHODS:
        return
    had_seed = current_session() is not None or bool(request.cookies.get(ANON_COOKIE))
    sent = request.form.get(FIELD, "") or request.headers.get("X-CSRF-Token", "")
    if not had_seed or not sent or not hmac.compare_digest(sent, token()):
        raise CsrfFailed()


def remember_seed(response: Response) -> Response:
    """Give an anonymous visitor the seed its forms' tokens were made from."""
    seed = g.pop("csrf_new_seed", None)
    if seed:
        response.set_cookie(
            ANON_COOKIE,
            seed,
            path=COOKIE_PATH,
            httponly=True,
            samesite="Lax",
            secure=current_app.config.get("ENV") == "production",
        )
    return response
