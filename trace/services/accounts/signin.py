"""Signing in: a login (email or phone number) and a password give a user and a new session,
unless the throttle says the account or client must wait."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trace.models import User
from trace.services.accounts import passwords, sessions, throttle
from trace.services.accounts.users import find_by_login, normalize_email, normalize_phone


def check_password(
    session: Session, login: str, password: str, cost: passwords.Cost
) -> User | None:
    """The active user with this login and password, or ``None`` (whichever part was wrong:
    the answer says nothing about which accounts exist). A hash made with a lower cost than
    the current settings is replaced."""
    user = find_by_login(session, login) if login.strip() else None
    stored = user.password_hash if user is not None and user.active else None
    if not passwords.verify(stored, password, cost) or user is None:
        return None
    if passwords.needs_rehash(user.password_hash, cost):
        user.password_hash = passwords.hash_password(password, cost)
    return user


def sign_in(
    session: Session,
    login: str,
    password: str,
    cost: passwords.Cost,
    lifetimes: sessions.Lifetimes,
) -> tuple[User, str] | None:
    """The user and the new session's cookie secret, or ``None`` when the password is wrong."""
    user = check_password(session, login, password, cost)
    if user is None:
        return None
    _, secret = sessions.start(session, user, lifetimes)
    return user, secret


@dataclass(frozen=True)
class Outcome:
    """A sign-in attempt: the user and session secret, or a failure; ``wait_until`` when the
    next attempt must wait (the attempt itself may have been refused unchecked)."""

    user: User | None = None
    secret: str | None = None
    wait_until: dt.datetime | None = None
    checked: bool = True


def attempt(
    session: Session,
    login: str,
    password: str,
    *,
    cost: passwords.Cost,
    lifetimes: sessions.Lifetimes,
    keys: throttle.Keys,
    policy: throttle.Policy,
) -> Outcome:
    """Sign in unless the account or client must wait; count a failure, clear on success."""
    until = throttle.blocked_until(session, keys)
    if until is not None:
        return Outcome(wait_until=until, checked=False)
    result = sign_in(session, login, password, cost, lifetimes)
    if result is None:
        return Outcome(wait_until=throttle.failed(session, keys, policy))
    throttle.succeeded(session, keys)
    return Outcome(user=result[0], secret=result[1])


def login_key(login: str) -> str:
    """The login as counted by the throttle: its normal form, so spellings share one count."""
    text = login.strip()
    normal = normalize_email(text) if "@" in text else normalize_phone(text)
    return normal or text.lower()
