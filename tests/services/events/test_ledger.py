"""The ledger chain, and edits made behind the service's back with raw SQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.database import connection as shared_connection
from trace.epcis.export import epcis_document
from trace.models import Event


def capture_events(client, token, n: int = 5) -> list[str]:
    events = [
        {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:ledger-{i}",
            "eventTime": f"2026-06-1{i % 10}T06:30:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "epcList": [f"https://id.gs1.org/01/08934567890120/21/L{i}"],
            "action": "OBSERVE",
            "bizStep": "shipping",
        }
        for i in range(n)
    ]
    body = epcis_document(events)
    response = client.post("/api/v1/capture", json=body, headers=token("admin"))
    assert response.status_code == 201
    return [e["eventID"] for e in response.json["events"]]


def raw(app, sql: str, **params) -> None:
    with shared_connection(app) as conn:
        conn.execute(text(sql), params)


def verify(client, token) -> dict:
    response = client.get("/api/v1/ledger/verify", headers=token("inspector"))
    assert response.status_code == 200
    return response.json


def test_intact_ledger_verifies(client, token, session) -> None:
    capture_events(client, token, 5)
    result = verify(client, token)
    assert result["ok"] is True and result["entries"] == 5 and result["head_seq"] == 5
    seqs = [e.seq for e in session.query(Event).order_by(Event.seq)]
    assert seqs == [1, 2, 3, 4, 5]


def test_altered_event_is_named(app, client, token) -> None:
    capture_events(client, token)
    row = json.dumps({"type": "ObjectEvent", "eventID": "urn:uuid:ledger-2",
                      "eventTime": "2026-06-12T07:30:00+07:00", "eventTimeZoneOffset": "+07:00",
                      "epcList": ["https://id.gs1.org/01/08934567890120/21/L2"],
                      "action": "OBSERVE", "bizStep": "shipping"})  # fmt: skip
    raw(app, "UPDATE event SET document = :doc WHERE seq = 3", doc=row)
    finding = verify(client, token)["finding"]
    assert (finding["seq"], finding["kind"], finding["event_id"]) == (
        3,
        "altered",
        "urn:uuid:ledger-2",
    )


def test_altered_event_with_rewritten_hash_is_named(app, client, token) -> None:
    capture_events(client, token)
    raw(app, "UPDATE event SET hash_id = (SELECT hash_id FROM event WHERE seq = 4) || 'x' "
        "WHERE seq = 2")  # fmt: skip
    finding = verify(client, token)["finding"]
    assert finding["seq"] == 2 and finding["kind"] == "altered"


def test_deleted_event_is_named(app, client, token) -> None:
    capture_events(client, token)
    raw(app, "DELETE FROM event_epc WHERE event_pk = (SELECT id FROM event WHERE seq = 3)")
    raw(app, "DELETE FROM event WHERE seq = 3")
    finding = verify(client, token)["finding"]
    assert (finding["seq"], finding["kind"]) == (3, "deleted")


def test_deleted_last_event_is_named(app, client, token) -> None:
    capture_events(client, token)
    raw(app, "DELETE FROM event_epc WHERE event_pk = (SELECT id FROM event WHERE seq = 5)")
    raw(app, "DELETE FROM event WHERE seq = 5")
    finding = verify(client, token)["finding"]
    assert (finding["seq"], finding["kind"]) == (5, "deleted")


def _forge(app, seq: int, chain_hash: str = "f" * 64) -> None:
    raw(
        app,
        "INSERT INTO event (id, event_id, hash_id, event_type, action, event_time, "
        "event_time_zone_offset, record_time, biz_step, document, namespaces, declares_error, "
        "seq, chain_hash) SELECT 1000, 'urn:uuid:forged', 'ni:///sha-256;00?ver=CBV2.0', "
        "event_type, action, event_time, event_time_zone_offset, record_time, biz_step, document, "
        "namespaces, declares_error, :seq, :chain FROM event WHERE seq = 1",
        seq=seq,
        chain=chain_hash,
    )


def test_inserted_event_in_the_middle_is_named(app, client, token) -> None:
    capture_events(client, token)
    for seq in (5, 4, 3):  # make room at 3, as a careful forger would
        raw(app, "UPDATE event SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    _forge(app, 3)
    raw(app, "UPDATE ledger_head SET seq = 6")
    finding = verify(client, token)["finding"]
    assert (finding["seq"], finding["kind"], finding["event_id"]) == (
        3,
        "inserted",
        "urn:uuid:forged",
    )


def test_inserted_event_at_the_end_is_named(app, client, token) -> None:
    capture_events(client, token)
    _forge(app, 6)
    finding = verify(client, token)["finding"]
    assert (finding["seq"], finding["kind"]) == (6, "inserted")


@pytest.mark.parametrize("pair", [(2, 3), (2, 4)])
def test_reordered_events_are_named(app, client, token, pair) -> None:
    capture_events(client, token)
    first, second = pair
    raw(app, "UPDATE event SET seq = -1 WHERE seq = :a", a=first)
    raw(app, "UPDATE event SET seq = :a WHERE seq = :b", a=first, b=second)
    raw(app, "UPDATE event SET seq = :b WHERE seq = -1", b=second)
    finding = verify(client, token)["finding"]
    assert (finding["seq"], finding["kind"]) == (first, "reordered")


def test_cli_verify(app, client, token) -> None:
    capture_events(client, token)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["verify"])
    assert ok.exit_code == 0 and "Ledger intact: 5 entries" in ok.output
    raw(app, "UPDATE event SET document = '{}' WHERE seq = 4")
    broken = runner.invoke(args=["verify"])
    assert broken.exit_code == 1
    assert "entry 4 (altered)" in broken.output
