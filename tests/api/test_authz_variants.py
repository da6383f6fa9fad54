"""Held-out variants of issue 10's attacks on the write and read rules (items 3, 4 and 9), on the
chain of ``tests/api/test_authz.py``: other event types, other spellings of the same lot and
receiver, a second hop, declarations sent another way, other read routes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_authz import (
    INTRUDER_URI,
    LOT_A,
    declaration_of,
    event,
    exported,
    history_of,
    post,
    public_page,
    stored_events,
    world,
)
from trace.epcis.export import epcis_document

__all__ = ["world"]  # the fixture, shared with test_authz.py

OWN_LOT = "https://id.gs1.org/01/08934567890137/10/LA-01"
#: Lot A in other spellings: the EPC URN (company prefix 893456) and another host's Digital Link.
A_SPELLINGS = [
    "urn:epc:class:lgtin:893456.0789012.LN2606-A01",
    "https://example.com/01/08934567890120/10/LN2606-A01",
    "https://id.gs1.org/01/8934567890120/10/LN2606-A01",
]


def _receipt(**fields: Any) -> dict[str, Any]:
    receipt = {
        "action": "OBSERVE",
        "eventTime": "2026-06-10T08:00:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "bizStep": "receiving",
        "destinationList": [{"type": "owning_party", "destination": INTRUDER_URI}],
        **fields,
    }
    if receipt.get("type") == "TransformationEvent":
        receipt.pop("action")
    return receipt


# Item 3: a receipt the lot's custodian never shipped ------------------------------------------


@pytest.mark.parametrize(
    "attack",
    [
        _receipt(
            type="TransformationEvent",
            inputQuantityList=[{"epcClass": LOT_A}],
            outputQuantityList=[{"epcClass": OWN_LOT}],
        ),
        _receipt(
            type="TransformationEvent",
            bizStep="commissioning",
            inputQuantityList=[{"epcClass": LOT_A}],
            outputQuantityList=[{"epcClass": OWN_LOT}],
        ),
        _receipt(
            type="AggregationEvent",
            action="ADD",
            parentID="https://id.gs1.org/00/089345678000000017",
            childQuantityList=[{"epcClass": LOT_A}],
        ),
        _receipt(
            type="AssociationEvent",
            action="ADD",
            parentID="https://id.gs1.org/8004/8934567000001",
            childQuantityList=[{"epcClass": LOT_A}],
        ),
        _receipt(type="ObjectEvent", quantityList=[{"epcClass": OWN_LOT}, {"epcClass": LOT_A}]),
        *(_receipt(type="ObjectEvent", quantityList=[{"epcClass": uri}]) for uri in A_SPELLINGS),
    ],
    ids=[
        "transformation-input",
        "transformation-commissioning",
        "aggregation",
        "association",
        "mixed-with-own-lot",
        "epc-urn",
        "other-host",
        "gtin-13",
    ],
)
def test_receipts_of_a_foreign_lot_by_other_means_are_refused(client, world, session, attack):
    before = stored_events(session)
    response = post(client, world["headers"]["unrelated"], attack)
    assert response.status_code == 403, response.json
    assert stored_events(session) == before
    assert "Công ty Lạ" not in public_page(client)


def test_a_receipt_naming_a_facility_of_the_receiver_by_its_sgln(client, world, build) -> None:
    """The intruder names one of its own facilities (SGLN) as destination: no shipment to it."""
    place = build.facility(world["intruder"], kind="warehouse", gln="8936010500112")
    attack = _receipt(
        type="ObjectEvent",
        quantityList=[{"epcClass": LOT_A}],
        destinationList=[
            {"type": "location", "destination": f"https://id.gs1.org/414/{place.gln}"}
        ],
        bizLocation={"id": f"https://id.gs1.org/414/{place.gln}"},
    )
    assert post(client, world["headers"]["unrelated"], attack).status_code == 403


def test_a_receipt_of_a_unit_code_of_a_foreign_lot_is_refused(client, world) -> None:
    attack = _receipt(type="ObjectEvent", epcList=[world["code"]["uri"]])
    assert post(client, world["headers"]["unrelated"], attack).status_code == 403


def test_a_second_hop_opens_the_door_to_its_receiver_only(client, world, session) -> None:
    """The processor (which received A) ships A on to the shop: the shop's receipt is accepted,
    naming it by party GLN or by facility; the intruder's receipt is not, even naming the shop."""
    a, processor, shop = world["a"], world["headers"]["partner"], world["headers"]["partner-next"]
    shipped = client.post(
        f"/api/v1/batches/{a.id}/events",
        headers=processor,
        json={
            "stage": "shipping",
            "to_organization_id": world["shop"].id,
            "time": "2026-06-12T08:00:00",
        },
    )
    assert shipped.status_code == 201, shipped.json
    before = stored_events(session)
    for destination in (INTRUDER_URI, f"https://trace.example.vn/facility/{world['store'].id}"):
        attack = _receipt(
            type="ObjectEvent",
            quantityList=[{"epcClass": LOT_A}],
            eventTime="2026-06-12T10:00:00+07:00",
            destinationList=[{"type": "location", "destination": destination}],
        )
        assert post(client, world["headers"]["unrelated"], attack).status_code == 403
    assert stored_events(session) == before
    received = _receipt(
        type="ObjectEvent",
        quantityList=[{"epcClass": LOT_A}],
        eventTime="2026-06-12T10:00:00+07:00",
        destinationList=[
            {
                "type": "location",
                "destination": f"https://trace.example.vn/facility/{world['store'].id}",
            }
        ],
    )
    assert post(client, shop, received).status_code == 201
    # the shop now holds A: it may ship it on; the intruder still may not ride on that
    onward = event(LOT_A, bizStep="retail_selling", eventTime="2026-06-13T10:00:00+07:00")
    assert post(client, shop, onward).status_code == 201
    assert (
        post(
            client,
            world["headers"]["unrelated"],
            onward | {"eventTime": "2026-06-14T10:00:00+07:00"},
        ).status_code
        == 403
    )


def test_a_shipment_by_a_non_holder_opens_no_door(client, world, session) -> None:
    """The intruder cannot ship A to an accomplice (the shop) to make its receipt acceptable."""
    before = stored_events(session)
    ship = event(
        LOT_A,
        bizStep="shipping",
        destinationList=[
            {
                "type": "owning_party",
                "destination": f"https://trace.example.vn/facility/{world['store'].id}",
            }
        ],
    )
    assert post(client, world["headers"]["unrelated"], ship).status_code == 403
    receipt = event(LOT_A, bizStep="receiving", eventTime="2026-06-11T08:00:00+07:00")
    assert post(client, world["headers"]["partner-next"], receipt).status_code == 403
    assert stored_events(session) == before


# Item 4: declarations sent another way ----------------------------------------------------------


def test_a_declaration_with_a_changed_biz_step_by_a_stranger(client, world) -> None:
    a = world["a"]
    harvest = next(iter(history_of(client, world, a)))
    original = exported(client, world, a, harvest)
    for role in ("unrelated", "partner", "centre-foreign"):
        changed = declaration_of(original, bizStep="destroying")
        assert post(client, world["headers"][role], changed).status_code in (403, 422), role
    assert history_of(client, world, a)[harvest]["corrected"] is False
    assert "corrected later" not in public_page(client)


def test_a_declaration_riding_with_a_valid_event_is_refused_whole(client, world, session) -> None:
    """One document: the intruder's own event and a declaration of the grower's harvest. All or
    nothing refuses both; with ``proceed`` the own event is kept and the declaration refused."""
    a = world["a"]
    harvest = next(iter(history_of(client, world, a)))
    original = exported(client, world, a, harvest)
    own = event(OWN_LOT, bizStep="inspecting", eventTime="2026-06-15T08:00:00+07:00")
    before = stored_events(session)
    assert (
        post(client, world["headers"]["unrelated"], own, declaration_of(original)).status_code
        == 403
    )
    assert stored_events(session) == before
    response = client.post(
        "/api/v1/capture",
        json=epcis_document([own, declaration_of(original)]),
        headers={**world["headers"]["unrelated"], "GS1-Capture-Error-Behaviour": "proceed"},
    )
    assert response.status_code < 500
    assert stored_events(session) == before + 1
    assert history_of(client, world, a)[harvest]["corrected"] is False


def test_a_declaration_by_the_receiver_of_its_own_receipt_is_accepted(client, world) -> None:
    """The rule names the recorder, not the lot's owner: the processor corrects its receipt of
    A, the grower may not."""
    a = world["a"]
    history = history_of(client, world, a)
    receipt_id = next(i for i, e in history.items() if "receiving" in str(e.get("bizStep", e)))
    original = exported(client, world, a, receipt_id)
    assert post(client, world["headers"]["owner"], declaration_of(original)).status_code == 403
    assert post(client, world["headers"]["partner"], declaration_of(original)).status_code == 201
    assert history_of(client, world, a)[receipt_id]["corrected"] is True


# Item 9: other read routes ----------------------------------------------------------------------


def _events(response) -> list[dict[str, Any]]:
    return response.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_other_query_parameters_reveal_nothing_of_a_foreign_lot(client, world) -> None:
    unrelated = world["headers"]["unrelated"]
    orchard = f"https://trace.example.vn/414/{world['orchard'].gln}"
    for query in (
        {"EQ_bizLocation": orchard},
        {"EQ_readPoint": orchard},
        {"EQ_bizStep": "harvesting"},
        {"EQ_bizStep": "shipping", "perPage": "500"},
        {"MATCH_epcClass": "https://id.gs1.org/01/08934567890120/10/*"},
        {"MATCH_anyEPC": A_SPELLINGS[0]},
        {"MATCH_epc": world["code"]["uri"]},
        {"GE_eventTime": "2000-01-01T00:00:00Z", "perPage": "500"},
    ):
        response = client.get("/api/v1/events", query_string=query, headers=unrelated)
        assert response.status_code in (200, 422), (query, response.json)
        if response.status_code == 200:
            assert "LN2606-A01" not in response.get_data(as_text=True), query
        owner = client.get("/api/v1/events", query_string=query, headers=world["headers"]["owner"])
        assert owner.status_code == response.status_code


def test_print_run_files_and_jobs_of_a_foreign_lot_are_refused(client, world) -> None:
    run, unrelated = world["run"], world["headers"]["unrelated"]
    for url in (
        f"/api/v1/print-runs/{run['id']}/labels.pdf",
        f"/api/v1/codes/{world['code']['code']}/qr.png",
        f"/api/v1/batches/{world['a'].id}/trace?direction=backward",
        f"/api/v1/batches/{world['b'].id}/trace?direction=backward",
    ):
        response = client.get(url, headers=unrelated)
        assert response.status_code == 403, (url, response.status_code)
    pending = client.get(f"/api/v1/print-runs/{run['id']}/labels.pdf", headers=world["grower"])
    job = pending.json["links"]["self"] if pending.status_code == 202 else None
    if job:
        assert client.get(job, headers=unrelated).status_code in (403, 404)


def test_kde_export_of_a_foreign_lot_has_no_rows(client, world) -> None:
    export = client.get(
        "/api/v1/exports/kde.csv?lot=LN2606-A01", headers=world["headers"]["unrelated"]
    )
    assert export.status_code in (200, 403)
    if export.status_code == 200:
        assert "LN2606-A01" not in export.get_data(as_text=True)
    own = client.get("/api/v1/exports/kde.csv?lot=LN2606-A01", headers=world["headers"]["owner"])
    assert "LN2606-A01" in own.get_data(as_text=True)


@pytest.mark.parametrize("uri", A_SPELLINGS)
def test_the_other_spellings_name_lot_a(client, world, uri) -> None:
    """So the refusals above are about lot A, not about an identifier nobody resolves."""
    a = world["a"]
    before = len(history_of(client, world, a))
    check = event(uri, bizStep="inspecting", eventTime="2026-06-18T08:00:00+07:00")
    assert post(client, world["headers"]["owner"], check).status_code == 201
    assert len(history_of(client, world, a)) == before + 1
