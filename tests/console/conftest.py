"""Console fixtures: users with known passwords, a client signed in as one, and the CSRF
token a page of the console gave that client."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from trace.models import Organization, Role, User
from trace.services.accounts import passwords, users
from trace.services.actors import SYSTEM

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_serial = iter(range(1, 1_000_000))


def csrf_of(page: str) -> str:
    """The CSRF token a rendered console page carries."""
    found = _CSRF.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def csrf_token(client: FlaskClient, path: str = "/console/sign-in") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return csrf_of(response.get_data(as_text=True))


def sign_in(client: FlaskClient, login: str, password: str = PASSWORD, **extra: str) -> Any:
    token = csrf_token(client)
    data = {"login": login, "password": password, "csrf_token": token, **extra}
    return client.post("/console/sign-in", data=data)


@pytest.fixture
def make_user(app: Flask, session: Session) -> Callable[..., User]:
    """``make_user(role, org=None, province=None, password=PASSWORD, **fields)``: a committed
    user whose login is a fresh email address."""

    def make(
        role: str | Role,
        org: Organization | None = None,
        province: str | None = None,
        password: str = PASSWORD,
        **fields: Any,
    ) -> User:
        session.rollback()
        cost = passwords.Cost(
            int(app.config["PASSWORD_TIME_COST"]), int(app.config["PASSWORD_MEMORY_KIB"])
        )
        role = Role(role)
        user = users.create_user(
            session,
            SYSTEM,
            role=role,
            email=fields.pop("email", None) or f"person{next(_serial)}@example.com",
            organization_id=org.id if org is not None else None,
            province_code=province or (org.province_code if role is Role.CENTRE and org else None),
            password_hash=passwords.hash_password(password, cost),
            **fields,
        )
        session.commit()
        return user

    return make


@pytest.fixture
def signed_in(app: Flask) -> Callable[[User], FlaskClient]:
    """``signed_in(user)``: a new client with a console session of ``user``."""

    def make(user: User) -> FlaskClient:
        client = app.test_client()
        response = sign_in(client, user.login)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return client

    return make
