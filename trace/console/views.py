"""The console's own pages: sign-in and sign-out, the language switch, and what an
organisation has (products, batches with their counts, facilities). Views stay thin: one
service call each, the signed-in user as the actor."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from trace.console import auth, throttling
from trace.console.forms import FormState
from trace.console.pages import PAGE_SIZE, list_args, render
from trace.db import db, transaction
from trace.models import BatchStatus
from trace.provinces import PROVINCES
from trace.public.i18n import LANGUAGES
from trace.services.accounts import sessions, signin
from trace.services.registry import overview

LANGUAGE_COOKIE = "trace_lang"


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/sign-in", "sign_in", sign_in_form, methods=["GET"])
    bp.add_url_rule("/sign-in", "sign_in_post", sign_in, methods=["POST"])
    bp.add_url_rule("/sign-out", "sign_out", sign_out, methods=["POST"])
    bp.add_url_rule("/language", "language", language, methods=["POST"])
    bp.add_url_rule("/", "home", home, methods=["GET"])
    bp.add_url_rule("/batches", "batches", batches, methods=["GET"])
    bp.add_url_rule("/products", "products", products, methods=["GET"])
    bp.add_url_rule("/facilities", "facilities", facilities, methods=["GET"])


def _sign_in_page(form: FormState, status: int = 200) -> Response:
    return render(
        "console/sign_in.html", status, form=form, next=auth.safe_next(request.values.get("next"))
    )


def sign_in_form() -> BaseResponse:
    if auth.current_session() is not None:
        return redirect(auth.safe_next(request.args.get("next")))
    return _sign_in_page(FormState())


def sign_in() -> BaseResponse:
    login = request.form.get("login", "").strip()[:200]
    password = request.form.get("password", "")[:1000]
    keys = throttling.keys_for(login)
    with transaction(write=True) as session:
        outcome = signin.attempt(
            session,
            login,
            password,
            cost=auth.password_cost(),
            lifetimes=auth.lifetimes(),
            keys=keys,
            policy=throttling.policy(),
        )
    if outcome.secret is None:
        form = FormState(values={"login": login})
        if outcome.checked:
            form.general.append("wrong_password")
        if outcome.wait_until is not None:
            form.general.append("wait")
            form.values = {**form.values, **throttling.wait_words(outcome.wait_until)}
        status = 429 if not outcome.checked else 200
        page = _sign_in_page(form, status)
        if not outcome.checked:
            page.headers["Retry-After"] = form.values["wait_seconds"]
        return page
    response = redirect(auth.safe_next(request.form.get("next")), 303)
    auth.set_cookie(response, outcome.secret)
    throttling.remember_browser(response, login)
    return response


def sign_out() -> BaseResponse:
    signed = auth.current_session()
    if signed is not None:
        with transaction(write=True) as session:
            sessions.end(session, signed.session_id)
    response = redirect(url_for("console.sign_in"), 303)
    auth.clear_cookie(response)
    return response


def language() -> BaseResponse:
    """The language switch: a cookie for this browser, and the user's own setting."""
    lang = request.form.get("lang", "")
    response = redirect(auth.safe_next(request.form.get("next")), 303)
    if lang not in LANGUAGES:
        return response
    user = auth.current_user()
    if user is not None and user.language != lang:
        with transaction(write=True):
            user.language = lang
    response.set_cookie(
        LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, path=auth.COOKIE_PATH, samesite="Lax"
    )
    return response


@auth.signed_in
def home() -> Response:
    actor = auth.current_actor()
    session = db.session
    batch_rows, more_batches = overview.list_batches(session, actor, {}, 5, None)
    product_rows, more_products = overview.list_products(session, actor, {}, 5, None)
    facility_rows, more_facilities = overview.list_facilities(session, actor, {}, 5, None)
    return render(
        "console/home.html",
        user=auth.current_user(),
        batches=batch_rows,
        counts=overview.batch_counts(session, [b.id for b in batch_rows]),
        products=product_rows,
        facilities=facility_rows,
        more={
            "batches": more_batches is not None,
            "products": more_products is not None,
            "facilities": more_facilities is not None,
        },
    )


def _kept_filters() -> dict[str, str]:
    """The list's filters besides the search text, as the dashboard's figures link to them:
    ``status`` (of batches) and ``province`` (a centre's own province applies whatever it asks)."""
    kept = {}
    if request.args.get("status") in {s.value for s in BatchStatus}:
        kept["status"] = request.args["status"]
    if request.args.get("province") in PROVINCES:
        kept["province"] = request.args["province"]
    return kept


def _listing(template: str, lister: Any, **extra: Any) -> Response:
    q, cursor = list_args()
    kept = _kept_filters()
    filters: dict[str, Any] = {**({"q": q} if q else {}), **kept}
    rows, next_cursor = lister(db.session, auth.current_actor(), filters, PAGE_SIZE, cursor)
    context: dict[str, Any] = {
        "rows": rows,
        "q": q,
        "next_cursor": next_cursor,
        "paged": bool(cursor),
        "kept": kept,
    }
    for key, make in extra.items():
        context[key] = make(rows)
    g.console_list = True
    return render(template, **context)


@auth.signed_in
def batches() -> Response:
    return _listing(
        "console/batches.html",
        overview.list_batches,
        counts=lambda rows: overview.batch_counts(db.session, [b.id for b in rows]),
    )


@auth.signed_in
def products() -> Response:
    return _listing("console/products.html", overview.list_products)


@auth.signed_in
def facilities() -> Response:
    return _listing("console/facilities.html", overview.list_facilities)
