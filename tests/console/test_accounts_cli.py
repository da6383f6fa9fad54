"""``flask user create`` and the demo's console accounts."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.console.conftest import sign_in
from trace.models import AuditEntry, Role, User
from trace.services.accounts import users
from trace.services.registry import catalogue


def test_user_create_asks_for_the_password_and_stores_its_hash(
    app: Flask, build: Any, session: Session
) -> None:
    org = build.organization()
    result = app.test_cli_runner().invoke(
        args=[
            "user",
            "create",
            "--phone",
            "+84 912 000 111",
            "--role",
            "producer",
            "--org",
            str(org.id),
        ],
        input="a long enough password\na long enough password\n",  # asked twice
    )
    assert result.exit_code == 0, result.output
    assert "/console/sign-in" in result.output
    user = session.scalar(select(User).where(User.phone == "0912000111"))
    assert user is not None and user.role is Role.PRODUCER and user.organization_id == org.id
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in user.password_hash
    assert sign_in(app.test_client(), "0912 000 111", "a long enough password").status_code == 303


def test_user_create_refuses_what_cannot_work(app: Flask) -> None:
    runner = app.test_cli_runner()
    short = runner.invoke(
        args=["user", "create", "--email", "a@example.com", "--role", "admin", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code != 0 and "at least 8" in short.output
    no_org = runner.invoke(
        args=[
            "user",
            "create",
            "--email",
            "b@example.com",
            "--role",
            "producer",
            "--password-stdin",
        ],
        input="long enough pw\n",
    )
    assert no_org.exit_code != 0 and "organisation" in no_org.output
    both = runner.invoke(
        args=[
            "user",
            "create",
            "--email",
            "c@example.com",
            "--phone",
            "0912000112",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="long enough pw\n",
    )
    assert both.exit_code != 0


def test_the_demo_prints_an_account_per_role_that_signs_in(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--json"])
    assert result.exit_code == 0, result.output
    demo = json.loads(result.output)
    assert demo["console_url"] == "https://trace.example.vn/console/sign-in"
    assert set(demo["accounts"]) == {"admin", "centre", "producer", "inspector"}
    producer = demo["accounts"]["producer"]
    client = app.test_client()
    assert sign_in(client, producer["login"], producer["password"]).status_code == 303
    home = client.get("/console/").get_data(as_text=True)
    assert "Vải thiều" in home  # the demo producer's own batches
    again = app.test_cli_runner().invoke(args=["demo", "--json"])  # idempotent
    assert json.loads(again.output)["accounts"] == demo["accounts"]
    text = app.test_cli_runner().invoke(args=["demo"]).output
    assert "https://trace.example.vn/console/sign-in" in text and producer["password"] in text


def test_an_audit_entry_names_the_user_who_acted(
    make_user: Any, build: Any, session: Session
) -> None:
    org = build.organization()
    user = make_user("producer", org)
    session.rollback()
    facility = catalogue.create_facility(
        session,
        users.actor_for(user),
        {
            "organization_id": org.id,
            "kind": "farm",
            "name": "Trại",
            "address": "x",
            "province_code": "24",
        },
    )
    session.commit()
    entry = session.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "facility", AuditEntry.entity_id == str(facility.id)
        )
    )
    assert entry is not None
    assert entry.user_id == user.id and entry.token_id is None
    assert entry.actor == f"user:{user.login}"
