"""EPCIS conformance and speed over the whole shared/conformance set (not part of pytest).

Run from the checkout: ``.venv/bin/python tests/bench/epcis_conformance.py [SHARED_DIR]``.
Prints counts: event hash vectors matched, equivalence groups, valid documents accepted,
invalid documents rejected, and hashing / validation speed.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from trace.epcis.hashing import (
    event_hash_id,
    hash_id_of_pre_hash,
    pre_hash_string,
    xml_pre_hash_strings,
)
from trace.epcis.validation import parse_document, validate_document


def _lines(path: Path) -> list[str]:
    return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _pre_hashes(base: Path) -> list[str]:
    if base.with_suffix(".jsonld").exists():
        doc = json.loads(base.with_suffix(".jsonld").read_text(encoding="utf-8"))
        events = parse_document(doc)
        return [
            pre_hash_string(e, events.context, ignore_fields=events.ignore_fields) for e in events
        ]
    return xml_pre_hash_strings(base.with_suffix(".xml").read_bytes())


def hash_vectors(root: Path) -> None:
    examples = root / "event-hash" / "examples"
    ok = total = pre_ok = pre_total = garbled = 0
    for hashes in sorted(examples.glob("*.hashes")):
        base = hashes.with_suffix("")
        expected = _lines(hashes)
        pre = _pre_hashes(base)
        got = [hash_id_of_pre_hash(p) for p in pre]
        for i, want in enumerate(expected):
            total += 1
            if i < len(got) and got[i] == want:
                ok += 1
            else:
                print(f"  hash mismatch: {base.name} event {i}")
        pre_file = base.with_suffix(".prehashes")
        if pre_file.exists():
            lines = [x for x in pre_file.read_text(encoding="utf-8").split("\n") if x.strip()]
            for i, line in enumerate(lines):
                if i < len(expected) and hash_id_of_pre_hash(line) != expected[i]:
                    garbled += 1
                    continue
                pre_total += 1
                if i < len(pre) and pre[i] == line:
                    pre_ok += 1
                else:
                    print(f"  pre-hash mismatch: {base.name} event {i}")
    print(f"event hash IDs: {ok}/{total} match")
    print(
        f"pre-hash strings: {pre_ok}/{pre_total} match ({garbled} garbled upstream lines skipped)"
    )
    groups = ok_groups = 0
    for path in sorted((root / "event-hash" / "expected_equal").iterdir()):
        groups += 1
        if path.suffix == ".json":
            events = parse_document(json.loads(path.read_text(encoding="utf-8")))
            ids = {event_hash_id(e, events.context) for e in events}
        else:
            ids = {hash_id_of_pre_hash(p) for p in xml_pre_hash_strings(path.read_bytes())}
        if len(ids) == 1:
            ok_groups += 1
        else:
            print(f"  not equal: {path.name}")
    print(f"expected_equal groups: {ok_groups}/{groups} hash equal")


def documents(root: Path) -> None:
    epcis = root / "epcis"
    resources = epcis / "openepcis-test-resources"
    sets = [
        ("GS1 JSON (must pass)", sorted((epcis / "JSON").rglob("*.jsonld")), True),
        (
            "GS1 JSON-simple-context",
            sorted((epcis / "JSON-simple-context").rglob("*.jsonld")),
            True,
        ),
        (
            "OpenEPCIS capture documents",
            sorted(resources.rglob("Capture/Documents/*.json")),
            True,
        ),
        ("OpenEPCIS query documents", sorted(resources.rglob("JSON/Query/*.json")), True),
        ("OpenEPCIS Invalid (must fail)", sorted(resources.rglob("Invalid/*.json")), False),
    ]
    for name, files, expect_valid in sets:
        as_expected = 0
        for path in files:
            problems = validate_document(json.loads(path.read_text(encoding="utf-8")))
            if (not problems) == expect_valid:
                as_expected += 1
            else:
                verdict = "accepted" if not problems else f"{len(problems)} problem(s)"
                print(f"  {name}: {path.relative_to(epcis)}: {verdict}")
                for p in problems[:3]:
                    print(f"      {p.pointer}: {p.message[:160]}")
        word = "valid" if expect_valid else "rejected"
        print(f"{name}: {as_expected}/{len(files)} {word}")


def service_round_trip(root: Path) -> None:
    """Through the HTTP API on a scratch SQLite database: capture every GS1 example, query each
    event back by eventID, check the exported query document against the schema; post every
    invalid OpenEPCIS document and expect a 4xx that names the problem."""
    import tempfile

    from trace import create_app, migrate
    from trace.db import db
    from trace.models import Role
    from trace.services.actors import SYSTEM
    from trace.services.registry.tokens import create_token

    epcis = root / "epcis"
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/c.db", "SECRET_KEY": "conformance"})
        migrate.upgrade(db.engine_for(app))
        with app.app_context():
            _, secret = create_token(db.session, SYSTEM, role=Role.ADMIN)
            db.session.commit()
        client, headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
        files = sorted((epcis / "JSON").rglob("*.jsonld"))
        _round_trip(client, headers, files, app, fresh=True)
        # In one repository, examples that restate another example's event (same content
        # under another eventID, or an eventID reused with other content) are 409s, as the
        # identity rules require.
        _round_trip(client, headers, files, app, fresh=False)
        invalid = sorted((epcis / "openepcis-test-resources").rglob("Invalid/*.json"))
        refused = 0
        for path in invalid:
            response = client.post("/api/v1/capture", json=json.loads(path.read_text("utf-8")),
                                   headers=headers)  # fmt: skip
            body = response.get_json() or {}
            if 400 <= response.status_code < 500 and body.get("errors"):
                refused += 1
            else:
                print(f"  not refused: {path.name}: {response.status_code}")
        print(f"service: OpenEPCIS invalid documents refused with a 4xx naming the problem "
              f"{refused}/{len(invalid)}")  # fmt: skip
        db.engine_for(app).dispose()


def _empty_events(app: Any) -> None:
    from sqlalchemy import text

    from trace.db import db

    with db.engine_for(app).begin() as conn:
        for table in ("batch_link", "event_epc", "event", "ledger_head"):
            conn.execute(text(f"DELETE FROM {table}"))


def _round_trip(client: Any, headers: dict[str, str], files: list[Path], app: Any,
                fresh: bool) -> None:  # fmt: skip
    _empty_events(app)
    accepted = queried = exported = 0
    for path in files:
        if fresh:
            _empty_events(app)
        response = client.post("/api/v1/capture", json=json.loads(path.read_text("utf-8")),
                               headers=headers)  # fmt: skip
        if response.status_code not in (200, 201):
            print(f"  capture refused {path.name}: {response.status_code} "
                  f"{response.get_json().get('detail')[:160]}")  # fmt: skip
            continue
        accepted += 1
        ok = valid = True
        for item in response.get_json()["events"]:
            found = client.get("/api/v1/events", query_string={"EQ_eventID": item["eventID"]},
                               headers=headers).get_json()  # fmt: skip
            events = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            ok &= item["eventID"] in {e.get("eventID") for e in events}
            valid &= not validate_document(found)
        queried += ok
        exported += valid
    where = "each in a fresh repository" if fresh else "all in one repository"
    print(f"service ({where}): GS1 JSON examples captured {accepted}/{len(files)}, queried "
          f"back {queried}/{len(files)}, exports schema-valid {exported}/{len(files)}")  # fmt: skip


def speed(root: Path) -> None:
    doc = json.loads(
        (root / "event-hash/examples/epcisDocWithVariousEventTypes.jsonld").read_text("utf-8")
    )
    base = doc["epcisBody"]["eventList"]
    events = []
    for i in range(10_000):
        e = copy.deepcopy(base[i % len(base)])
        e["eventTime"] = (
            f"2024-01-01T{i % 24:02d}:{i % 60:02d}:{(i // 60) % 60:02d}.{i % 1000:03d}Z"
        )
        if "epcList" in e:
            e["epcList"] = [f"urn:epc:id:sgtin:8934567.012345.{i}"]
        events.append(e)
    start = time.perf_counter()
    for e in events:
        event_hash_id(e, doc["@context"])
    rate = len(events) / (time.perf_counter() - start)
    print(f"hashing: {rate:,.0f} events/s (10,000 distinct events)")
    big = dict(doc, epcisBody={"eventList": events})
    validate_document(doc)
    start = time.perf_counter()
    problems = validate_document(big)
    print(
        f"validation: 10,000-event document in {time.perf_counter() - start:.2f} s "
        f"({len(problems)} problems)"
    )


def main() -> int:
    here = Path(__file__).resolve().parents[2]
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "shared" / "conformance"
    if not root.exists():
        print(f"no conformance folder at {root}; nothing to do")
        return 0
    hash_vectors(root)
    documents(root)
    service_round_trip(root)
    speed(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
