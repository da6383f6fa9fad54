"""The producers' stage form: turned into proper EPCIS events, authorised, recall-aware."""

from __future__ import annotations

import pytest

from trace.epcis.validation import validate_document
from trace.models import Batch, BatchStatus, Event


@pytest.fixture
def chain(build, token):
    coop = build.organization(name="Hợp tác xã Vải thiều Phượng Sơn", gln="8935049500018")
    distributor = build.organization(kind="distributor", province_code="01")
    product = build.product(coop, gtin="8934567890120", name_vi="Vải thiều Lục Ngạn")
    return {
        "coop": coop,
        "distributor": distributor,
        "orchard": build.facility(coop, kind="orchard", name="Vườn vải Phượng Sơn"),
        "cold": build.facility(coop, kind="cold_store", name="Kho lạnh Phượng Sơn"),
        "warehouse": build.facility(
            distributor, kind="warehouse", name="Kho Long Biên", province_code="01"
        ),
        "product": product,
        "batch": build.batch(product, lot_code="LN2606-A01"),
        "producer": token("producer", coop),
        "receiver": token("producer", distributor),
    }


def post_stage(client, chain, headers, **form):
    return client.post(f"/api/v1/batches/{chain['batch'].id}/events", json=form, headers=headers)


def test_a_lychee_journey(client, chain, token) -> None:
    producer = chain["producer"]
    steps = [
        {"stage": "harvesting", "time": "2026-06-08T05:30:00", "facility_id": chain["orchard"].id,
         "quantity": "1850", "note": "Thu hái vải chín cây vào sáng sớm"},
        {"stage": "storing", "time": "2026-06-08T11:30:00+07:00", "facility_id": chain["cold"].id,
         "temperatures": [{"time": "2026-06-08T12:00:00", "celsius": 4.8},
                          {"time": "2026-06-08T16:00:00", "celsius": 3.6}]},
        {"stage": "shipping", "time": "2026-06-09T04:00:00", "facility_id": chain["cold"].id,
         "to_organization_id": chain["distributor"].id,
         "documents": [{"type": "desadv", "number": "PX-2606-001"}]},
    ]  # fmt: skip
    for form in steps:
        response = post_stage(client, chain, producer, **form)
        assert response.status_code == 201, response.json
    received = post_stage(
        client, chain, chain["receiver"], stage="receiving", time="2026-06-09T15:00:00",
        facility_id=chain["warehouse"].id,
    )  # fmt: skip
    assert received.status_code == 201, received.json

    history = client.get(f"/api/v1/batches/{chain['batch'].id}/events", headers=producer).json
    events = history["events"]
    assert [e["stage"]["vi"] for e in events] == ["Thu hoạch", "Lưu kho", "Vận chuyển", "Tiếp nhận"]
    assert [e["stage"]["en"] for e in events] == ["Harvesting", "Storing", "Shipping", "Receiving"]
    assert events[0]["eventTime"] == "2026-06-08T05:30:00+07:00"
    assert events[0]["action"] == "ADD" and events[0]["quantity"] == {
        "quantity": 1850,
        "uom": "KGM",
    }
    assert events[0]["note"] == "Thu hái vải chín cây vào sáng sớm"
    assert events[0]["facility"]["name"] == "Vườn vải Phượng Sơn"
    assert [t["celsius"] for t in events[1]["temperatures"]] == [4.8, 3.6]
    assert events[3]["facility"]["name"] == "Kho Long Biên"

    epcis = client.get(f"/api/v1/batches/{chain['batch'].id}/epcis", headers=producer)
    assert epcis.status_code == 200
    assert validate_document(epcis.json) == []
    shipped = epcis.json["epcisBody"]["eventList"][2]
    assert shipped["bizStep"] == "shipping" and shipped["disposition"] == "in_transit"
    assert shipped["destinationList"][0]["type"] == "owning_party"
    assert shipped["quantityList"][0]["epcClass"] == (
        "https://trace.example.vn/01/08934567890120/10/LN2606-A01"
    )
    assert shipped["bizTransactionList"][0]["type"] == "desadv"


def test_processing_links_inputs_and_needs_them(client, chain, build) -> None:
    cherries = build.batch(chain["product"], lot_code="CH-01")
    missing = post_stage(client, chain, chain["producer"], stage="processing")
    assert missing.status_code == 422
    assert missing.json["errors"][0]["pointer"] == "/inputs"
    done = post_stage(client, chain, chain["producer"], stage="processing",
                      inputs=[{"batch_id": cherries.id, "quantity": "28500"}])  # fmt: skip
    assert done.status_code == 201, done.json
    graph = client.get(
        f"/api/v1/batches/{chain['batch'].id}/trace?direction=backward", headers=chain["producer"]
    ).json
    assert {n["lot_code"] for n in graph["nodes"]} == {"LN2606-A01", "CH-01"}
    assert graph["edges"][0]["input_batch_id"] == cherries.id


@pytest.mark.parametrize(
    ("form", "pointer"),
    [
        ({"stage": "teleporting"}, "/stage"),
        ({"stage": "harvesting", "quantity": "-1"}, "/quantity"),
        ({"stage": "harvesting", "time": "yesterday"}, "/time"),
        ({"stage": "harvesting", "facility_id": 99999}, "/facility_id"),
        ({"stage": "harvesting", "colour": "red"}, "/colour"),
        ({"stage": "storing", "temperatures": [{"time": "2026-06-08T12:00:00", "celsius": 400}]},
         "/temperatures/0/celsius"),
        ({"stage": "shipping", "to_organization_id": 424242}, "/to_organization_id"),
        ({"stage": "shipping", "disposition": "urn:epcglobal:cbv:disp:floating"}, "/disposition"),
    ],
)  # fmt: skip
def test_bad_stage_forms(client, chain, count, form, pointer) -> None:
    response = post_stage(client, chain, chain["producer"], **form)
    assert response.status_code == 422, response.json
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert count(Event) == 0


def test_who_may_record(client, chain, token, count) -> None:
    stranger = token("producer", chain["distributor"])
    assert post_stage(client, chain, stranger, stage="packing").status_code == 403
    assert post_stage(client, chain, token("inspector"), stage="packing").status_code == 403
    assert (
        post_stage(client, chain, token("centre", province="66"), stage="packing").status_code
        == 403
    )
    assert post_stage(client, chain, {}, stage="packing").status_code == 401
    assert count(Event) == 0
    assert (
        post_stage(client, chain, token("centre", province="24"), stage="packing").status_code
        == 201
    )
    assert post_stage(client, chain, token("admin"), stage="inspecting").status_code == 201


def test_receiver_may_go_on_after_receipt(client, chain) -> None:
    """A distributor records the receipt addressed to it, then its own onward stages."""
    early = post_stage(client, chain, chain["receiver"], stage="retail_selling")
    assert early.status_code == 403
    ship = post_stage(client, chain, chain["producer"], stage="shipping",
                      to_organization_id=chain["distributor"].id)  # fmt: skip
    assert ship.status_code == 201
    assert post_stage(client, chain, chain["receiver"], stage="receiving").status_code == 201
    sold = post_stage(client, chain, chain["receiver"], stage="retail_selling")
    assert sold.status_code == 201, sold.json


def test_recalled_batch_may_not_move_on(client, chain, session) -> None:
    batch = session.get(Batch, chain["batch"].id)
    batch.status = BatchStatus.RECALLED
    session.commit()
    shipped = post_stage(client, chain, chain["producer"], stage="shipping")
    assert shipped.status_code == 409
    assert "recalled" in shipped.json["detail"]
    assert post_stage(client, chain, chain["producer"], stage="inspecting").status_code == 201


def test_a_producer_records_stages_at_its_own_facilities_only(client, chain, count, token) -> None:
    """Another organisation's place would put words in its mouth: 422 at /facility_id, and the
    same stage at the producer's own place is fine. Centres and admin may name any place."""
    response = post_stage(client, chain, chain["producer"], stage="packing",
                          facility_id=chain["warehouse"].id)  # fmt: skip
    assert response.status_code == 422, response.json
    assert [e["pointer"] for e in response.json["errors"]] == ["/facility_id"]
    assert "Kho Long Biên" not in response.get_data(as_text=True)
    assert count(Event) == 0
    own = post_stage(client, chain, chain["producer"], stage="packing",
                     facility_id=chain["cold"].id)  # fmt: skip
    assert own.status_code == 201
    admin = post_stage(client, chain, token("admin"), stage="storing",
                       facility_id=chain["warehouse"].id)  # fmt: skip
    assert admin.status_code == 201
