"""Who may write into and read which history (issue 10, items 3, 4 and 9), through HTTP.

The chain (tests/api/inspection_support.py): the grower's lychee lot A is shipped to a processor
(province 01), which receives it and makes dried lychee B from it, ships B to a shop (province
79), and boxes B into C. An intruder is a producer of the grower's province (24) with its own GLN
and lot; it never held A.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.inspection_support import build_chain
from trace.db import write_intent
from trace.epcis.export import epcis_document
from trace.models import Event, Role
from trace.services.actors import Actor
from trace.services.events import capture, visibility
from trace.services.events.identifiers import resolve

LOT_A = "https://id.gs1.org/01/08934567890120/10/LN2606-A01"
INTRUDER_GLN = "8936010500013"
INTRUDER_URI = f"https://trace.example.vn/417/{INTRUDER_GLN}"
ROLES = ["admin", "centre-own", "centre-partner", "centre-foreign", "owner", "partner",
         "partner-next", "unrelated", "inspector", "anonymous"]  # fmt: skip
#: Who reads lot A: the grower owns it, the processor held it, the shop holds B (made from A:
#: one step forward of what it held), the centres of provinces 24 and 01 (their organisations).
READS_A = {"admin", "centre-own", "centre-partner", "owner", "partner", "partner-next",
           "inspector"}  # fmt: skip


@pytest.fixture(params=["set", "per-row"])
def plan(request, monkeypatch) -> str:
    """The read rule's two query plans (small actors: a join with their set of events; large
    producers: a per-row condition), each run over the same expectations."""
    monkeypatch.setattr(visibility, "SMALL_ACTOR", 10**9 if request.param == "set" else -1)
    return request.param


@pytest.fixture
def world(client, build, token) -> dict[str, Any]:
    chain = build_chain(client, build, token)
    intruder = build.organization(name="Công ty Lạ", gln=INTRUDER_GLN)
    own = build.product(intruder, gtin="8934567890137", name_vi="Vải lạ")
    chain |= {
        "intruder": intruder,
        "intruder_lot": build.batch(own, lot_code="LA-01"),
        "headers": {
            "admin": token("admin"),
            "centre-own": token("centre", province="24"),
            "centre-partner": token("centre", province="01"),
            "centre-foreign": token("centre", province="66"),
            "owner": chain["grower"],
            "partner": chain["processor"],
            "partner-next": chain["seller"],
            "unrelated": token("producer", intruder),
            "inspector": token("inspector"),
            "anonymous": {},
        },
    }
    run = client.post(f"/api/v1/batches/{chain['a'].id}/print-runs", headers=chain["grower"],
                      json={"count": 2, "template": "a4-3x8-70x37"})  # fmt: skip
    assert run.status_code == 201, run.json
    codes = client.get(run.json["links"]["codes"], headers=chain["grower"]).json["items"]
    chain["run"], chain["code"] = run.json, codes[0]
    scanned = event(LOT_A, bizStep="inspecting", eventID="urn:uuid:unit-check")
    scanned.pop("quantityList")
    scanned["epcList"] = [codes[0]["uri"]]
    assert post(client, chain["grower"], scanned).status_code == 201
    return chain


def event(lot: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-06-10T08:00:00+07:00",
        "eventTimeZoneOffset": "+07:00", "quantityList": [{"epcClass": lot}], **fields,
    }  # fmt: skip


def post(client, headers: dict[str, str], *events: dict[str, Any]):
    return client.post("/api/v1/capture", json=epcis_document(list(events)), headers=headers)


def stored_events(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Event))


def exported(client, world, batch, event_id: str) -> dict[str, Any]:
    doc = client.get(f"/api/v1/batches/{batch.id}/epcis", headers=world["headers"]["admin"]).json
    return next(e for e in doc["epcisBody"]["eventList"] if e["eventID"] == event_id)


def declaration_of(original: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """EPCIS 2.0: an errorDeclaration repeats the declared event, errorDeclaration added."""
    repeated = {k: v for k, v in copy.deepcopy(original).items() if k != "recordTime"}
    return (
        repeated
        | changes
        | {
            "errorDeclaration": {
                "declarationTime": "2026-06-20T00:00:00Z",
                "reason": "incorrect_data",
            }
        }
    )


def history_of(client, world, batch) -> dict[str, dict[str, Any]]:
    entries = client.get(f"/api/v1/batches/{batch.id}/events", headers=world["headers"]["admin"])
    return {e["eventID"]: e for e in entries.json["events"]}


def public_page(client) -> str:
    return client.get("/01/08934567890120/10/LN2606-A01?lang=en").get_data(as_text=True)


# Item 9: one read rule on every route ---------------------------------------------------------


def _events(response) -> list[dict[str, Any]]:
    return response.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


@pytest.mark.parametrize("role", ROLES)
def test_read_matrix_on_every_route(client, world, role, plan) -> None:
    headers, a = world["headers"][role], world["a"]
    run, code = world["run"], world["code"]
    allowed = role in READS_A
    expected = 401 if role == "anonymous" else 200 if allowed else 403
    for url in (f"/api/v1/batches/{a.id}/events", f"/api/v1/batches/{a.id}/epcis",
                f"/api/v1/batches/{a.id}/trace?direction=forward", f"/api/v1/batches/{a.id}/audit",
                f"/api/v1/batches/{a.id}/print-runs", f"/api/v1/print-runs/{run['id']}",
                f"/api/v1/print-runs/{run['id']}/codes", f"/api/v1/codes/{code['code']}",
                f"/api/v1/codes/{code['code']}/qr.svg"):  # fmt: skip
        response = client.get(url, headers=headers)
        assert response.status_code == expected, (role, url, response.get_json(silent=True))
        if expected == 403:
            assert f"may not read batch {a.id}" in response.json["detail"]
    queries = {"MATCH_epcClass": LOT_A, "MATCH_epc": code["uri"], "MATCH_anyEPC": LOT_A}
    export = client.get(f"/api/v1/batches/{a.id}/epcis", headers=world["headers"]["admin"]).json
    of_a = {e["eventID"] for e in export["epcisBody"]["eventList"]}
    assert len(of_a) == 7  # five stages, the processing into B, the unit code's inspection
    for name, value in queries.items():
        response = client.get("/api/v1/events", query_string={name: value}, headers=headers)
        if role == "anonymous":
            assert response.status_code == 401
            continue
        assert response.status_code == 200
        assert bool(_events(response)) is allowed, (role, name)
    if role != "anonymous":
        listed = _events(client.get("/api/v1/events?perPage=500", headers=headers))
        assert ({e["eventID"] for e in listed} >= of_a) is allowed
        assert not ({e["eventID"] for e in listed} & of_a) or allowed, role
        one = client.get("/api/v1/events", query_string={"EQ_eventID": sorted(of_a)[0]},
                         headers=headers)  # fmt: skip
        assert len(_events(one)) == (1 if allowed else 0)


def test_producer_reads_one_step_from_what_it_held(client, world, plan) -> None:
    """The grower reads B (made from its lot A) but not C (made from B): one step forward. The
    shop holds B: it reads A (one step back) and C (one step forward). The walk stays inside."""
    grower, shop = world["headers"]["owner"], world["headers"]["partner-next"]
    a, b, c = world["a"], world["b"], world["c"]
    assert client.get(f"/api/v1/batches/{b.id}/events", headers=grower).status_code == 200
    assert client.get(f"/api/v1/batches/{c.id}/events", headers=grower).status_code == 403
    for batch in (a, b, c):
        assert client.get(f"/api/v1/batches/{batch.id}/epcis", headers=shop).status_code == 200
    other = world["other"]
    assert client.get(f"/api/v1/batches/{other.id}/events", headers=shop).status_code == 403
    walk = client.get(f"/api/v1/batches/{a.id}/trace?direction=forward&depth=5", headers=grower)
    assert {n["lot_code"] for n in walk.json["nodes"]} == {"LN2606-A01", "VS-2606-01"}
    full = client.get(f"/api/v1/batches/{a.id}/trace?direction=forward&depth=5",
                      headers=world["headers"]["inspector"])  # fmt: skip
    assert {n["lot_code"] for n in full.json["nodes"]} == {"LN2606-A01", "VS-2606-01", "HQ-2606-01"}
    listed = _events(client.get("/api/v1/events?perPage=500", headers=grower))
    assert listed and all("/LN2606-A01" in json.dumps(e) or "/VS-2606-01" in json.dumps(e)
                          for e in listed)  # fmt: skip


def test_public_page_still_shows_anyone_the_journey(client, world) -> None:
    page = public_page(client)
    assert "Harvesting" in page and "Receiving" in page


# Item 3: custody --------------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["receiving", "accepting", "arriving"])
def test_foreign_receipt_naming_own_gln_is_refused(client, world, session, step) -> None:
    unrelated, before = world["headers"]["unrelated"], stored_events(session)
    receipt = event(LOT_A, bizStep=step, destinationList=[
        {"type": "owning_party", "destination": INTRUDER_URI}])  # fmt: skip
    response = post(client, unrelated, receipt)
    assert response.status_code == 403, response.json
    assert "shipment" in response.json["detail"] and str(world["a"].id) in response.json["detail"]
    form = client.post(f"/api/v1/batches/{world['a'].id}/events", headers=unrelated,
                       json={"stage": "receiving"})  # fmt: skip
    assert form.status_code == 403
    # and so nothing later rides on it
    for later in (event(LOT_A, bizStep="destroying", disposition="destroyed"),
                  event(LOT_A, bizStep="inspecting")):  # fmt: skip
        assert post(client, unrelated, later).status_code == 403
    assert stored_events(session) == before
    assert "Công ty Lạ" not in public_page(client)


def test_non_owner_naming_itself_destination_of_a_shipment_is_refused(client, world, session):
    """Issue 10 item 10's uncaught mutant: the receipt exception must not cover shipments."""
    unrelated, before = world["headers"]["unrelated"], stored_events(session)
    shipment = event(LOT_A, bizStep="shipping", destinationList=[
        {"type": "owning_party", "destination": INTRUDER_URI}])  # fmt: skip
    assert post(client, unrelated, shipment).status_code == 403
    # a shipment and a receipt in one document do not open the door either
    receipt = event(LOT_A, bizStep="receiving", eventTime="2026-06-11T08:00:00+07:00")
    assert post(client, unrelated, shipment, receipt).status_code == 403
    assert stored_events(session) == before


def test_distributor_to_retailer_hop_keeps_working(client, world) -> None:
    a, processor, shop = world["a"], world["headers"]["partner"], world["headers"]["partner-next"]
    early = client.post(f"/api/v1/batches/{a.id}/events", headers=shop, json={"stage": "receiving"})
    assert early.status_code == 403
    shipped = client.post(f"/api/v1/batches/{a.id}/events", headers=processor,
                          json={"stage": "shipping", "to_organization_id": world["shop"].id,
                                "time": "2026-06-12T08:00:00"})  # fmt: skip
    assert shipped.status_code == 201, shipped.json
    for stage in ("receiving", "retail_selling"):
        response = client.post(f"/api/v1/batches/{a.id}/events", headers=shop,
                               json={"stage": stage, "facility_id": world["store"].id})  # fmt: skip
        assert response.status_code == 201, response.json


def test_receipt_needs_a_shipment_to_that_receiver(client, world) -> None:
    other, grower = world["other"], world["headers"]["owner"]
    shipped = client.post(
        f"/api/v1/batches/{other.id}/events",
        headers=grower,
        json={"stage": "shipping", "to_organization_id": world["distributor"].id},
    )
    assert shipped.status_code == 201
    shop = client.post(
        f"/api/v1/batches/{other.id}/events",
        headers=world["headers"]["partner-next"],
        json={"stage": "receiving"},
    )
    assert shop.status_code == 403
    processor = client.post(
        f"/api/v1/batches/{other.id}/events",
        headers=world["headers"]["partner"],
        json={"stage": "receiving"},
    )
    assert processor.status_code == 201, processor.json


def test_shipment_to_a_facility_of_the_receiver_counts(client, world) -> None:
    other = world["other"]
    to_warehouse = event(
        f"https://id.gs1.org/01/08934567890120/10/{other.lot_code}", bizStep="shipping",
        destinationList=[{"type": "location",
                          "destination": f"https://trace.example.vn/facility/{world['warehouse'].id}"}],
    )  # fmt: skip
    assert post(client, world["headers"]["owner"], to_warehouse).status_code == 201
    received = client.post(
        f"/api/v1/batches/{other.id}/events",
        headers=world["headers"]["partner"],
        json={"stage": "receiving"},
    )
    assert received.status_code == 201, received.json


def test_transformation_inputs_must_be_held(client, world) -> None:
    unrelated, own = world["headers"]["unrelated"], world["intruder_lot"]
    refused = client.post(
        f"/api/v1/batches/{own.id}/events",
        headers=unrelated,
        json={"stage": "processing", "inputs": [{"batch_id": world["a"].id}]},
    )
    assert refused.status_code == 403, refused.json
    # the processor, which received A, made B from it in the chain; again, with a new output
    fresh = client.post(f"/api/v1/batches/{world['c'].id}/events",
                        headers=world["headers"]["partner"],
                        json={"stage": "processing", "inputs": [{"batch_id": world["a"].id}],
                              "time": "2026-06-21T08:00:00"})  # fmt: skip
    assert fresh.status_code == 201, fresh.json


# Item 4: error declarations -------------------------------------------------------------------


DECLARES = {"admin": 201, "centre-own": 201, "centre-partner": 403, "centre-foreign": 403,
            "owner": 201, "partner": 403, "partner-next": 403, "unrelated": 403,
            "inspector": 403, "anonymous": 401}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_who_may_declare_the_growers_event_in_error(client, world, role) -> None:
    a = world["a"]
    harvest = next(iter(history_of(client, world, a)))
    original = exported(client, world, a, harvest)
    response = post(client, world["headers"][role], declaration_of(original))
    assert response.status_code == DECLARES[role], (role, response.json)
    corrected = history_of(client, world, a)[harvest]["corrected"]
    assert corrected is (DECLARES[role] == 201)
    assert ("corrected later" in public_page(client)) is (DECLARES[role] == 201)


def test_declaration_naming_own_lot_with_a_foreign_event_id_is_refused(client, world) -> None:
    """The issue's reproducer: another organisation's eventID, the caller's own lot."""
    a, own = world["a"], world["intruder_lot"]
    harvest = next(iter(history_of(client, world, a)))
    forged = declaration_of(event("https://id.gs1.org/01/08934567890137/10/LA-01"),
                            eventID=harvest)  # fmt: skip
    response = post(client, world["headers"]["unrelated"], forged)
    assert response.status_code == 422, response.json
    assert "does not repeat" in response.json["detail"]
    assert history_of(client, world, a)[harvest]["corrected"] is False
    assert "corrected later" not in public_page(client)
    assert own.id  # the intruder's own lot is untouched by the attempt


@pytest.mark.parametrize(
    "change",
    [{"eventTime": "2026-06-08T10:00:00+07:00"}, {"bizStep": "packing"},
     {"bizLocation": {"id": "https://trace.example.vn/facility/999"}},
     {"quantityList": [{"epcClass": LOT_A, "quantity": 1, "uom": "KGM"}]}],
    ids=["when", "why", "where", "what"],
)  # fmt: skip
def test_declaration_must_repeat_the_event(client, world, change) -> None:
    a = world["a"]
    harvest = next(iter(history_of(client, world, a)))
    original = exported(client, world, a, harvest)
    response = post(client, world["headers"]["owner"], declaration_of(original, **change))
    assert response.status_code == 422, response.json
    assert history_of(client, world, a)[harvest]["corrected"] is False


def test_unknown_event_may_be_declared_by_admin_only(client, world) -> None:
    ghost = declaration_of(event(LOT_A), eventID="urn:uuid:not-here")
    assert post(client, world["headers"]["owner"], ghost).status_code == 403
    assert post(client, world["headers"]["admin"], ghost).status_code == 201


# Data stored before these rules: history ignores it, the audit lists it ------------------------


def store_as_before(app, session, org_id: int, doc: dict[str, Any]) -> None:
    """Store an event as capture did before the write rule (no custody, no declaration check),
    with its index rows and ledger entry: what an attacker left in a database."""
    actor = Actor(role=Role.PRODUCER, label="before the fix", organization_id=org_id)
    session.rollback()
    with app.test_request_context(), write_intent():
        item = capture.prepare(doc, 0, {})
        found = resolve(session, {uri for _, uri in item.epcs})
        batch_of = {uri: r.batch_id for uri, r in found.items() if r.batch_id is not None}
        capture._store(session, actor, [(item, {})], batch_of)
        session.commit()


def test_stored_foreign_events_grant_nothing_and_are_audited(app, client, world, session) -> None:
    a, intruder = world["a"], world["intruder"]
    harvest = next(iter(history_of(client, world, a)))
    original = exported(client, world, a, harvest)
    receipt = event(
        LOT_A,
        bizStep="receiving",
        eventID="urn:uuid:forged-receipt",
        destinationList=[{"type": "owning_party", "destination": INTRUDER_URI}],
    )
    riding = event(LOT_A, bizStep="destroying", eventID="urn:uuid:forged-later",
                   eventTime="2026-06-11T08:00:00+07:00")  # fmt: skip
    foreign = declaration_of(original)
    mismatch = declaration_of(original, eventTime="2026-06-01T08:00:00+07:00")
    for doc in (receipt, riding, foreign):
        store_as_before(app, session, intruder.id, doc)
    store_as_before(app, session, world["coop"].id, mismatch)

    # the stored receipt is no custody: nothing new rides on it
    later = event(LOT_A, bizStep="inspecting", eventTime="2026-06-12T08:00:00+07:00")
    assert post(client, world["headers"]["unrelated"], later).status_code == 403
    # the stored declarations do not mark the event, neither in the API nor on the public page
    assert history_of(client, world, a)[harvest]["corrected"] is False
    assert "corrected later" not in public_page(client)
    audit = client.get(f"/api/v1/batches/{a.id}/audit", headers=world["headers"]["inspector"])
    listed = next(e for e in audit.json["events"]
                  if e["eventID"] == harvest and not e["declaresError"])  # fmt: skip
    assert listed["corrected"] is False
    assert sum(e["declaresError"] for e in audit.json["events"]) == 2  # still on record
    kde = client.get("/api/v1/exports/kde.csv?lot=LN2606-A01&lang=en",
                     headers=world["headers"]["inspector"]).get_data(as_text=True)  # fmt: skip
    harvest_rows = [line for line in kde.splitlines() if harvest in line]
    assert harvest_rows and not any(line.rstrip().endswith(",yes") for line in harvest_rows)

    result = app.test_cli_runner().invoke(args=["audit", "custody", "--json"])
    assert result.exit_code == 0, result.output
    found = {(f["event_id"], f["kind"]) for f in json.loads(result.output)["findings"]}
    assert found == {
        ("urn:uuid:forged-receipt", "foreign-receipt"),
        ("urn:uuid:forged-later", "rides-on-custody"),
        (harvest, "foreign-declaration"),
        (harvest, "declaration-mismatch"),
    }
    text = app.test_cli_runner().invoke(args=["audit", "custody"]).output
    assert "4 stored event(s) the rules would refuse." in text
    assert f"organisation {intruder.id}" in text


def test_audit_of_a_clean_chain_finds_nothing(app, world) -> None:
    result = app.test_cli_runner().invoke(args=["audit", "custody", "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == {"findings": []}


@pytest.mark.parametrize("role", ["unrelated", "centre-foreign", "admin"])
def test_unknown_batch_is_404_for_everyone(client, world, role) -> None:
    for route in ("events", "epcis", "trace", "audit", "print-runs"):
        response = client.get(f"/api/v1/batches/987654/{route}", headers=world["headers"][role])
        assert response.status_code == 404, (role, route, response.json)


# A re-sent event: only those who may read it learn that it exists ---------------------------------


@pytest.mark.parametrize("role", ["owner", "partner", "admin", "centre-own", "unrelated",
                                  "centre-foreign"])  # fmt: skip
def test_a_re_sent_event_is_answered_only_to_its_readers(client, world, session, role) -> None:
    """Without the read rule, anyone who could guess an event's content learnt its eventID: as
    "existing" when re-sent without one, or named in the 409 when re-sent under another."""
    secret = "urn:uuid:5ec2e700-0000-4000-8000-00000000a001"
    original = event(LOT_A, bizStep="inspecting", eventTime="2026-06-11T09:00:00+07:00")
    assert post(client, world["grower"], original | {"eventID": secret}).status_code == 201
    before = stored_events(session)
    headers = world["headers"][role]
    without_id = post(client, headers, original)
    other_id = post(client, headers, original | {"eventID": "urn:uuid:other-0001"})
    if role in READS_A:
        assert without_id.status_code == 200 and without_id.json["events"][0]["eventID"] == secret
        assert other_id.status_code == 409 and secret in json.dumps(other_id.json)
    else:
        for response in (without_id, other_id):
            assert response.status_code == 403, response.json
            assert secret not in json.dumps(response.json)
    assert stored_events(session) == before
