"""Password guessing: sign-in slows, then locks, per account and per client; the person is
told plainly; only keyed hashes are stored; a stranger cannot keep the owner out of a browser
they have used before."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.console.conftest import PASSWORD, csrf_of
from trace.models import SignInThrottle, User, UserSession


@pytest.fixture
def producer(build: Any, make_user: Any) -> User:
    return make_user("producer", build.organization(), email="lan@example.com")


def attempt(client: Any, login: str, password: str, address: str = "198.51.100.7") -> Any:
    environ = {"REMOTE_ADDR": address}
    page = client.get("/console/sign-in", environ_base=environ)
    data = {
        "login": login,
        "password": password,
        "csrf_token": csrf_of(page.get_data(as_text=True)),
    }
    return client.post("/console/sign-in", data=data, environ_base=environ)


def end_waits(session: Session) -> None:
    """Time passes: every wait and lock is over (the counts stay)."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.execute(update(SignInThrottle).values(locked_until=past))
    session.commit()


def test_sign_in_slows_after_three_failures_and_says_how_long(
    client: Any, producer: User, session: Session
) -> None:
    for _ in range(3):
        assert attempt(client, producer.login, "wrong").status_code == 200
    refused = attempt(client, producer.login, PASSWORD)  # even the right password waits
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert "hãy đợi 1 giây" in refused.get_data(as_text=True).lower()
    assert session.scalars(select(UserSession)).all() == []
    end_waits(session)
    assert attempt(client, producer.login, PASSWORD).status_code == 303
    client.delete_cookie("trace_console", path="/console")
    end_waits(session)
    # the success cleared the account's count: three more failures before the next wait
    for _ in range(2):
        assert attempt(client, producer.login, "wrong").status_code == 200


def _wait_seconds(session: Session) -> int | None:
    session.expire_all()
    moment = dt.datetime.now(dt.UTC)
    until = max(
        (u for u in session.scalars(select(SignInThrottle.locked_until)) if u and u > moment),
        default=None,
    )
    return round((until - dt.datetime.now(dt.UTC)).total_seconds()) if until else None


def test_the_wait_doubles_then_the_account_locks(
    client: Any, producer: User, session: Session
) -> None:
    waits = []
    for _ in range(10):
        end_waits(session)
        assert attempt(client, producer.login, "wrong").status_code == 200
        waits.append(_wait_seconds(session))
    assert waits[:9] == [None, None, 1, 2, 4, 8, 16, 32, 60]
    assert waits[9] is not None and waits[9] > 14 * 60
    locked = attempt(client, producer.login, PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 14 * 60
    assert "bị khóa trong 15 phút" in locked.get_data(as_text=True)


def test_spellings_of_one_login_share_one_count(client: Any, make_user: Any, build: Any) -> None:
    make_user("producer", build.organization(), phone="0912345678", email=None)
    for login in ("0912345678", "+84 912 345 678", "0912.345.678"):
        assert attempt(client, login, "wrong").status_code == 200
    assert attempt(client, "84912345678", PASSWORD).status_code == 429


def test_only_keyed_hashes_are_stored(client: Any, producer: User, session: Session) -> None:
    attempt(client, producer.login, "wrong", address="198.51.100.7")
    keys = session.scalars(select(SignInThrottle.key_hash)).all()
    assert len(keys) == 2  # the account and the client
    for stored in keys:
        assert len(stored) == 64 and "198.51" not in stored and "lan" not in stored


def test_a_stranger_from_many_addresses_cannot_keep_the_owner_out_of_their_browser(
    app: Flask, producer: User, session: Session
) -> None:
    owners_phone = app.test_client()
    assert attempt(owners_phone, producer.login, PASSWORD, "203.0.113.5").status_code == 303
    owners_phone.post(
        "/console/sign-out",
        data={"csrf_token": csrf_of(owners_phone.get("/console/").get_data(as_text=True))},
    )
    attacker = app.test_client()
    for n in range(12):
        attempt(attacker, producer.login, "guess", address=f"192.0.2.{n + 1}")
        end_waits(session) if n < 9 else None
    # the account is locked for a browser it has never seen...
    assert attempt(app.test_client(), producer.login, PASSWORD, "203.0.113.9").status_code == 429
    # ...but not for the owner's phone, which signed in to it before
    assert attempt(owners_phone, producer.login, PASSWORD, "203.0.113.5").status_code == 303


def test_a_client_trying_many_accounts_is_slowed_then_locked(
    client: Any, producer: User, session: Session
) -> None:
    for n in range(10):
        assert attempt(client, f"someone{n}@example.com", "guess").status_code == 200
    assert attempt(client, "another@example.com", "guess").status_code == 429
    for n in range(20):
        end_waits(session)
        attempt(client, f"other{n}@example.com", "guess")
    locked = attempt(client, producer.login, PASSWORD)  # a fresh account, the same client
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 14 * 60
    assert attempt(client, producer.login, PASSWORD, address="198.51.100.8").status_code == 303


def test_failures_are_forgotten_after_a_quiet_while(
    app: Flask, client: Any, producer: User, session: Session
) -> None:
    for _ in range(3):
        attempt(client, producer.login, "wrong")
    quiet = dt.timedelta(minutes=app.config["SIGNIN_FORGET_MINUTES"], seconds=1)
    session.execute(
        update(SignInThrottle).values(
            last_failure_at=dt.datetime.now(dt.UTC) - quiet,
            locked_until=dt.datetime.now(dt.UTC) - quiet,
        )
    )
    session.commit()
    assert attempt(client, producer.login, "wrong").status_code == 200  # counted from one again
    assert attempt(client, producer.login, PASSWORD).status_code == 303
