"""Signing in and out, the session cookie, expiry, and CSRF on every state-changing request."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.console.conftest import PASSWORD, csrf_of, csrf_token, sign_in
from trace.models import User, UserSession


@pytest.fixture
def producer(build: Any, make_user: Any) -> User:
    return make_user("producer", build.organization(), name="Chị Lan")


def _cookie(response: Any) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("trace_console=")]
    assert len(headers) == 1, headers
    return headers[0]


@pytest.mark.parametrize(
    "path", ["/console/", "/console/batches", "/console/products?q=v%E1%BA%A3i"]
)
def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/console/sign-in?next=")
    page = client.get(response.location)
    assert page.status_code == 200
    assert 'name="next" value="' + path.replace("&", "&amp;") + '"' in page.get_data(as_text=True)


def test_sign_in_opens_a_session_and_goes_where_the_visitor_was_going(
    client: Any, producer: User, session: Session
) -> None:
    response = sign_in(client, producer.login, next="/console/products")
    assert response.status_code == 303
    assert response.location == "/console/products"
    cookie = _cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # development: plain http on a laptop
    secret = cookie.split(";")[0].split("=", 1)[1]
    stored = session.scalars(select(UserSession.session_hash)).all()
    assert secret not in stored and len(stored) == 1  # only its hash is kept
    assert client.get("/console/products").status_code == 200


def test_the_cookie_is_secure_in_production(app: Flask, producer: User) -> None:
    app.config["ENV"] = "production"
    try:
        response = sign_in(app.test_client(), producer.login)
    finally:
        app.config["ENV"] = "development"
    assert "Secure" in _cookie(response)


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/console/", "/\\evil.example", "/api/v1/batches"],
)
def test_sign_in_never_sends_the_user_elsewhere(client: Any, producer: User, target: str) -> None:
    response = sign_in(client, producer.login, next=target)
    assert response.status_code == 303
    assert response.location == "/console/"


@pytest.mark.parametrize("login", ["PERSON@EXAMPLE.COM", "+84 912 345 678", "0912.345.678"])
def test_a_login_in_any_usual_spelling_signs_in(
    client: Any, make_user: Any, build: Any, login: str
) -> None:
    org = build.organization()
    if "@" in login:
        make_user("producer", org, email="person@example.com")
    else:
        make_user("producer", org, phone="0912345678", email=None)
    assert sign_in(client, login).status_code == 303


@pytest.mark.parametrize(
    "login,password", [("known", "wrong password"), ("nobody@example.com", PASSWORD)]
)
def test_a_wrong_login_or_password_is_told_plainly_and_opens_nothing(
    client: Any, producer: User, session: Session, login: str, password: str
) -> None:
    response = sign_in(client, producer.login if login == "known" else login, password)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "không đúng" in page or "chưa đúng" in page
    assert "trace_console=" not in " ".join(response.headers.getlist("Set-Cookie"))
    assert session.scalars(select(UserSession)).all() == []
    assert client.get("/console/").status_code == 302


def test_signing_out_ends_the_session_on_the_server(
    app: Flask, producer: User, signed_in: Any
) -> None:
    client = signed_in(producer)
    stolen = client.get_cookie("trace_console", path="/console").value
    token = csrf_of(client.get("/console/").get_data(as_text=True))
    response = client.post("/console/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/console/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("trace_console", stolen, path="/console")
    assert thief.get("/console/").status_code == 302  # the copied cookie is dead too


def _age_session(session: Session, **moments: dt.timedelta) -> None:
    now = dt.datetime.now(dt.UTC)
    session.execute(update(UserSession).values({k: now - v for k, v in moments.items()}))
    session.commit()


def test_an_idle_session_expires(
    app: Flask, producer: User, signed_in: Any, session: Session
) -> None:
    client = signed_in(producer)
    idle = dt.timedelta(minutes=app.config["CONSOLE_IDLE_MINUTES"])
    _age_session(session, last_seen_at=idle - dt.timedelta(minutes=1))
    assert client.get("/console/").status_code == 200  # seen again: the idle clock restarts
    _age_session(session, last_seen_at=idle + dt.timedelta(seconds=1))
    assert client.get("/console/").status_code == 302


def test_a_session_ends_at_its_absolute_expiry_however_busy(
    producer: User, signed_in: Any, session: Session
) -> None:
    client = signed_in(producer)
    assert client.get("/console/").status_code == 200
    session.execute(
        update(UserSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    session.commit()
    assert client.get("/console/").status_code == 302


def test_a_deactivated_users_sessions_stop_working(
    producer: User, signed_in: Any, session: Session
) -> None:
    client = signed_in(producer)
    session.execute(update(User).where(User.id == producer.id).values(active=False))
    session.commit()
    assert client.get("/console/").status_code == 302
    assert sign_in(client, producer.login).status_code == 200  # and it cannot sign in again


def test_sign_in_without_the_csrf_token_is_refused_and_opens_nothing(
    client: Any, producer: User, session: Session
) -> None:
    client.get("/console/sign-in")
    response = client.post("/console/sign-in", data={"login": producer.login, "password": PASSWORD})
    assert response.status_code == 400
    assert "hết hạn" in response.get_data(as_text=True)
    assert session.scalars(select(UserSession)).all() == []


def test_sign_out_without_the_csrf_token_is_refused(producer: User, signed_in: Any) -> None:
    client = signed_in(producer)
    response = client.post("/console/sign-out")
    assert response.status_code == 400
    assert client.get("/console/").status_code == 200  # still signed in: nothing was ended


def test_a_csrf_token_from_another_browser_is_refused(
    app: Flask, producer: User, make_user: Any, signed_in: Any, session: Session
) -> None:
    victim = signed_in(producer)
    attacker = signed_in(make_user("producer", producer.organization))
    their_token = csrf_of(attacker.get("/console/").get_data(as_text=True))
    response = victim.post("/console/language", data={"lang": "en", "csrf_token": their_token})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(User, producer.id).language == "vi"  # nothing written


def test_the_token_seen_before_sign_in_is_worthless_after(client: Any, producer: User) -> None:
    before = csrf_token(client)
    assert sign_in(client, producer.login).status_code == 303
    response = client.post("/console/sign-out", data={"csrf_token": before})
    assert response.status_code == 400


def test_the_language_switch_remembers_the_users_choice(
    producer: User, signed_in: Any, session: Session
) -> None:
    client = signed_in(producer)
    page = client.get("/console/").get_data(as_text=True)
    assert "Lô hàng" in page  # Vietnamese first
    response = client.post(
        "/console/language",
        data={"lang": "en", "next": "/console/batches", "csrf_token": csrf_of(page)},
    )
    assert response.status_code == 303 and response.location == "/console/batches"
    assert "Batches" in client.get("/console/batches").get_data(as_text=True)
    session.expire_all()
    assert session.get(User, producer.id).language == "en"


def test_console_pages_are_private(producer: User, signed_in: Any) -> None:
    response = signed_in(producer).get("/console/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_an_unknown_console_address_gets_the_consoles_friendly_page(client: Any) -> None:
    response = client.get("/console/no-such-page")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.get_data(as_text=True)
