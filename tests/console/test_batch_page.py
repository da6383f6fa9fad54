"""A batch's page in the console: its journey as the consumer sees it, who recorded what (the
user, the organisation, the token), hash IDs, and correcting a mistaken event with an EPCIS
error declaration; another organisation's batches and events stay out of reach."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.console.producer_world import Side, post_form, side, text
from trace.models import Event

NAME = "Chị Lan Phượng Sơn"


@pytest.fixture
def own(build: Any) -> Side:
    return side(build, "HTX Phượng Sơn", "24", "OWN-1")


@pytest.fixture
def foreign(build: Any) -> Side:
    return side(build, "HTX Hàng Xóm", "01", "FOREIGN-1")


@pytest.fixture
def client(make_user: Any, signed_in: Any, own: Side) -> Any:
    return signed_in(make_user("producer", own.org, name=NAME))


def page_url(batch_id: int) -> str:
    return f"/console/batches/{batch_id}"


def correct_url(batch_id: int, event_pk: int) -> str:
    return f"/console/batches/{batch_id}/events/{event_pk}/correct"


def recorded(client: Any, batch: Any, stage: str, session: Session, **fields: Any) -> Event:
    url = f"/console/batches/{batch.id}/stage"
    response = post_form(client, f"{url}?stage={stage}", url, {"stage": stage, **fields})
    assert response.status_code == 303, text(response).split("<main>")[1][:1500]
    session.rollback()
    return session.scalars(select(Event).order_by(Event.seq.desc()).limit(1)).one()


def declarations(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).where(Event.declares_error)) or 0)


def test_the_page_shows_the_journey_and_who_recorded_what(
    client: Any, own: Side, session: Session, token: Any
) -> None:
    harvest = recorded(client, own.batch, "harvesting", session, time="2026-06-21T06:30",
                       facility_id=own.farm.id, note="Hái sáng sớm")  # fmt: skip
    api = client.post(f"/api/v1/batches/{own.batch.id}/events",
                      json={"stage": "packing", "time": "2026-06-21T10:00:00+07:00"},
                      headers=token("producer", own.org))  # fmt: skip
    assert api.status_code == 201
    page = text(client.get(page_url(own.batch.id)))
    journey = page[page.index("Hành trình") :]
    assert "Thu hoạch" in journey and "Đóng gói" in journey and own.farm.name in journey
    private = page[page.index('id="h-record"') :]
    assert f"Ghi bởi {NAME} · {own.org.name}" in private  # the console user, by name
    assert "(khóa API" in private  # the packing came through a token
    assert harvest.hash_id in private and "Hái sáng sớm" in private
    assert private.count("Sửa lại") == 2  # both are the organisation's own: it may correct them


def test_correcting_an_event_declares_it_in_error(client: Any, own: Side, session: Session) -> None:
    event = recorded(client, own.batch, "packing", session, time="2026-06-21T10:00",
                     quantity="1000")  # fmt: skip
    form = text(client.get(correct_url(own.batch.id, event.id)))
    assert event.hash_id in form and 'name="reason"' in form
    response = post_form(client, correct_url(own.batch.id, event.id),
                         correct_url(own.batch.id, event.id),
                         {"reason": "incorrect_data", "explanation": "Sai số lượng"})  # fmt: skip
    assert response.status_code == 303
    assert response.location == f"/console/batches/{own.batch.id}?corrected=1"
    session.rollback()
    declaration = session.scalars(select(Event).where(Event.declares_error)).one()
    assert declaration.event_id == event.event_id and declaration.hash_id == event.hash_id
    body = declaration.document["errorDeclaration"]
    assert body["reason"] == "incorrect_data" and body["trace:explanation"] == "Sai số lượng"
    page = text(client.get(response.location))
    assert "đã được đính chính" in page  # the consumer's journey says so
    private = page[page.index('id="h-record"') :]
    assert "Khai báo sai:" in private and "Sai số lượng" in private
    assert "Sửa lại" not in private  # corrected once
    again = post_form(client, page_url(own.batch.id), correct_url(own.batch.id, event.id),
                      {"reason": "did_not_occur"})  # fmt: skip
    assert again.status_code == 409
    assert declarations(session) == 1


def test_a_correction_needs_a_reason_and_keeps_the_explanation(
    client: Any, own: Side, session: Session
) -> None:
    event = recorded(client, own.batch, "packing", session, time="2026-06-21T10:00")
    url = correct_url(own.batch.id, event.id)
    response = post_form(client, url, url, {"explanation": "Nhầm lô"})
    assert response.status_code == 422
    assert 'id="e-reason"' in text(response) and "Nhầm lô" in text(response)
    assert declarations(session) == 0


def test_csrf_missing_on_a_correction_writes_nothing(
    client: Any, own: Side, session: Session
) -> None:
    event = recorded(client, own.batch, "packing", session, time="2026-06-21T10:00")
    response = client.post(correct_url(own.batch.id, event.id), data={"reason": "did_not_occur"})
    assert response.status_code == 400
    assert declarations(session) == 0


def test_another_organisations_batch_and_events_are_out_of_reach(
    client: Any, make_user: Any, signed_in: Any, own: Side, foreign: Side, session: Session
) -> None:
    theirs = signed_in(make_user("producer", foreign.org))
    event = recorded(theirs, foreign.batch, "packing", session, time="2026-06-21T10:00")
    mine = recorded(client, own.batch, "packing", session, time="2026-06-21T11:00")
    for response in (
        client.get(page_url(foreign.batch.id)),
        client.get(correct_url(foreign.batch.id, event.id)),
        post_form(client, page_url(own.batch.id), correct_url(foreign.batch.id, event.id),
                  {"reason": "did_not_occur"}),
    ):  # fmt: skip
        assert response.status_code == 403
        assert foreign.batch.lot_code not in text(response)
    # their event under my batch's address: not an event of my batch
    assert client.get(correct_url(own.batch.id, event.id)).status_code == 404
    response = post_form(client, page_url(own.batch.id), correct_url(own.batch.id, event.id),
                         {"reason": "did_not_occur"})  # fmt: skip
    assert response.status_code == 404
    # and mine under theirs
    assert theirs.get(correct_url(own.batch.id, mine.id)).status_code == 403
    assert declarations(session) == 0
