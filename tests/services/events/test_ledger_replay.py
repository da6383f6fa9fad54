"""The ledger chain replayed from the stored rows with nothing but ``hashlib`` and ``json``, as an
outside auditor would, including error declarations (which the CBV event hash leaves out, so
only the ledger's entry digest protects them).

The rule, from the README: ``chain_hash[n] = SHA-256(chain_hash[n-1] ‖ digest[n])`` over hex
strings, ``chain_hash[0]`` = 64 zeros; ``digest`` is the event hash ID, followed for an error
declaration by ``#`` and the SHA-256 of the declaration as canonical JSON (sorted keys, no
spaces, UTF-8).
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import text

from tests.api.inspection_support import raw
from tests.database import connection as shared_connection
from trace.epcis.export import epcis_document

GTIN = "08934567890120"
LOT = f"https://trace.example.vn/01/{GTIN}/10/LN-REPLAY"


def auditor_digest(hash_id: str, document: dict[str, Any]) -> str:
    declaration = document.get("errorDeclaration")
    if declaration is None:
        return hash_id
    canonical = json.dumps(declaration, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{hash_id}#{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def stored_rows(app) -> list[tuple[int, str, dict[str, Any], str]]:
    with shared_connection(app) as conn:
        rows = conn.execute(
            text("SELECT seq, hash_id, document, chain_hash FROM event ORDER BY seq")
        ).all()
    return [
        (seq, hash_id, json.loads(doc) if isinstance(doc, str) else doc, chain)
        for seq, hash_id, doc, chain in rows
    ]


def head(app) -> tuple[int, str]:
    with shared_connection(app) as conn:
        seq, chain = conn.execute(text("SELECT seq, chain_hash FROM ledger_head")).one()
    return seq, chain


def original() -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:replay-orig",
        "eventTime": "2026-06-12T06:30:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "quantityList": [{"epcClass": LOT, "quantity": 100, "uom": "KGM"}],
    }


def declaration(reason: str = "incorrect_data") -> dict[str, Any]:
    return copy.deepcopy(original()) | {
        "errorDeclaration": {
            "declarationTime": "2026-06-13T08:00:00+07:00",
            "reason": reason,
            "correctiveEventIDs": ["urn:uuid:replay-fix"],
        }
    }


def fix() -> dict[str, Any]:
    return copy.deepcopy(original()) | {
        "eventID": "urn:uuid:replay-fix",
        "eventTime": "2026-06-12T07:30:00+07:00",
    }


def capture_with_declaration(client: FlaskClient, build, token) -> None:
    org = build.organization()
    build.batch(build.product(org, gtin=GTIN[1:]), lot_code="LN-REPLAY")
    admin = token("admin")
    first = client.post("/api/v1/capture", json=epcis_document([original()]), headers=admin)
    assert first.status_code == 201, first.json
    second = client.post(
        "/api/v1/capture", json=epcis_document([declaration(), fix()]), headers=admin
    )
    assert second.status_code == 201, second.json


def test_chain_replays_with_plain_hashlib_including_declarations(
    app, client: FlaskClient, build, token
) -> None:
    capture_with_declaration(client, build, token)
    rows = stored_rows(app)
    assert [seq for seq, *_ in rows] == [1, 2, 3]
    _, orig_hash, _, _ = rows[0]
    _, decl_hash, decl_doc, _ = rows[1]
    # The CBV hash leaves the declaration out: without the digest's suffix, entries 1 and 2
    # would chain the very same string.
    assert decl_hash == orig_hash and "errorDeclaration" in decl_doc
    chain = "0" * 64
    for seq, hash_id, document, stored_chain in rows:
        chain = hashlib.sha256((chain + auditor_digest(hash_id, document)).encode()).hexdigest()
        assert stored_chain == chain, f"entry {seq} does not replay"
    assert head(app) == (3, chain)
    # The published proof carries the same digests an auditor computes.
    proof = client.get("/ledger/proof?from=0").json
    assert [e["digest"] for e in proof["entries"]] == [auditor_digest(h, d) for _, h, d, _ in rows]
    assert proof["checkpoint"]["chain_hash"] == chain


def test_rewritten_declaration_is_caught(app, client: FlaskClient, build, token) -> None:
    """Rewriting the declaration leaves the CBV hash unchanged; only the chain sees it."""
    capture_with_declaration(client, build, token)
    inspector = token("inspector")
    assert client.get("/api/v1/ledger/verify", headers=inspector).json["ok"] is True
    forged = declaration(reason="did_not_occur")
    raw(app, "UPDATE event SET document = :doc WHERE seq = 2", doc=json.dumps(forged))
    result = client.get("/api/v1/ledger/verify", headers=inspector).json
    assert result["ok"] is False
    assert (result["finding"]["seq"], result["finding"]["kind"]) == (2, "altered")
    cli = app.test_cli_runner().invoke(args=["verify"])
    assert cli.exit_code == 1 and "entry 2 (altered)" in cli.output


def test_declaration_alone_differs_from_its_event_in_the_chain(
    app, client: FlaskClient, build, token
) -> None:
    """A declaration recorded before its event: the two entries still chain different digests,
    and the same declaration sent again is a no-op that leaves the ledger as it was."""
    org = build.organization()
    build.batch(build.product(org, gtin=GTIN[1:]), lot_code="LN-REPLAY")
    admin = token("admin")
    for body in ([declaration()], [original()], [declaration()]):
        response = client.post("/api/v1/capture", json=epcis_document(body), headers=admin)
        assert response.status_code in (200, 201), response.json
    rows = stored_rows(app)
    assert len(rows) == 2
    digests = [auditor_digest(h, d) for _, h, d, _ in rows]
    assert digests[0] != digests[1] and digests[0].startswith(digests[1] + "#")
    chain = "0" * 64
    for digest in digests:
        chain = hashlib.sha256((chain + digest).encode()).hexdigest()
    assert rows[-1][3] == chain and head(app) == (2, chain)
