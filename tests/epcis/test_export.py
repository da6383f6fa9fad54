"""Exported EPCIS documents are schema-valid and keep the events (and their hashes) intact."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trace.epcis.export import EPCIS_CONTEXT_URL, epcis_document, used_prefixes
from trace.epcis.hashing import event_hash_id
from trace.epcis.validation import _header_validator, parse_document, validate_document

DATA = Path(__file__).parent / "data" / "epcis-valid"
NS = {"example": "https://ns.example.com/epcis/"}


def _events() -> list[dict]:
    return [
        {
            "type": "ObjectEvent",
            "eventTime": "2024-06-10T06:00:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "quantityList": [
                {
                    "epcClass": "https://id.gs1.org/01/08934567123457/10/VLN-2024-06",
                    "quantity": 1200,
                    "uom": "KGM",
                }
            ],
            "action": "ADD",
            "bizStep": "commissioning",
            "readPoint": {"id": "https://id.gs1.org/414/8934567000017"},
            "ilmd": {"example:harvestDate": "2024-06-10"},
        },
        {
            "type": "ObjectEvent",
            "eventTime": "2024-06-11T09:15:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "quantityList": [
                {
                    "epcClass": "https://id.gs1.org/01/08934567123457/10/VLN-2024-06",
                    "quantity": 600,
                    "uom": "KGM",
                }
            ],
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "example:truck": "98C-123.45",
        },
    ]


def test_capture_document_is_schema_valid() -> None:
    doc = epcis_document(_events(), namespaces=NS)
    assert doc["type"] == "EPCISDocument"
    assert doc["schemaVersion"] == "2.0"
    assert doc["@context"] == [EPCIS_CONTEXT_URL, NS]
    assert len(doc["epcisBody"]["eventList"]) == 2
    assert list(_header_validator().iter_errors(doc)) == []
    assert validate_document(doc) == []


def test_query_document_is_schema_valid() -> None:
    doc = epcis_document(
        _events(),
        query=True,
        query_name="SimpleEventQuery",
        subscription_id="sub-1",
        namespaces=NS,
    )
    assert doc["type"] == "EPCISQueryDocument"
    results = doc["epcisBody"]["queryResults"]
    assert results["queryName"] == "SimpleEventQuery"
    assert results["subscriptionID"] == "sub-1"
    assert len(results["resultsBody"]["eventList"]) == 2
    assert validate_document(doc) == []


def test_empty_query_result_is_valid() -> None:
    doc = epcis_document([], query=True)
    assert doc["@context"] == [EPCIS_CONTEXT_URL]
    assert doc["epcisBody"]["queryResults"]["queryName"] == "SimpleEventQuery"
    assert validate_document(doc) == []


def test_creation_date_is_utc_with_milliseconds() -> None:
    when = datetime(2024, 6, 11, 16, 0, 0, 123456, tzinfo=UTC)
    assert epcis_document([], creation_date=when)["creationDate"] == "2024-06-11T16:00:00.123Z"
    assert epcis_document([])["creationDate"].endswith("Z")


def test_undeclared_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="example"):
        epcis_document(_events())


def test_event_level_context_is_folded_into_the_document() -> None:
    events = _events()
    events[1]["@context"] = [{"example": NS["example"]}]
    events[0]["@context"] = [{"example": NS["example"]}]
    doc = epcis_document(events)
    assert doc["@context"] == [EPCIS_CONTEXT_URL, NS]
    assert all("@context" not in e for e in doc["epcisBody"]["eventList"])
    assert validate_document(doc) == []


def test_used_prefixes_ignores_uris() -> None:
    events = [{"example:a": {"other:b": 1}, "cbvmda:lotNumber": "x", "https://x.org/c": 1}]
    assert used_prefixes(events) == {"example", "other", "cbvmda"}


def test_standard_prefixes_need_no_declaration_unless_redefined() -> None:
    event = dict(_events()[0], ilmd={"cbvmda:lotNumber": "L1"})
    assert epcis_document([event])["@context"] == [EPCIS_CONTEXT_URL]
    custom = {"cbvmda": "http://example.com/cbvmda/"}
    assert epcis_document([event], namespaces=custom)["@context"] == [EPCIS_CONTEXT_URL, custom]


@pytest.mark.parametrize("path", sorted(DATA.glob("*.jsonld")), ids=lambda p: p.name)
def test_round_trip_keeps_events_and_hashes(path: Path) -> None:
    original = json.loads(path.read_text(encoding="utf-8"))
    events = parse_document(original)
    doc = epcis_document(list(events), namespaces=events.namespaces)
    assert validate_document(doc) == []
    again = parse_document(doc)
    assert [event_hash_id(e, again.context) for e in again] == [
        event_hash_id(e, events.context) for e in events
    ]
