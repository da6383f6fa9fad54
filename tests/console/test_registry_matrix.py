"""The registry pages' authorisation: every route × role × own/foreign province.

"own" is province 24's producer organisation (the centre officer's province, the producer's
own organisation), "foreign" province 01's. Reading: admins and inspectors everything, a centre
its province, a producer its organisation; registering and editing organisations and products:
admins and the province's centre; facilities: those and the organisation's own producer.
Something another province's that a role may not read is "not found"."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from tests.console.conftest import csrf_of
from trace.models import Facility, Organization, Product, User

ROLES = ("admin", "centre", "producer", "inspector")
WHOSE = ("own", "foreign")
ALLOWED = {200, 201, 303}
REFUSED = {403, 404}

Rule = Callable[[str, str], bool]


def everyone(role: str, whose: str) -> bool:
    return True


def readers(role: str, whose: str) -> bool:
    return role in ("admin", "inspector") or whose == "own"


def managers(role: str, whose: str) -> bool:
    return role == "admin" or (role == "centre" and whose == "own")


def registrars(role: str, whose: str) -> bool:
    return role in ("admin", "centre")


def facility_keepers(role: str, whose: str) -> bool:
    return role == "admin" or (role in ("centre", "producer") and whose == "own")


_fresh = itertools.count(1)

ORG_FORM = {"kind": "producer", "name": "HTX {fresh}", "tax_code": "{tax}",
            "province_code": "{province}", "address": "Thôn {fresh}"}  # fmt: skip
FACILITY_FORM = {"kind": "orchard", "name": "Vườn {fresh}", "address": "xã Lục Ngạn",
                 "province_code": "{province}"}  # fmt: skip
PRODUCT_FORM = {"name_vi": "Vải {fresh}", "category": "fruit", "unit": "KGM"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    rule: Rule
    data: dict[str, str] = field(default_factory=dict)
    scoped: bool = True


ROUTES: list[Route] = [
    Route("GET", "/console/organisations", everyone, scoped=False),
    Route("GET", "/console/organisations/new", registrars, scoped=False),
    Route("POST", "/console/organisations/new", managers, ORG_FORM),
    Route("GET", "/console/organisations/{org}", readers),
    Route("GET", "/console/organisations/{org}/edit", managers),
    Route("POST", "/console/organisations/{org}/edit", managers, ORG_FORM),
    Route("POST", "/console/organisations/{org}/archive", managers),
    Route("POST", "/console/organisations/{org}/unarchive", managers),
    Route("GET", "/console/organisations/{org}/facilities/new", facility_keepers),
    Route("POST", "/console/organisations/{org}/facilities/new", facility_keepers, FACILITY_FORM),
    Route("GET", "/console/facilities/{facility}/edit", facility_keepers),
    Route("POST", "/console/facilities/{facility}/edit", facility_keepers, FACILITY_FORM),
    Route("POST", "/console/facilities/{facility}/archive", facility_keepers),
    Route("POST", "/console/facilities/{facility}/unarchive", facility_keepers),
    Route("GET", "/console/organisations/{org}/products/new", managers),
    Route("POST", "/console/organisations/{org}/products/new", managers, PRODUCT_FORM),
    Route("GET", "/console/products/{product}/edit", managers),
    Route("POST", "/console/products/{product}/edit", managers, PRODUCT_FORM),
    Route("POST", "/console/products/{product}/archive", managers),
    Route("POST", "/console/products/{product}/unarchive", managers),
]
MATRIX_ROUTES = [(route.method, route.path) for route in ROUTES]


@dataclass
class World:
    users: dict[str, User]
    values: dict[str, dict[str, Any]]


@pytest.fixture
def world(build: Any, make_user: Any) -> World:
    own = build.organization(kind="producer", name="HTX Phượng Sơn", province_code="24")
    foreign = build.organization(kind="producer", name="HTX Hà Nội", province_code="01")
    centre_org = build.organization(kind="centre", name="Trung tâm 24", province_code="24")
    users = {
        "admin": make_user("admin"),
        "centre": make_user("centre", centre_org),
        "producer": make_user("producer", own),
        "inspector": make_user("inspector"),
    }
    values = {}
    for whose, org in (("own", own), ("foreign", foreign)):
        values[whose] = {
            "org": org.id,
            "facility": build.facility(org).id,
            "product": build.product(org).id,
            "province": org.province_code,
        }
    return World(users, values)


def fill(text: str, world: World, whose: str) -> str:
    n = next(_fresh)
    return text.format(fresh=n, tax=f"{3100000000 + n}", **world.values[whose])


CASES = [
    pytest.param(route, role, whose, id=f"{route.method} {route.path} {role} {whose}")
    for route in ROUTES
    for role in ROLES
    for whose in (WHOSE if route.scoped else ("own",))
]


def _entities(session: Any) -> tuple[Any, ...]:
    return tuple(
        tuple(session.execute(model.__table__.select().order_by(model.id)).all())
        for model in (Organization, Facility, Product)
    )


@pytest.mark.parametrize("route,role,whose", CASES)
def test_registry_route(
    app: Flask, world: World, signed_in: Any, session: Any, route: Route, role: str, whose: str
) -> None:
    client = signed_in(world.users[role])
    path = fill(route.path, world, whose)
    if route.method == "GET":
        response = client.get(path)
    else:
        token = csrf_of(client.get("/console/").get_data(as_text=True))
        data = {k: fill(v, world, whose) for k, v in route.data.items()}
        session.rollback()
        before = _entities(session)
        response = client.post(path, data={"csrf_token": token, **data})
        session.rollback()
        if response.status_code in REFUSED:
            assert _entities(session) == before, "a refused change wrote something"
    expected = ALLOWED if route.rule(role, whose) else REFUSED
    assert response.status_code in expected, (
        response.status_code,
        response.get_data(as_text=True)[:300],
    )
    if response.status_code in REFUSED:
        body = response.get_data(as_text=True)
        assert "HTX Hà Nội" not in body  # nothing of the other province shows


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_an_anonymous_visitor_gets_nothing(app: Flask, world: World, route: Route) -> None:
    client = app.test_client()
    path = fill(route.path, world, "own")
    if route.method == "GET":
        response = client.get(path)
        assert response.status_code == 302 and "/console/sign-in" in response.location
        return
    token = csrf_of(client.get("/console/sign-in").get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code in {302, 303} and "/console/sign-in" in response.location
