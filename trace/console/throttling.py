"""The console's side of the sign-in throttle: which keys a request is counted under (its
login and its client address, keyed hashes only), the "known browser" mark, and how long to
wait in words the sign-in page shows."""

from __future__ import annotations

import datetime as dt
import hmac
import math

from flask import current_app, request
from werkzeug.wrappers import Response as BaseResponse

from trace.console.auth import COOKIE_PATH
from trace.public.client import client_address, client_key
from trace.services.accounts import throttle
from trace.services.accounts.signin import login_key

KNOWN_COOKIE = "trace_known"
KNOWN_MAX_AGE = 365 * 24 * 3600


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def policy() -> throttle.Policy:
    config = current_app.config
    return throttle.Policy(
        slow_after=int(config["SIGNIN_SLOW_AFTER"]),
        lock_after=int(config["SIGNIN_LOCK_AFTER"]),
        client_slow_after=int(config["SIGNIN_CLIENT_SLOW_AFTER"]),
        client_lock_after=int(config["SIGNIN_CLIENT_LOCK_AFTER"]),
        lock_minutes=int(config["SIGNIN_LOCK_MINUTES"]),
        forget_minutes=int(config["SIGNIN_FORGET_MINUTES"]),
    )


def _account_key(login: str) -> str:
    return throttle.key(_secret(), "account", login_key(login))


def _known_mark(account_key: str) -> str:
    return throttle.key(_secret(), "known-browser", account_key)


def keys_for(login: str) -> throttle.Keys:
    """This attempt's keys; a browser that signed in to this account before is not held by the
    account's count (see :mod:`trace.services.accounts.throttle`)."""
    account = _account_key(login)
    mark = request.cookies.get(KNOWN_COOKIE, "")
    known = bool(mark) and hmac.compare_digest(mark, _known_mark(account))
    client = throttle.key(_secret(), "client", client_key(client_address()))
    return throttle.Keys(account=None if known else account, client=client)


def remember_browser(response: BaseResponse, login: str) -> None:
    response.set_cookie(
        KNOWN_COOKIE,
        _known_mark(_account_key(login)),
        max_age=KNOWN_MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("ENV") == "production",
    )


def wait_words(until: dt.datetime) -> dict[str, str]:
    seconds = max(1, math.ceil((until - throttle.now()).total_seconds()))
    return {"wait_seconds": str(seconds), "wait_minutes": str(math.ceil(seconds / 60))}
