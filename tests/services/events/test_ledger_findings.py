"""What ``GET /api/v1/ledger/verify`` says about each kind of edit made behind the service's back:
the entry, the kind, the event and the words of the finding (which the CLI prints as they are).

Written to kill the mutants of ``trace/services/ledger.py`` that the other ledger tests let
through (``tests/bench/mutation.py ledger``): findings without their message or event, the
ledger head checks, the empty ledger, entry digests of declarations and events with namespaces.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.database import connection as shared_connection
from tests.services.events.test_ledger import _forge, capture_events, raw
from trace.epcis.export import epcis_document
from trace.services.events import ledger


def verify(client, token) -> dict:
    response = client.get("/api/v1/ledger/verify", headers=token("inspector"))
    assert response.status_code == 200
    return response.json


def head_row(app) -> tuple[int, str]:
    with shared_connection(app) as conn:
        return tuple(conn.exec_driver_sql("SELECT seq, chain_hash FROM ledger_head").one())


def finding(client, token) -> dict:
    result = verify(client, token)
    assert result["ok"] is False, result
    return result["finding"]


def test_empty_ledger_verifies(client, token) -> None:
    assert verify(client, token) == {
        "ok": True,
        "entries": 0,
        "head_seq": 0,
        "head_chain_hash": "0" * 64,
        "finding": None,
        "findings": [],
        "mismatched_entries": 0,
    }


def test_intact_ledger_reports_its_head(app, client, token) -> None:
    capture_events(client, token, 3)
    result = verify(client, token)
    assert (result["head_seq"], result["head_chain_hash"]) == head_row(app)
    assert result["ok"] is True and result["finding"] is None and result["entries"] == 3


def test_entry_past_the_head(app, client, token) -> None:
    capture_events(client, token)
    _forge(app, 6)
    found = finding(client, token)
    assert (found["seq"], found["kind"], found["event_id"]) == (6, "inserted", "urn:uuid:forged")
    assert "entry 6 lies past the ledger head (5)" in found["message"]


def test_missing_entry(app, client, token) -> None:
    capture_events(client, token)
    raw(app, "DELETE FROM event_epc WHERE event_pk = (SELECT id FROM event WHERE seq = 3)")
    raw(app, "DELETE FROM event WHERE seq = 3")
    found = finding(client, token)
    assert (found["seq"], found["kind"]) == (3, "deleted")
    assert "entry 3 is missing: the ledger jumps to entry 4" in found["message"]


def test_entries_removed_at_the_end(app, client, token) -> None:
    capture_events(client, token)
    for seq in (5, 4):
        raw(app, "DELETE FROM event_epc WHERE event_pk = (SELECT id FROM event WHERE seq = :s)",
            s=seq)  # fmt: skip
        raw(app, "DELETE FROM event WHERE seq = :s", s=seq)
    found = finding(client, token)
    assert (found["seq"], found["kind"]) == (4, "deleted")
    assert "the ledger head is entry 5 but the entries end at 3" in found["message"]


def test_head_moved_on_alone(app, client, token) -> None:
    """The head claims an entry more, its chain hash untouched: entries are missing."""
    capture_events(client, token)
    raw(app, "UPDATE ledger_head SET seq = 6")
    found = finding(client, token)
    assert (found["seq"], found["kind"]) == (6, "deleted")
    assert "the ledger head is entry 6 but the entries end at 5" in found["message"]


def test_head_hash_rewritten(app, client, token) -> None:
    capture_events(client, token)
    raw(app, "UPDATE ledger_head SET chain_hash = :c", c="a" * 64)
    found = finding(client, token)
    assert (found["seq"], found["kind"]) == (5, "altered")
    assert found["message"] == "the ledger head does not match the last entry"


def test_swapped_entries(app, client, token) -> None:
    ids = capture_events(client, token)
    raw(app, "UPDATE event SET seq = -1 WHERE seq = 2")
    raw(app, "UPDATE event SET seq = 2 WHERE seq = 3")
    raw(app, "UPDATE event SET seq = 3 WHERE seq = -1")
    found = finding(client, token)
    assert (found["seq"], found["kind"], found["event_id"]) == (2, "reordered", ids[2])
    assert "entries 2 and 3 were swapped: entry 2 follows from entry 3" in found["message"]


def test_inserted_entry(app, client, token) -> None:
    capture_events(client, token)
    for seq in (5, 4, 3):
        raw(app, "UPDATE event SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    _forge(app, 3)
    raw(app, "UPDATE ledger_head SET seq = 6")
    found = finding(client, token)
    assert (found["seq"], found["kind"], found["event_id"]) == (3, "inserted", "urn:uuid:forged")
    assert (
        "entry 3 (event urn:uuid:forged) was inserted: the chain skips it and continues from "
        "the entry before it"
    ) in found["message"]


def test_altered_content(app, client, token) -> None:
    ids = capture_events(client, token)
    raw(app, "UPDATE event SET document = :d WHERE seq = 4", d=json.dumps({"type": "ObjectEvent"}))
    found = finding(client, token)
    assert (found["seq"], found["kind"], found["event_id"]) == (4, "altered", ids[3])
    assert (
        f"entry 4 (event {ids[3]}) was changed after it was recorded: its content no longer "
        "matches its hash ID"
    ) in found["message"]


def test_deleted_and_renumbered(app, client, token) -> None:
    """Entry 2 removed and the later ones renumbered, head included: entry 2 (once 3) still
    hashes right, and entry 3 follows from it, but it does not follow from entry 1."""
    ids = capture_events(client, token)
    raw(app, "DELETE FROM event_epc WHERE event_pk = (SELECT id FROM event WHERE seq = 2)")
    raw(app, "DELETE FROM event WHERE seq = 2")
    for seq in (3, 4, 5):
        raw(app, "UPDATE event SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    raw(app, "UPDATE ledger_head SET seq = 4")
    found = finding(client, token)
    assert (found["seq"], found["kind"], found["event_id"]) == (2, "altered", ids[2])
    assert (
        f"entry 2 (event {ids[2]}) does not follow from entry 1: it was rewritten together with "
        "its hash ID, or entries before it were deleted and the rest renumbered"
    ) in found["message"]


def test_last_chain_hash_out_of_place(app, client, token) -> None:
    """The last entry's chain hash no longer follows from the entry before it, its content
    intact and nothing after it: today's verdict names it out of place (kind reordered)."""
    ids = capture_events(client, token)
    raw(app, "UPDATE event SET chain_hash = (SELECT chain_hash FROM event WHERE seq = 3) "
        "WHERE seq = 5")  # fmt: skip
    found = finding(client, token)
    assert (found["seq"], found["kind"], found["event_id"]) == (5, "reordered", ids[4])
    assert (
        f"entry 5 (event {ids[4]}) is out of place: its chain hash does not follow from entry 4"
    ) in found["message"]


@pytest.mark.parametrize(
    "declaration",
    [
        {"reason": "incorrect_data", "declarationTime": "2026-06-13T08:00:00+07:00"},
        {"declarationTime": "2026-06-13T08:00:00+07:00", "reason": "incorrect_data"},
        {"reason": "https://id.trace.vn/voc/ER-nhập-sai", "ghiChú": "Cân sai: 1 850 kg"},
    ],
)
def test_entry_digest_of_a_declaration_is_canonical_json(declaration: dict) -> None:
    """Sorted keys, no spaces, UTF-8 as is: the same declaration whatever its key order (as a
    database may hand it back) and readable by anyone with hashlib."""
    hash_id = "ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0"
    canonical = json.dumps(declaration, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hash_id + "#" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert ledger.entry_digest(hash_id, {"errorDeclaration": declaration}) == expected
    reversed_keys = dict(reversed(list(declaration.items())))
    assert ledger.entry_digest(hash_id, {"errorDeclaration": reversed_keys}) == expected
    assert ledger.entry_digest(hash_id, {"type": "ObjectEvent"}) == hash_id


def test_event_with_namespaces_verifies_and_its_edit_is_caught(app, client, token) -> None:
    """The CBV hash of an event with extension fields depends on its namespaces: the ledger
    recomputes it with the namespaces stored beside the event."""
    event = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:ns-1",
        "eventTime": "2026-06-12T06:30:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "epcList": ["https://id.gs1.org/01/08934567890120/21/NS1"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "vn:doAm": "82%",
    }
    body = epcis_document([event], namespaces={"vn": "https://id.trace.vn/ext/"})
    response = client.post("/api/v1/capture", json=body, headers=token("admin"))
    assert response.status_code == 201, response.json
    assert verify(client, token)["ok"] is True
    raw(app, "UPDATE event SET namespaces = :n", n=json.dumps({"vn": "https://example.com/x/"}))
    found = finding(client, token)
    assert (found["seq"], found["kind"], found["event_id"]) == (1, "altered", "urn:uuid:ns-1")


def test_replay_is_the_chain_rule() -> None:
    digests = ["ni:///sha-256;" + "0" * 63 + str(n) + "?ver=CBV2.0" for n in range(3)]
    expected = "0" * 64
    for digest in digests:
        expected = hashlib.sha256((expected + digest).encode()).hexdigest()
    assert ledger.replay(ledger.GENESIS, digests) == expected
    assert ledger.replay(expected, []) == expected


def test_audit_checks_each_entry_against_its_predecessor(app, client, build, token) -> None:
    """The batch audit checks entries one by one: a rewritten chain hash breaks its own link and
    the next one's; an entry whose predecessor is gone has no predecessor to link to."""
    org = build.organization()
    batch = build.batch(build.product(org))
    producer = token("producer", org)
    for day in range(1, 6):
        form = {"stage": "inspecting", "time": f"2026-06-0{day}T08:00:00"}
        response = client.post(f"/api/v1/batches/{batch.id}/events", headers=producer, json=form)
        assert response.status_code == 201, response.json

    def ledger_of_events() -> dict[int, dict]:
        audit = client.get(f"/api/v1/batches/{batch.id}/audit", headers=token("inspector")).json
        return {e["seq"]: e["ledger"] for e in audit["events"]}

    intact = ledger_of_events()
    assert intact == {
        seq: {
            "ok": True,
            "hash_ok": True,
            "link_ok": True,
            "predecessor_seq": seq - 1,
            "mismatches": [],
        }
        for seq in range(1, 6)
    }
    raw(app, "UPDATE event SET chain_hash = :c WHERE seq = 3", c="b" * 64)
    raw(app, "DELETE FROM event_epc WHERE event_pk = (SELECT id FROM event WHERE seq = 1)")
    raw(app, "DELETE FROM event WHERE seq = 1")
    checked = ledger_of_events()
    broken = {"ok": False, "hash_ok": True, "link_ok": False, "mismatches": []}
    assert checked == {
        2: broken | {"predecessor_seq": None},
        3: broken | {"predecessor_seq": 2},
        4: broken | {"predecessor_seq": 3},
        5: {"ok": True, "hash_ok": True, "link_ok": True, "predecessor_seq": 4, "mismatches": []},
    }


def test_chunks_cover_every_value_once() -> None:
    values = list(range(1, 1202))
    chunks = list(ledger._chunked(values))
    assert [len(c) for c in chunks] == [500, 500, 201]
    assert [v for c in chunks for v in c] == values
