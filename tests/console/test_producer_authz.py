"""Who may use the producer's console routes: every route × role × own/foreign organisation.

- anonymous: sent to sign in (GET) and nothing written (POST);
- the producer of the batch: everything;
- another producer: the batch, its forms and its events are refused (403), and nothing written;
- centre of the batch's province, inspector, admin: the batch's page (the read rule), not the
  producer's forms (403);
- a centre of another province: nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.console.conftest import csrf_of
from tests.console.producer_world import Side, side, text
from trace.api.event_schemas import StageForm
from trace.models import AuditEntry, Batch, Event, Role
from trace.services.actors import Actor
from trace.services.events import stages


@pytest.fixture
def world(build: Any, session: Session) -> dict[str, Any]:
    own = side(build, "HTX Phượng Sơn", "24", "OWN-1")
    foreign = side(build, "HTX Hàng Xóm", "01", "FOREIGN-1")
    session.rollback()
    recorder = Actor(Role.PRODUCER, "test", organization_id=own.org.id)
    form = StageForm().load({"stage": "packing", "time": "2026-06-21T10:00:00+07:00"})
    stages.record_stage(session, recorder, own.batch.id, form, "https://trace.example.vn")
    session.commit()
    event = session.scalars(select(Event)).one()
    return {"own": own, "foreign": foreign, "event_pk": event.id}


# (method, path template, what it is): {b} the batch, {e} its event, {p} its product
ROUTES = [
    ("GET", "/console/batches/new", "form"),
    ("POST", "/console/batches/new", "form"),
    ("GET", "/console/batches/{b}", "page"),
    ("GET", "/console/batches/{b}/stage", "form"),
    ("GET", "/console/batches/{b}/stage?stage=packing", "form"),
    ("POST", "/console/batches/{b}/stage", "form"),
    ("GET", "/console/batches/{b}/events/{e}/correct", "form"),
    ("POST", "/console/batches/{b}/events/{e}/correct", "form"),
]
# role -> (status on the batch's page, status on the producer's forms)
EXPECTED = {
    "owner": (200, 200),
    "other_producer": (403, 403),
    "centre": (200, 403),
    "other_centre": (403, 403),
    "inspector": (200, 403),
    "admin": (200, 403),
}


def _user(make_user: Callable[..., Any], world: dict[str, Any], who: str) -> Any:
    own: Side = world["own"]
    foreign: Side = world["foreign"]
    return {
        "owner": lambda: make_user("producer", own.org),
        "other_producer": lambda: make_user("producer", foreign.org),
        "centre": lambda: make_user("centre", None, province="24"),
        "other_centre": lambda: make_user("centre", None, province="01"),
        "inspector": lambda: make_user("inspector"),
        "admin": lambda: make_user("admin"),
    }[who]()


def _post_data(path: str, world: dict[str, Any]) -> dict[str, Any]:
    own: Side = world["own"]
    if path.endswith("/new"):
        return {"product_id": own.product.id, "lot_code": "AUTHZ-1", "quantity": "5",
                "production_date": "2026-06-20"}  # fmt: skip
    if path.endswith("/stage"):
        return {"stage": "storing", "time": "2026-06-22T10:00"}
    return {"reason": "did_not_occur"}


def _writes(session: Session) -> tuple[int, int, int]:
    session.rollback()
    return (
        int(session.scalar(select(func.count()).select_from(Event)) or 0),
        int(session.scalar(select(func.count()).select_from(Batch)) or 0),
        int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0),
    )


@pytest.mark.parametrize("who", list(EXPECTED))
@pytest.mark.parametrize(("method", "template", "kind"), ROUTES)
def test_route_by_role(
    make_user: Any, signed_in: Any, world: dict[str, Any], session: Session,
    who: str, method: str, template: str, kind: str,
) -> None:  # fmt: skip
    own: Side = world["own"]
    path = template.format(b=own.batch.id, e=world["event_pk"])
    client = signed_in(_user(make_user, world, who))
    page_status, form_status = EXPECTED[who]
    expected = page_status if kind == "page" else form_status
    if template == "/console/batches/new" or template.endswith("/new"):
        # not about a batch: the owner and the other producer both may register their own
        expected = 200 if who in ("owner", "other_producer") else 403
    before = _writes(session)
    if method == "GET":
        response = client.get(path)
        assert response.status_code == expected, (who, path)
        if expected == 403:
            assert own.batch.lot_code not in text(response)
        return
    token = csrf_of(text(client.get("/console/")))
    response = client.post(path, data={"csrf_token": token, **_post_data(path, world)})
    if expected == 200:
        assert response.status_code in (303, 422), (who, path, response.status_code)
    else:
        # someone else's product is refused by the registry service (422), the rest up front
        refused = 422 if path.endswith("/new") and who == "other_producer" else 403
        assert response.status_code == refused, (who, path, response.status_code)
        assert _writes(session)[:2] == before[:2]  # no event, no batch


@pytest.mark.parametrize(("method", "template", "kind"), ROUTES)
def test_anonymous_is_sent_to_sign_in_and_writes_nothing(
    client: Any, world: dict[str, Any], session: Session, method: str, template: str, kind: str
) -> None:
    path = template.format(b=world["own"].batch.id, e=world["event_pk"])
    before = _writes(session)
    if method == "GET":
        response = client.get(path)
        assert response.status_code == 302
        assert response.location.startswith("/console/sign-in?next=")
        return
    token = csrf_of(text(client.get("/console/sign-in")))
    response = client.post(path, data={"csrf_token": token, **_post_data(path, world)})
    assert response.status_code == 302 and "/console/sign-in" in response.location
    assert _writes(session) == before


def test_unknown_batches_and_events_are_not_found(
    make_user: Any, signed_in: Any, world: dict[str, Any]
) -> None:
    client = signed_in(make_user("producer", world["own"].org))
    batch = world["own"].batch.id
    assert client.get("/console/batches/999999").status_code == 404
    assert client.get("/console/batches/999999/stage").status_code == 404
    assert client.get(f"/console/batches/{batch}/events/999999/correct").status_code == 404
