"""The centre's routes (dashboard, consumer reports, flagged codes) × role × own/foreign
province: a centre officer of province 24 given the ids of province 01's report or code is
refused (403/404) everywhere; inspectors and admins may; producers may not use these pages.
Listed in :func:`tests.console.test_route_matrix._elsewhere`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.api.inspection_support import add_codes
from tests.console.conftest import csrf_of
from trace.models import Report, User

ROLES = ("admin", "centre", "producer", "inspector")
DESK = {"admin", "centre", "inspector"}
ALLOWED = {200, 303}
REFUSED = {403, 404}


def desk(role: str, whose: str) -> bool:
    return role in DESK


def desk_in_province(role: str, whose: str) -> bool:
    return role in {"admin", "inspector"} or (role == "centre" and whose == "own")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    rule: Callable[[str, str], bool]
    data: dict[str, str] = field(default_factory=dict)
    scoped: bool = True


ROUTES = [
    Route("GET", "/console/dashboard", desk, scoped=False),
    Route("GET", "/console/dashboard/events", desk, scoped=False),
    Route("GET", "/console/reports", desk, scoped=False),
    Route("GET", "/console/reports/{report}", desk_in_province),
    Route("POST", "/console/reports/{report}/assign", desk_in_province, {"assignee_id": ""}),
    Route("POST", "/console/reports/{report}/resolve", desk_in_province, {"resolution": "ok"}),
    Route("GET", "/console/flags", desk, scoped=False),
    Route("GET", "/console/flags/{code}", desk_in_province),
    Route("POST", "/console/flags/{code}/clear", desk_in_province, {"reason": "seen"}),
]
#: (method, path shape) of every route above, for the console's route table
MATRIX_ROUTES = [(r.method, r.path) for r in ROUTES]


@dataclass
class World:
    users: dict[str, User]
    ids: dict[str, dict[str, int]]


@pytest.fixture
def world(build: Any, make_user: Any, session: Session) -> World:
    ids: dict[str, dict[str, int]] = {}
    for whose, code in (("own", "24"), ("foreign", "01")):
        org = build.organization(kind="producer", province_code=code)
        batch = build.batch(build.product(org))
        [unit] = add_codes(session, batch.id, [(f"U{code}X", "printed")])
        session.rollback()
        report = Report(batch_id=batch.id, code_id=unit.id, kind="quality", message="hỏng",
                        client_hash="e" * 64)  # fmt: skip
        session.add(report)
        session.commit()
        ids[whose] = {"report": report.id, "code": unit.id, "org": org.id}
    own = session.get(type(org), ids["own"]["org"])
    centre_org = build.organization(kind="centre", province_code="24")
    users = {
        "admin": make_user("admin"),
        "centre": make_user("centre", centre_org),
        "producer": make_user("producer", own),
        "inspector": make_user("inspector"),
    }
    return World(users, ids)


CASES = [
    pytest.param(route, role, whose, id=f"{route.method} {route.path} {role} {whose}")
    for route in ROUTES
    for role in ROLES
    for whose in (("own", "foreign") if route.scoped else ("own",))
]


@pytest.mark.parametrize("route,role,whose", CASES)
def test_centre_route(
    app: Flask, world: World, signed_in: Any, route: Route, role: str, whose: str
) -> None:
    client = signed_in(world.users[role])
    path = route.path.format(**world.ids[whose])
    if route.method == "GET":
        response = client.get(path)
    else:
        token = csrf_of(client.get("/console/").get_data(as_text=True))
        response = client.post(path, data={"csrf_token": token, **route.data})
    expected = ALLOWED if route.rule(role, whose) else REFUSED
    assert response.status_code in expected, (
        response.status_code,
        response.get_data(as_text=True)[:300],
    )


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_an_anonymous_visitor_is_sent_to_sign_in(app: Flask, world: World, route: Route) -> None:
    client = app.test_client()
    path = route.path.format(**world.ids["own"])
    if route.method == "GET":
        response = client.get(path)
    else:
        token = csrf_of(client.get("/console/sign-in").get_data(as_text=True))
        response = client.post(path, data={"csrf_token": token, **route.data})
    assert response.status_code in {302, 303} and "/console/sign-in" in response.location
