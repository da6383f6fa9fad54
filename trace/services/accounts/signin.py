"""Signing in: a login (email or phone number) and a password give a user and a new session."""

from __future__ import annotations

from sqlalchemy.orm import Session

from trace.models import User
from trace.services.accounts import passwords, sessions
from trace.services.accounts.users import find_by_login


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
