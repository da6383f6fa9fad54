"""Batch audits (JSON and the printable report) and the audit log."""

from __future__ import annotations

import datetime as dt
import re
from xml.etree import ElementTree

from tests.api.inspection_support import build_chain, raw


def test_batch_audit_names_who_when_and_checks_the_ledger(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    a = chain["a"]
    response = client.get(f"/api/v1/batches/{a.id}/audit", headers=token("inspector"))
    assert response.status_code == 200, response.json
    audit = response.json
    assert audit["lot_code"] == "LN2606-A01" and audit["ledger_ok"] is True
    steps = [e["stage"]["en"] for e in audit["events"]]
    assert steps == ["Harvesting", "Cooling", "Packing", "Shipping", "Receiving", "Processing"]
    first = audit["events"][0]
    assert first["recorded_by"]["organization"]["name"] == "HTX Vải thiều Phượng Sơn"
    assert len(first["recorded_by"]["token"]["prefix"]) >= 4
    assert first["recorded_by"]["token"]["role"] == "producer"
    assert audit["events"][4]["recorded_by"]["organization"]["name"] == "Công ty Nông sản Long Biên"
    assert first["ledger"] == {"ok": True, "hash_ok": True, "link_ok": True,
                               "predecessor_seq": first["seq"] - 1, "mismatches": []}  # fmt: skip
    # The chain's events happened in June 2026 and are recorded only now: all late.
    assert all(e["late"] is True and e["delay_hours"] > 72 for e in audit["events"])


def test_late_entries_are_flagged(app, client, build, token) -> None:
    org = build.organization()
    batch = build.batch(build.product(org))
    producer = token("producer", org)
    just_now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for when in ("2020-01-01T08:00:00", just_now):
        response = client.post(f"/api/v1/batches/{batch.id}/events", headers=producer,
                               json={"stage": "inspecting", "time": when})  # fmt: skip
        assert response.status_code == 201
    events = client.get(f"/api/v1/batches/{batch.id}/audit", headers=token("admin")).json["events"]
    assert [e["late"] for e in events] == [True, False]
    assert events[0]["delay_hours"] > 72


def test_corrections_and_tampering_show_in_the_audit(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    a = chain["a"]
    history = client.get(f"/api/v1/batches/{a.id}/events", headers=chain["grower"]).json
    cooled = history["events"][1]
    exported = client.get(f"/api/v1/batches/{a.id}/epcis", headers=chain["grower"]).json
    # An errorDeclaration repeats the event it declares, with errorDeclaration added.
    repeated = next(e for e in exported["epcisBody"]["eventList"]
                    if e["eventID"] == cooled["eventID"])  # fmt: skip
    declaration = exported | {"epcisBody": {"eventList": [repeated | {
        "errorDeclaration": {"declarationTime": "2026-06-10T00:00:00Z",
                             "reason": "incorrect_data"}}]}}  # fmt: skip
    captured = client.post("/api/v1/capture", json=declaration, headers=chain["grower"])
    assert captured.status_code == 201, captured.json
    audit = client.get(f"/api/v1/batches/{a.id}/audit", headers=token("inspector")).json
    corrected = next(e for e in audit["events"] if e["eventID"] == cooled["eventID"]
                     and not e["declaresError"])  # fmt: skip
    assert corrected["corrected"] is True
    assert corrected["corrections"][0]["reason"] == "incorrect_data"
    assert any(e["declaresError"] for e in audit["events"])

    raw(app, "UPDATE event SET document = :doc WHERE seq = :seq",
        doc='{"type": "ObjectEvent", "eventTime": "2026-06-08T09:00:00+07:00"}',
        seq=cooled["seq"])  # fmt: skip
    audit = client.get(f"/api/v1/batches/{a.id}/audit", headers=token("inspector")).json
    assert audit["ledger_ok"] is False
    broken = {e["seq"]: e["ledger"] for e in audit["events"] if not e["ledger"]["ok"]}
    # The content no longer hashes to its ID; the chain itself (over hash IDs) still links.
    assert broken == {cooled["seq"]: {"ok": False, "hash_ok": False, "link_ok": True,
                                      "predecessor_seq": cooled["seq"] - 1,
                                      "mismatches": []}}  # fmt: skip


def test_printable_audit_report_has_an_svg_genealogy(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    b = chain["b"]
    response = client.get(f"/api/v1/batches/{b.id}/audit?format=html", headers=token("inspector"))
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in re.sub(r"<div class=\"mono\">[^<]*</div>", "", page)
    svg = re.search(r"<svg .*?</svg>", page, re.S)
    assert svg is not None
    tree = ElementTree.fromstring(svg.group(0))
    labels = [t.text for t in tree.iter("{http://www.w3.org/2000/svg}text")]
    for lot in ("LN2606-A01", "VS-2606-01", "HQ-2606-01"):
        assert lot in labels
    assert len(list(tree.iter("{http://www.w3.org/2000/svg}line"))) == 2
    browser_headers = {**token("inspector"), "Accept": "text/html,*/*;q=0.8"}
    browser = client.get(f"/api/v1/batches/{b.id}/audit", headers=browser_headers)
    assert browser.mimetype == "text/html"


def test_audit_report_escapes_what_it_shows(app, client, build, token) -> None:
    org = build.organization(name="<script>alert(1)</script> HTX")
    batch = build.batch(build.product(org, name_vi="Vải <b>ngon</b>"))
    page = client.get(f"/api/v1/batches/{batch.id}/audit?format=html",
                      headers=token("admin")).get_data(as_text=True)  # fmt: skip
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>ngon</b>" not in page


def test_who_may_audit_a_batch(app, client, build, token) -> None:
    org = build.organization(province_code="24")
    batch = build.batch(build.product(org))
    url = f"/api/v1/batches/{batch.id}/audit"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=token("inspector")).status_code == 200
    assert client.get(url, headers=token("producer", org)).status_code == 200
    assert client.get(url, headers=token("centre", province="24")).status_code == 200
    assert client.get(url, headers=token("centre", province="01")).status_code == 403
    assert client.get(url, headers=token("producer", build.organization())).status_code == 403
    assert client.get("/api/v1/batches/99999/audit", headers=token("admin")).status_code == 404


def test_audit_log_filters_and_pages(app, client, build, token) -> None:
    admin = token("admin")
    org = client.post("/api/v1/organizations", headers=admin, json={
        "kind": "cooperative", "name": "HTX Thử", "tax_code": "2400999999",
        "province_code": "24", "address": "Bắc Ninh"}).json  # fmt: skip
    producer = token("producer", org["id"])
    facility = client.post("/api/v1/facilities", headers=producer, json={
        "organization_id": org["id"], "kind": "farm", "name": "Trại", "address": "x",
        "province_code": "24"})  # fmt: skip
    assert facility.status_code == 201
    inspector = token("inspector")
    everything = client.get("/api/v1/audit-log?limit=500", headers=inspector).json["items"]
    assert any(e["entity_type"] == "organization" and e["action"] == "create" for e in everything)
    mine = client.get(f"/api/v1/audit-log?organization={org['id']}", headers=inspector).json
    assert [e["entity_type"] for e in mine["items"]] == ["facility"]
    kinds = client.get("/api/v1/audit-log?entity_type=organization&action=create",
                       headers=inspector).json["items"]  # fmt: skip
    assert kinds and all(e["entity_type"] == "organization" for e in kinds)
    future = client.get("/api/v1/audit-log?from=2999-01-01T00:00:00Z", headers=inspector).json
    assert future["items"] == []
    page1 = client.get("/api/v1/audit-log?limit=1", headers=inspector).json
    page2 = client.get(f"/api/v1/audit-log?limit=1&cursor={page1['next_cursor']}",
                       headers=inspector).json  # fmt: skip
    assert page1["items"][0]["id"] < page2["items"][0]["id"]
    # A producer sees its own organisation's writes only.
    own = client.get("/api/v1/audit-log?limit=500", headers=producer).json["items"]
    assert own and all(e["actor_organization_id"] == org["id"] for e in own)
    assert client.get("/api/v1/audit-log?colour=red", headers=inspector).status_code == 422
