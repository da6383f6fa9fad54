"""EPCIS query parameters and pagination over captured events."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from trace.epcis.export import epcis_document
from trace.epcis.validation import validate_document

LOT = "https://trace.example.vn/01/08934567890120/10/LN-Q1"
UNIT = "https://trace.example.vn/01/08934567890120/21/UNIT1"
PLACE = "https://trace.example.vn/414/8935049500018"


def event(i: int, **extra) -> dict:
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:q-{i}",
        "eventTime": f"2026-06-{10 + i:02d}T06:30:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "epcList": [f"https://id.gs1.org/01/08934567890120/21/S{i}"],
        **extra,
    }


@pytest.fixture
def captured(client, token):
    events = [
        event(0, bizStep="receiving", disposition="in_progress"),
        event(1, action="ADD", epcList=[UNIT]),
        event(2, epcList=[], quantityList=[{"epcClass": LOT, "quantity": 5, "uom": "KGM"}]),
        event(3, bizLocation={"id": PLACE}, readPoint={"id": PLACE}),
        {
            "type": "TransformationEvent",
            "eventID": "urn:uuid:q-4",
            "eventTime": "2026-06-14T06:30:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "inputQuantityList": [{"epcClass": LOT, "quantity": 5, "uom": "KGM"}],
            "outputEPCList": ["urn:epc:id:sgtin:8934567.089012.OUT1"],
        },
    ]
    events[2].pop("epcList")
    body = epcis_document(events)
    response = client.post("/api/v1/capture", json=body, headers=token("admin"))
    assert response.status_code == 201, response.json
    return token("inspector")


def ids(client, headers, **params) -> list[str]:
    response = client.get("/api/v1/events", query_string=params, headers=headers)
    assert response.status_code == 200, response.json
    assert validate_document(response.json) == []
    body = response.json["epcisBody"]["queryResults"]
    assert body["queryName"] == "SimpleEventQuery"
    return [e["eventID"] for e in body["resultsBody"]["eventList"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"eventType": "TransformationEvent"}, [4]),
        ({"eventType": "ObjectEvent,TransformationEvent"}, [0, 1, 2, 3, 4]),
        ({"GE_eventTime": "2026-06-12T00:00:00+07:00"}, [2, 3, 4]),
        ({"LT_eventTime": "2026-06-11T06:30:00+07:00"}, [0]),
        ({"GE_eventTime": "2026-06-11T00:00:00Z", "LT_eventTime": "2026-06-12T00:00:00Z"}, [2]),
        ({"EQ_action": "ADD"}, [1]),
        ({"EQ_bizStep": "receiving"}, [0]),
        ({"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-receiving"}, [0]),
        ({"EQ_disposition": "in_progress"}, [0]),
        ({"EQ_bizLocation": PLACE}, [3]),
        ({"EQ_readPoint": "urn:epc:id:sgln:8935049.50001.0"}, [3]),
        ({"MATCH_epc": UNIT}, [1]),
        ({"MATCH_epc": "https://id.gs1.org/01/08934567890120/21/OUT1"}, [4]),
        ({"MATCH_epcClass": LOT}, [2, 4]),
        ({"MATCH_epcClass": "https://id.gs1.org/01/08934567890120/10/LN-Q1"}, [2, 4]),
        ({"MATCH_anyEPC": f"{UNIT},{LOT}"}, [1, 2, 4]),
        ({"EQ_eventID": "urn:uuid:q-3"}, [3]),
        ({"EXISTS_errorDeclaration": ""}, []),
    ],
)
def test_query_parameters(client, captured, params, expected) -> None:
    assert ids(client, captured, **params) == [f"urn:uuid:q-{i}" for i in expected]


def test_record_time_bounds(client, captured) -> None:
    assert len(ids(client, captured, GE_recordTime="2000-01-01T00:00:00Z")) == 5
    assert ids(client, captured, LT_recordTime="2000-01-01T00:00:00Z") == []


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"eventType": "MagicEvent"}, "/eventType/0"),
        ({"GE_eventTime": "last week"}, "/GE_eventTime"),
        ({"EQ_action": "CREATE"}, "/EQ_action/0"),
        ({"EQ_bizStep": "urn:epcglobal:cbv:bizstep:teleporting"}, "/EQ_bizStep"),
        ({"perPage": "0"}, "/perPage"),
        ({"nextPageToken": "garbage!"}, "/nextPageToken"),
        ({"colour": "red"}, "/colour"),
    ],
)
def test_bad_query_parameters(client, captured, params, pointer) -> None:
    response = client.get("/api/v1/events", query_string=params, headers=captured)
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.json["errors"]]


def test_pagination_follows_next_links(client, captured, token) -> None:
    seen: list[str] = []
    url = "/api/v1/events?perPage=2"
    pages = 0
    while url:
        response = client.get(url, headers=captured)
        assert response.status_code == 200
        seen += [
            e["eventID"]
            for e in response.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]
        pages += 1
        link = response.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
        if url:
            assert parse_qs(urlsplit(url).query)["perPage"] == ["2"]
    assert pages == 3
    assert seen == [f"urn:uuid:q-{i}" for i in range(5)]
