"""Every console route × role × own/foreign organisation: who may, who may not.

``ROUTES`` is the table: one row per route (method, path with ``{placeholders}`` filled from the
world of the case, form data, and the rule). Add a row for every route you add to the console;
``test_every_console_route_is_in_the_table`` fails until you do. "own" is what the role's user
belongs to (a centre officer: its province), "foreign" another province's organisation.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from tests.console.conftest import csrf_of
from trace.models import Role, User
from trace.services.accounts.users import actor_for
from trace.services.registry.tokens import create_personal_token

ROLES = ("admin", "centre", "producer", "inspector")
WHOSE = ("own", "foreign")
ALLOWED = {200, 201, 303}
REFUSED = {403, 404}

Rule = Callable[[str, str], bool]


def everyone(role: str, whose: str) -> bool:
    return True


def managers_of(role: str, whose: str) -> bool:
    """An admin manages anyone; a centre officer its own province's people; nobody else."""
    return role == "admin" or (role == "centre" and whose == "own")


def admin_only(role: str, whose: str) -> bool:
    return role == "admin"


def owner_or_admin(role: str, whose: str) -> bool:
    return role == "admin" or whose == "own"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    rule: Rule
    data: dict[str, str] = field(default_factory=dict)
    #: False when own/foreign makes no difference to the answer (lists scope their content,
    #: which tests/console/test_home.py checks)
    scoped: bool = True
    #: True when an anonymous visitor may use it too (the language switch of the sign-in page)
    anonymous: bool = False


ROUTES: list[Route] = [
    Route("GET", "/console/", everyone, scoped=False),
    Route("GET", "/console/batches", everyone, scoped=False),
    Route("GET", "/console/products", everyone, scoped=False),
    Route("GET", "/console/facilities", everyone, scoped=False),
    Route("GET", "/console/account", everyone, scoped=False),
    Route("POST", "/console/account/tokens", everyone, {"name": "t"}, scoped=False),
    Route("POST", "/console/account/tokens/{token}/revoke", owner_or_admin),
    Route("POST", "/console/account/sessions/end", everyone, scoped=False),
    Route("POST", "/console/language", everyone, {"lang": "en"}, scoped=False, anonymous=True),
    Route("POST", "/console/sign-out", everyone, scoped=False),
    Route("GET", "/console/people", lambda role, whose: role in ("admin", "centre"), scoped=False),
    Route(
        "POST",
        "/console/people/invite",
        managers_of,
        {"email": "{fresh}@example.com", "role": "producer", "organization_id": "{org}"},
    ),
    Route("POST", "/console/people/{person}/reset", managers_of),
    Route("POST", "/console/people/{person}/sessions/end", managers_of),
    Route("POST", "/console/people/{person}/active", managers_of, {"active": "1"}),
    # the administrator's screens (console part 2, admin): administrators only, whoever it is
    Route("GET", "/console/admin/users", admin_only, scoped=False),
    Route("GET", "/console/admin/users/{person}", admin_only),
    Route("POST", "/console/admin/users/{person}/sessions/end", admin_only),
    Route("POST", "/console/admin/users/{person}/active", admin_only, {"active": "1"}),
    Route("POST", "/console/admin/tokens/{token}/revoke", admin_only),
    Route("GET", "/console/admin/audit", admin_only, scoped=False),
    Route("GET", "/console/admin/status", admin_only, scoped=False),
]

#: routes that need no sign-in: the sign-in page itself, and the one-time link's page
PUBLIC = {"console.sign_in", "console.sign_in_post", "console.welcome", "console.welcome_post"}

_fresh = itertools.count(1)


@dataclass
class World:
    users: dict[str, User]
    values: dict[str, dict[str, Any]]


@pytest.fixture
def world(build: Any, make_user: Any, session: Any) -> World:
    own = build.organization(name="HTX Phượng Sơn", province_code="24")
    foreign = build.organization(name="HTX Hàng Xóm", province_code="01")
    centre_org = build.organization(kind="centre", name="Trung tâm 24", province_code="24")
    users = {
        "admin": make_user("admin"),
        "centre": make_user("centre", centre_org),
        "producer": make_user("producer", own),
        "inspector": make_user("inspector"),
    }
    own_person = make_user("producer", own)
    foreign_person = make_user("producer", foreign)
    session.rollback()
    foreign_token, _ = create_personal_token(session, actor_for(foreign_person), "theirs")
    own_tokens = {
        role: create_personal_token(session, actor_for(user), "mine")[0].id
        for role, user in users.items()
    }
    session.commit()
    values = {
        "own": {"org": own.id, "person": own_person.id, "tokens": own_tokens},
        "foreign": {"org": foreign.id, "person": foreign_person.id, "token": foreign_token.id},
    }
    return World(users, values)


def _fill(text: str, world: World, role: str, whose: str) -> str:
    values = dict(world.values[whose])
    if whose == "own":
        values["token"] = values["tokens"][role]
    return text.format(fresh=f"p{next(_fresh)}", **values)


CASES = [
    pytest.param(route, role, whose, id=f"{route.method} {route.path} {role} {whose}")
    for route in ROUTES
    for role in ROLES
    for whose in (WHOSE if route.scoped else ("own",))
]


@pytest.mark.parametrize("route,role,whose", CASES)
def test_console_route(
    app: Flask, world: World, signed_in: Any, route: Route, role: str, whose: str
) -> None:
    client = signed_in(world.users[role])
    path = _fill(route.path, world, role, whose)
    if route.method == "GET":
        response = client.get(path)
    else:
        token = csrf_of(client.get("/console/").get_data(as_text=True))
        data = {k: _fill(v, world, role, whose) for k, v in route.data.items()}
        response = client.open(path, method=route.method, data={"csrf_token": token, **data})
    expected = ALLOWED if route.rule(role, whose) else REFUSED
    assert response.status_code in expected, (
        response.status_code,
        response.get_data(as_text=True)[:300],
    )


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_an_anonymous_visitor_gets_nothing(app: Flask, world: World, route: Route) -> None:
    client = app.test_client()
    path = _fill(route.path, world, "producer", "own")
    if route.method == "GET":
        response = client.get(path)
        assert response.status_code == 302 and "/console/sign-in" in response.location
        return
    token = csrf_of(client.get("/console/sign-in").get_data(as_text=True))  # a valid token even
    response = client.open(path, method=route.method, data={"csrf_token": token})
    assert response.status_code in {302, 303}
    if not route.anonymous:
        assert "/console/sign-in" in response.location


def _shape(path: str) -> str:
    """``/a/{x}/b`` and ``/a/<int:x>/b`` alike: ``/a/*/b``."""
    return re.sub(r"\{[^}]*\}|<[^>]*>", "*", path)


def _elsewhere() -> set[tuple[str, str]]:
    """Routes whose matrix lives beside their pages' other tests (same rule: every route ×
    role × own/foreign organisation)."""
    from tests.console import (
        test_centre_authz,
        test_imports_page,
        test_inspector_desk,
        test_printing,
        test_producer_authz,
        test_registry_matrix,
    )

    producer = {(m, _shape(path.split("?")[0])) for m, path, _ in test_producer_authz.ROUTES}
    printing = {(m, _shape(path)) for m, path in test_printing.MATRIX_ROUTES}
    scans = {("GET", "/console/scans")}  # each role's scope: tests/console/test_scans.py
    imports = {(m, _shape(path)) for m, path in test_imports_page.MATRIX_ROUTES}
    # registry: organisations, facilities, products (tests/console/test_registry_matrix.py)
    registry = {(m, _shape(path)) for m, path in test_registry_matrix.MATRIX_ROUTES}
    # centre: dashboard, consumer reports, flagged codes (tests/console/test_centre_authz.py)
    centre = {(m, _shape(path)) for m, path in test_centre_authz.MATRIX_ROUTES}
    # the inspector's desk (find, audit, recalls, ledger): tests/console/test_inspector_desk.py
    desk = {(m, _shape(path.split("?")[0])) for m, path, _ in test_inspector_desk.MATRIX_ROUTES}
    return producer | printing | scans | imports | registry | centre | desk


def test_every_console_route_is_in_the_table(app: Flask) -> None:
    listed = {(r.method, _shape(r.path)) for r in ROUTES} | _elsewhere()
    served = {
        (method, _shape(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console.") and rule.endpoint not in PUBLIC
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert sorted(served - listed) == [], "add these routes to ROUTES"
    assert sorted(listed - served) == [], "these rows name no route"


def test_roles_cover_every_role() -> None:
    assert set(ROLES) == {r.value for r in Role}
