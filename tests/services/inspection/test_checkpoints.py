"""Signed checkpoints, proofs of extension, and the four direct edits of the database, caught
through the API and the CLI, with and without a checkpoint taken before them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, text

from tests.api.inspection_support import raw
from tests.database import connection as shared_connection
from trace.epcis.export import epcis_document
from trace.models import Event, LedgerCheckpoint
from trace.services.events import ledger

GTIN = "08934567890120"


def capture(client, token, start: int, n: int) -> None:
    events = [
        {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:cp-{i}",
            "eventTime": f"2026-06-{10 + i % 15:02d}T06:30:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "epcList": [f"https://id.gs1.org/01/{GTIN}/21/CP{i}"],
            "action": "OBSERVE",
            "bizStep": "inspecting",
        }
        for i in range(start, start + n)
    ]
    body = epcis_document(events)
    response = client.post("/api/v1/capture", json=body, headers=token("admin"))
    assert response.status_code == 201, response.json


def checkpoint(client) -> dict:
    response = client.get("/ledger/checkpoint")
    assert response.status_code == 200, response.json
    return response.json


def signature_ok(cp: dict) -> bool:
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(cp["public_key"]))
    fields = (cp["seq"], cp["chain_hash"], cp["at"], cp["key_id"])
    signed = "trace-ledger-checkpoint/v1\n" + "".join(f"{f}\n" for f in fields)
    assert signed == cp["signed_message"]
    try:
        key.verify(base64.b64decode(cp["signature"]), signed.encode())
    except Exception:
        return False
    return True


def replay(old: dict, proof: dict) -> str:
    """What an outside holder of ``old`` computes from the proof, with nothing but hashlib."""
    chain = old["chain_hash"]
    for entry in proof["entries"]:
        chain = hashlib.sha256((chain + entry["digest"]).encode()).hexdigest()
    return chain


def test_public_checkpoint_is_signed_and_key_kept_private(app, client, token) -> None:
    empty = checkpoint(client)
    assert empty["seq"] == 0 and empty["chain_hash"] == "0" * 64 and signature_ok(empty)
    capture(client, token, 0, 3)
    cp = checkpoint(client)
    assert cp["seq"] == 3 and cp["algorithm"] == "Ed25519" and signature_ok(cp)
    assert cp == checkpoint(client)  # the same head gives the same checkpoint
    key_file = Path(app.instance_path) / "ledger_signing_key.pem"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    public = base64.b64decode(cp["public_key"])
    assert cp["key_id"] == hashlib.sha256(public).hexdigest()[:16]
    forged = {**cp, "chain_hash": "a" * 64}
    forged["signed_message"] = forged["signed_message"].replace(cp["chain_hash"], "a" * 64)
    assert not signature_ok(forged)


def test_proof_extends_an_earlier_checkpoint(app, client, token) -> None:
    capture(client, token, 0, 4)
    old = checkpoint(client)
    capture(client, token, 4, 5)
    proof = client.get(f"/ledger/proof?from={old['seq']}").json
    assert [e["seq"] for e in proof["entries"]] == [5, 6, 7, 8, 9]
    new = proof["checkpoint"]
    assert new["seq"] == 9 and signature_ok(new)
    assert replay(old, proof) == new["chain_hash"]
    nothing_new = client.get("/ledger/proof?from=9").json
    assert nothing_new["entries"] == [] and replay(new, nothing_new) == new["chain_hash"]
    assert client.get("/ledger/proof?from=10").status_code == 422
    assert client.get("/ledger/proof").status_code == 422
    assert client.get("/ledger/proof?from=x").status_code == 422


def test_ledger_routes_answer_any_origin_uncached_unescaped(client, token) -> None:
    capture(client, token, 0, 1)
    for path in ("/ledger/checkpoint", "/ledger/proof?from=0"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "application/json", path
        assert response.headers["Cache-Control"] == "no-cache", path
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
    proof = client.get("/ledger/proof?from=0")
    assert "\\u" not in proof.get_data(as_text=True)  # JSON text as is (ensure_ascii off)
    problem = client.get("/ledger/proof?from=x")
    assert problem.status_code == 422 and problem.mimetype == "application/problem+json"
    assert problem.json["errors"][0]["pointer"] == "/from"


def test_proof_fails_against_a_rewritten_history(app, client, token) -> None:
    capture(client, token, 0, 4)
    old = checkpoint(client)
    capture(client, token, 4, 3)
    doc = {"type": "ObjectEvent", "eventID": "urn:uuid:cp-5", "action": "OBSERVE",
           "eventTime": "2026-06-30T06:30:00+07:00", "eventTimeZoneOffset": "+07:00",
           "epcList": [f"https://id.gs1.org/01/{GTIN}/21/CP5"],
           "bizStep": "inspecting"}  # fmt: skip
    raw(app, "UPDATE event SET document = :doc WHERE seq = 6", doc=json.dumps(doc))
    proof = client.get(f"/ledger/proof?from={old['seq']}").json
    assert replay(old, proof) != proof["checkpoint"]["chain_hash"]


def _rechain(app) -> None:
    """A careful forger: rewrite entry 2 and recompute every hash after it."""
    from trace.epcis.hashing import event_hash_id

    with shared_connection(app) as conn:
        rows = conn.execute(
            text("SELECT id, seq, document, namespaces FROM event ORDER BY seq")
        ).all()
        previous = ledger.GENESIS
        for row_id, seq, document, namespaces in rows:
            document = json.loads(document) if isinstance(document, str) else document
            namespaces = json.loads(namespaces) if isinstance(namespaces, str) else namespaces
            if seq == 2:
                document["bizStep"] = "shipping"
            hash_id = event_hash_id(document, [namespaces] if namespaces else None)
            previous = ledger.next_chain_hash(previous, ledger.entry_digest(hash_id, document))
            conn.execute(
                text("UPDATE event SET document = :d, hash_id = :h, chain_hash = :c, "
                     "biz_step = :b WHERE id = :i"),
                {"d": json.dumps(document), "h": hash_id, "c": previous,
                 "b": document["bizStep"], "i": row_id},
            )  # fmt: skip
        conn.execute(text("UPDATE ledger_head SET chain_hash = :c"), {"c": previous})


def _swap(app, first: int, second: int) -> None:
    raw(app, "UPDATE event SET seq = -1 WHERE seq = :a", a=first)
    raw(app, "UPDATE event SET seq = :a WHERE seq = :b", a=first, b=second)
    raw(app, "UPDATE event SET seq = :b WHERE seq = -1", b=second)


def _forge(app, seq: int) -> None:
    for old in (6, 5, 4, 3):
        if old >= seq:
            raw(app, "UPDATE event SET seq = :new WHERE seq = :old", new=old + 1, old=old)
    raw(
        app,
        "INSERT INTO event (id, event_id, hash_id, event_type, action, event_time, "
        "event_time_zone_offset, record_time, biz_step, document, namespaces, declares_error, "
        "seq, chain_hash) SELECT id + 1000, 'urn:uuid:forged', hash_id || 'x', event_type, action, "
        "event_time, event_time_zone_offset, record_time, biz_step, document, namespaces, "
        "declares_error, :seq, :chain FROM event WHERE seq = 1",
        seq=seq,
        chain="f" * 64,
    )
    raw(app, "UPDATE ledger_head SET seq = seq + 1")


def _delete(app, seq: int) -> None:
    raw(app, "DELETE FROM event_epc WHERE event_pk = (SELECT id FROM event WHERE seq = :s)", s=seq)
    raw(app, "DELETE FROM event WHERE seq = :s", s=seq)


EDITS = {
    "altered": lambda app: raw(app, "UPDATE event SET document = :d WHERE seq = 3", d=json.dumps(
        {"type": "ObjectEvent", "eventID": "urn:uuid:cp-2", "action": "OBSERVE",
         "eventTime": "2026-06-12T07:30:00+07:00", "eventTimeZoneOffset": "+07:00",
         "epcList": [f"https://id.gs1.org/01/{GTIN}/21/CP2"], "bizStep": "inspecting"})),
    "deleted": lambda app: _delete(app, 3),
    "inserted": lambda app: _forge(app, 3),
    "reordered": lambda app: _swap(app, 3, 4),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(EDITS))
def test_each_direct_edit_is_named_by_api_and_cli(app, client, token, tmp_path, kind) -> None:
    capture(client, token, 0, 4)
    held = tmp_path / "checkpoint.json"
    held.write_text(json.dumps(checkpoint(client)))
    capture(client, token, 4, 2)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["ledger", "verify", "--checkpoint", str(held)])
    assert ok.exit_code == 0, ok.output
    assert "extends checkpoint 4 unchanged" in ok.output

    EDITS[kind](app)
    finding = client.get("/api/v1/ledger/verify", headers=token("inspector")).json["finding"]
    assert (finding["seq"], finding["kind"]) == (3, kind)
    plain = runner.invoke(args=["ledger", "verify"])
    assert plain.exit_code == 1 and f"entry 3 ({kind})" in plain.output
    against = runner.invoke(args=["ledger", "verify", "--checkpoint", str(held)])
    assert against.exit_code == 1
    assert f"entry 3 ({kind}), before checkpoint 4" in against.output


def test_consistent_rewrite_before_a_checkpoint_is_caught(app, client, token, tmp_path) -> None:
    capture(client, token, 0, 4)
    runner = app.test_cli_runner()
    early = runner.invoke(args=["ledger", "checkpoint", "--output", str(tmp_path / "cp1.json")])
    assert early.exit_code == 0, early.output
    capture(client, token, 4, 2)
    _rechain(app)
    # The chain is consistent again: only a checkpoint taken before tells.
    assert client.get("/api/v1/ledger/verify", headers=token("inspector")).json["ok"] is True
    result = runner.invoke(args=["ledger", "verify", "--checkpoint", str(tmp_path / "cp1.json")])
    assert result.exit_code == 1
    assert "entry 4 (rewritten)" in result.output and "between entries 1 and 4" in result.output


def test_cli_checkpoint_keeps_it_and_later_history_extends_it(app, client, token, tmp_path):
    capture(client, token, 0, 2)
    runner = app.test_cli_runner()
    out = tmp_path / "cp.json"
    made = runner.invoke(args=["ledger", "checkpoint", "--output", str(out)])
    assert made.exit_code == 0, made.output
    cp = json.loads(out.read_text())
    assert cp["seq"] == 2 and signature_ok(cp)
    with shared_connection(app) as conn:
        kept = conn.execute(select(LedgerCheckpoint.seq, LedgerCheckpoint.chain_hash)).all()
    assert kept == [(2, cp["chain_hash"])]
    capture(client, token, 2, 3)
    later = runner.invoke(args=["ledger", "verify", "--checkpoint", str(out)])
    assert later.exit_code == 0 and "Ledger intact: 5 entries" in later.output
    tampered = tmp_path / "bad.json"
    tampered.write_text(json.dumps({**cp, "seq": 1}))
    bad = runner.invoke(args=["ledger", "verify", "--checkpoint", str(tampered)])
    assert bad.exit_code == 1 and "signature" in bad.output
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    assert runner.invoke(args=["ledger", "verify", "--checkpoint", str(not_json)]).exit_code == 1
    assert runner.invoke(args=["verify"]).exit_code == 0  # the old command still works


def test_truncated_history_fails_the_checkpoint(app, client, token, tmp_path) -> None:
    capture(client, token, 0, 4)
    held = tmp_path / "cp.json"
    held.write_text(json.dumps(checkpoint(client)))
    _delete(app, 4)
    raw(app, "UPDATE ledger_head SET seq = 3, chain_hash = (SELECT chain_hash FROM event "
        "WHERE seq = 3)")  # fmt: skip
    result = app.test_cli_runner().invoke(args=["ledger", "verify", "--checkpoint", str(held)])
    assert result.exit_code == 1 and "entry 4 (deleted)" in result.output


def test_keygen_writes_a_private_key(app, tmp_path) -> None:
    path = tmp_path / "key.pem"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ledger", "keygen", str(path)]).exit_code == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert runner.invoke(args=["ledger", "keygen", str(path)]).exit_code == 1


def test_events_are_in_the_ledger(session, client, token) -> None:
    capture(client, token, 0, 2)
    assert session.scalars(select(Event.seq).order_by(Event.seq)).all() == [1, 2]
