"""An event dated more than a day after the server's clock is refused (422 at ``eventTime``) on
every path that records events: EPCIS capture, the stage form and the console's stage page go
through the one capture service. A day of tolerance covers capturing devices' clock drift."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.console.producer_world import side
from trace.epcis.export import epcis_document
from trace.models import Event

EPC = "https://id.gs1.org/01/08934567890120/21/F1"


def _at(delta: dt.timedelta, offset: str = "+07:00") -> str:
    zone = dt.timezone(dt.timedelta(hours=int(offset[:3]), minutes=int(offset[4:])))
    return (dt.datetime.now(dt.UTC) + delta).astimezone(zone).isoformat(timespec="seconds")


def _event(when: str, serial: str = "F1") -> dict:
    return {
        "type": "ObjectEvent",
        "eventTime": when,
        "eventTimeZoneOffset": when[-6:],
        "epcList": [EPC.replace("F1", serial)],
        "action": "OBSERVE",
        "bizStep": "inspecting",
    }


@pytest.mark.parametrize(
    ("delta", "offset"),
    [
        (dt.timedelta(hours=25), "+07:00"),
        (dt.timedelta(days=400), "-12:00"),
        (dt.timedelta(hours=24, minutes=5), "+14:00"),  # the offset does not buy time
    ],
)
def test_capture_refuses_an_event_dated_in_the_future(client, token, count, delta, offset) -> None:
    document = epcis_document([_event(_at(delta, offset))])
    response = client.post("/api/v1/capture", json=document, headers=token("admin"))
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert [e["pointer"] for e in response.json["errors"]] == ["/epcisBody/eventList/0/eventTime"]
    assert "future" in response.json["errors"][0]["detail"]
    assert count(Event) == 0


def test_clock_drift_within_a_day_is_accepted(client, token, count) -> None:
    document = epcis_document([_event(_at(dt.timedelta(hours=23), "+14:00"))])
    response = client.post("/api/v1/capture", json=document, headers=token("admin"))
    assert response.status_code == 201, response.json
    assert count(Event) == 1


def test_proceed_keeps_the_past_events_and_reports_the_future_one(client, token, count) -> None:
    document = epcis_document([_event(_at(dt.timedelta(hours=-1)), "P1"),
                               _event(_at(dt.timedelta(days=2)), "P2")])  # fmt: skip
    response = client.post("/api/v1/capture", json=document, headers={
        **token("admin"), "GS1-Capture-Error-Behaviour": "proceed"})  # fmt: skip
    assert response.status_code in (201, 207), response.json
    assert count(Event) == 1
    assert "/epcisBody/eventList/1/eventTime" in str(response.json)


def test_the_stage_form_refuses_a_future_time(client, build, token, count) -> None:
    own = side(build, "HTX Tương Lai", "24", "FUT-1")
    producer = token("producer", own.org)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat(timespec="seconds")
    response = client.post(f"/api/v1/batches/{own.batch.id}/events", headers=producer,
                           json={"stage": "harvesting", "time": later})  # fmt: skip
    assert response.status_code == 422, response.json
    assert any(e["pointer"].endswith("eventTime") for e in response.json["errors"])
    assert count(Event) == 0
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    response = client.post(f"/api/v1/batches/{own.batch.id}/events", headers=producer,
                           json={"stage": "harvesting", "time": now})  # fmt: skip
    assert response.status_code == 201, response.json
