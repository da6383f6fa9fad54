"""EPCIS capture through HTTP: conformance documents, identity, all-or-nothing, corrections."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from trace.epcis.export import epcis_document
from trace.epcis.validation import validate_document
from trace.models import Event

DATA = Path(__file__).resolve().parents[1] / "epcis" / "data"
VALID = sorted((DATA / "epcis-valid").glob("*.jsonld"))
INVALID = sorted((DATA / "openepcis-invalid").glob("*.json"))
HASH_EXAMPLES = DATA / "event-hash" / "examples"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def doc(*events: dict) -> dict:
    return epcis_document(list(events))


def object_event(epc: str = "https://id.gs1.org/01/08934567890120/21/A1", **extra) -> dict:
    return {
        "type": "ObjectEvent",
        "eventTime": "2026-06-12T06:30:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "epcList": [epc],
        "action": "OBSERVE",
        "bizStep": "shipping",
        **extra,
    }


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_standard_examples_are_accepted_and_query_back(client, token, path) -> None:
    admin = token("admin")
    document = load(path)
    response = client.post("/api/v1/capture", json=document, headers=admin)
    assert response.status_code == 201, response.json
    captured = response.json["events"]
    assert captured and all(e["hashID"].startswith("ni:///sha-256;") for e in captured)
    for item in captured:
        found = client.get(
            "/api/v1/events", query_string={"EQ_eventID": item["eventID"]}, headers=admin
        )
        assert found.status_code == 200
        assert found.mimetype == "application/ld+json"
        assert validate_document(found.json) == []
        events = found.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert item["eventID"] in {e["eventID"] for e in events}


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_documents_are_rejected_naming_the_problem(client, token, count, path) -> None:
    response = client.post("/api/v1/capture", json=load(path), headers=token("admin"))
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"] and all(e["detail"] for e in response.json["errors"])
    assert all(e["pointer"] == "" or e["pointer"].startswith("/") for e in response.json["errors"])
    assert count(Event) == 0


def _hash_vectors() -> list[tuple[Path, Path]]:
    return [
        (p, p.with_suffix(".hashes"))
        for p in sorted(HASH_EXAMPLES.glob("*.jsonld")) + sorted(HASH_EXAMPLES.glob("*.json"))
        if p.with_suffix(".hashes").exists()
    ]


@pytest.mark.parametrize(("path", "hashes"), _hash_vectors(), ids=lambda p: p.stem)
def test_captured_hash_ids_match_the_reference(client, token, path, hashes) -> None:
    expected = [line.strip() for line in hashes.read_text().splitlines() if line.strip()]
    document = load(path)
    assert validate_document(document) == []
    response = client.post("/api/v1/capture", json=document, headers=token("admin"))
    assert response.status_code in (200, 201), response.json
    got = [e["hashID"] for e in response.json["events"]]
    assert got == expected


def test_same_event_again_is_a_no_op(client, token, count) -> None:
    admin = token("admin")
    body = doc(object_event(eventID="urn:uuid:8a4f3c1e-0000-4000-8000-000000000001"))
    first = client.post("/api/v1/capture", json=body, headers=admin)
    again = client.post("/api/v1/capture", json=body, headers=admin)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["events"] == [first.json["events"][0] | {"status": "existing"}]
    assert count(Event) == 1


def test_event_without_id_gets_its_hash_as_id_and_is_idempotent(client, token, count) -> None:
    admin = token("admin")
    first = client.post("/api/v1/capture", json=doc(object_event()), headers=admin).json
    assert first["events"][0]["eventID"] == first["events"][0]["hashID"]
    again = client.post("/api/v1/capture", json=doc(object_event()), headers=admin)
    assert again.status_code == 200
    assert count(Event) == 1


def test_same_id_with_other_content_is_409(client, token, count) -> None:
    admin = token("admin")
    client.post("/api/v1/capture", json=doc(object_event(eventID="urn:uuid:e-1")), headers=admin)
    changed = object_event(eventID="urn:uuid:e-1", bizStep="receiving")
    response = client.post("/api/v1/capture", json=doc(changed), headers=admin)
    assert response.status_code == 409
    assert response.json["existing_event_id"] == "urn:uuid:e-1"
    assert count(Event) == 1


def test_same_content_under_new_id_is_409_naming_the_existing(client, token, count) -> None:
    admin = token("admin")
    client.post("/api/v1/capture", json=doc(object_event(eventID="urn:uuid:e-1")), headers=admin)
    response = client.post(
        "/api/v1/capture", json=doc(object_event(eventID="urn:uuid:e-2")), headers=admin
    )
    assert response.status_code == 409
    assert "urn:uuid:e-1" in response.json["detail"]
    assert count(Event) == 1


def test_all_or_nothing_by_default_and_proceed_on_request(client, token, count) -> None:
    admin = token("admin")
    good = object_event(eventID="urn:uuid:good")
    bad = object_event(eventID="urn:uuid:bad", bizStep="teleporting")
    rejected = client.post("/api/v1/capture", json=doc(good, bad), headers=admin)
    assert rejected.status_code == 422
    pointers = [e["pointer"] for e in rejected.json["errors"]]
    assert any(p.startswith("/epcisBody/eventList/1") for p in pointers)
    assert count(Event) == 0
    kept = client.post(
        "/api/v1/capture",
        json=doc(good, bad),
        headers=admin | {"GS1-Capture-Error-Behaviour": "proceed"},
    )
    assert kept.status_code == 201
    assert [e["index"] for e in kept.json["events"]] == [0]
    assert kept.json["errors"][0]["pointer"].startswith("/epcisBody/eventList/1")
    assert count(Event) == 1


def test_vocabulary_is_stored_canonically(client, token, session) -> None:
    admin = token("admin")
    event = object_event(
        bizStep="urn:epcglobal:cbv:bizstep:shipping",
        disposition="https://ref.gs1.org/cbv/Disp-in_transit",
    )
    response = client.post("/api/v1/capture", json=doc(event), headers=admin)
    assert response.status_code == 201
    stored = session.query(Event).one()
    assert (stored.biz_step, stored.disposition) == ("shipping", "in_transit")
    assert stored.document["bizStep"] == "shipping"
    by_short = client.get("/api/v1/events?EQ_bizStep=shipping", headers=admin).json
    by_urn = client.get(
        "/api/v1/events?EQ_bizStep=urn:epcglobal:cbv:bizstep:shipping", headers=admin
    ).json
    for result in (by_short, by_urn):
        assert len(result["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1


def test_error_declaration_marks_the_original_as_corrected(client, token, build) -> None:
    org = build.organization()
    product = build.product(org, gtin="8934567890120")
    batch = build.batch(product, lot_code="LN-ERR-1")
    admin = token("admin")
    lot = "https://trace.example.vn/01/08934567890120/10/LN-ERR-1"
    original = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:orig-1",
        "eventTime": "2026-06-12T06:30:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "quantityList": [{"epcClass": lot, "quantity": 100, "uom": "KGM"}],
    }
    assert client.post("/api/v1/capture", json=doc(original), headers=admin).status_code == 201
    declaration = copy.deepcopy(original) | {
        "errorDeclaration": {
            "declarationTime": "2026-06-13T08:00:00+07:00",
            "reason": "incorrect_data",
            "correctiveEventIDs": ["urn:uuid:fix-1"],
        }
    }
    fix = copy.deepcopy(original) | {
        "eventID": "urn:uuid:fix-1",
        "eventTime": "2026-06-12T07:30:00+07:00",
    }
    response = client.post("/api/v1/capture", json=doc(declaration, fix), headers=admin)
    assert response.status_code == 201, response.json
    history = client.get(f"/api/v1/batches/{batch.id}/events", headers=admin).json["events"]
    by_id = {e["eventID"]: e for e in history}
    assert by_id["urn:uuid:orig-1"]["corrected"] is True
    assert by_id["urn:uuid:orig-1"]["corrections"][0]["correctiveEventIDs"] == ["urn:uuid:fix-1"]
    assert by_id["urn:uuid:fix-1"]["corrected"] is False
    declared = client.get("/api/v1/events?EXISTS_errorDeclaration=true", headers=admin).json
    listed = declared["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["eventID"] for e in listed] == ["urn:uuid:orig-1"]
    assert "errorDeclaration" in listed[0]
    again = client.post("/api/v1/capture", json=doc(declaration), headers=admin)
    assert again.status_code == 200


def test_declaration_may_arrive_before_its_event(client, token, build) -> None:
    """The declared event may live elsewhere, or arrive later: the declaration is kept and
    marks the event once it is here."""
    org = build.organization()
    batch = build.batch(build.product(org, gtin="8934567890120"), lot_code="LN-LATE")
    admin = token("admin")
    event = object_event(
        epc="https://trace.example.vn/01/08934567890120/10/LN-LATE/21/X",
        eventID="urn:uuid:late-1",
    )
    event.pop("epcList")
    event["quantityList"] = [{"epcClass": "https://trace.example.vn/01/08934567890120/10/LN-LATE"}]
    declaration = copy.deepcopy(event) | {
        "errorDeclaration": {"declarationTime": "2026-06-13T00:00:00Z", "reason": "did_not_occur"}
    }
    assert client.post("/api/v1/capture", json=doc(declaration), headers=admin).status_code == 201
    assert client.post("/api/v1/capture", json=doc(event), headers=admin).status_code == 201
    history = client.get(f"/api/v1/batches/{batch.id}/events", headers=admin).json["events"]
    assert [(e["eventID"], e["corrected"]) for e in history] == [("urn:uuid:late-1", True)]
    assert history[0]["corrections"][0]["reason"] == "did_not_occur"


def test_large_document_is_captured(client, token, count) -> None:
    events = [
        object_event(
            epc=f"https://id.gs1.org/01/08934567890120/21/S{i}", eventID=f"urn:uuid:big-{i}"
        )
        for i in range(2000)
    ]
    response = client.post("/api/v1/capture", json=doc(*events), headers=token("admin"))
    assert response.status_code == 201
    assert response.json["captured"] == 2000
    assert count(Event) == 2000


def test_capture_needs_a_writer(client, token, count) -> None:
    assert client.post("/api/v1/capture", json=doc(object_event())).status_code == 401
    response = client.post("/api/v1/capture", json=doc(object_event()), headers=token("inspector"))
    assert response.status_code == 403
    assert count(Event) == 0
