"""EUDR due diligence through the API: plots with geolocation, harvests from plots, and the
package of an export lot made of 30 farms' cherries blended into 3 green-bean lots."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from shapely.geometry import shape

from trace.models import AuditEntry

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "eudr-geojson.schema.json").read_text("utf-8")
)
FARMS = 30


def square(i: int, size: float = 0.001) -> dict:
    """A plot near Buôn Ma Thuột: farm ``i``'s square, six decimals, counter-clockwise."""
    lon, lat = round(108.030137 + (i % 6) * 0.0031, 6), round(12.710243 + (i // 6) * 0.0029, 6)
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def harvest_kg(i: int) -> int:
    return 1000 + 37 * i


def post(client, headers, batch, **form):
    response = client.post(f"/api/v1/batches/{batch.id}/events", json=form, headers=headers)
    assert response.status_code == 201, response.json
    return response


@pytest.fixture
def coffee(build, token, client):
    """30 farms' cherries → 3 green-bean lots (10 each) → shipped to an exporter → 1 export lot."""
    coop = build.organization(name="Hợp tác xã cà phê Ea Tul", province_code="66")
    exporter = build.organization(
        kind="processor", name="Công ty xuất khẩu cà phê Buôn Ma Thuột", province_code="66"
    )
    cherries = build.product(coop, name_vi="Cà phê quả tươi", category="coffee")
    green = build.product(coop, name_vi="Cà phê nhân Robusta", category="coffee")
    export = build.product(exporter, name_vi="Cà phê nhân xuất khẩu", category="coffee")
    producer, exporter_token = token("producer", coop), token("producer", exporter)
    plots, cherry_lots = [], []
    for i in range(FARMS):
        plot = build.facility(coop, kind="plot", name=f"Rẫy cà phê {i + 1:02d}",
                              address="xã Ea Tul, tỉnh Đắk Lắk")  # fmt: skip
        answer = client.put(
            f"/api/v1/facilities/{plot.id}/plot",
            json={"geometry": square(i), "producer_name": f"Nông hộ Y Nguyễn {i + 1}",
                  "land_documents": [{"type": "land_use_right_certificate",
                                      "number": f"CS {i + 1:05d}"}]},
            headers=producer,
        )  # fmt: skip
        assert answer.status_code == 200, answer.json
        lot = build.batch(cherries, lot_code=f"CH-{i + 1:02d}", quantity=str(harvest_kg(i)),
                          production_date="2025-11-20")  # fmt: skip
        post(client, producer, lot, stage="harvesting", plot_id=plot.id,
             time=f"2025-11-{10 + i % 20:02d}T06:30:00", quantity=str(harvest_kg(i)))  # fmt: skip
        plots.append(plot)
        cherry_lots.append(lot)
    greens = []
    for j in range(3):
        members = range(10 * j, 10 * j + 10)
        total = sum(harvest_kg(i) for i in members)
        lot = build.batch(green, lot_code=f"GB-{j + 1}", quantity=str(total // 5),
                          production_date="2025-12-15")  # fmt: skip
        post(client, producer, lot, stage="processing", time="2025-12-15T08:00:00",
             quantity=str(total // 5),
             inputs=[{"batch_id": cherry_lots[i].id, "quantity": str(harvest_kg(i))}
                     for i in members])  # fmt: skip
        post(client, producer, lot, stage="shipping", time="2025-12-20T08:00:00",
             to_organization_id=exporter.id)  # fmt: skip
        post(client, exporter_token, lot, stage="receiving", time="2025-12-20T16:00:00")
        greens.append(lot)
    used = [int(g.quantity) for g in greens]
    used[1] //= 2  # half of the second green lot goes into the export lot
    export_lot = build.batch(export, lot_code="EX-2601", quantity=str(sum(used)),
                             production_date="2026-01-05")  # fmt: skip
    post(client, exporter_token, export_lot, stage="processing", time="2026-01-05T09:00:00",
         quantity=str(sum(used)),
         inputs=[{"batch_id": g.id, "quantity": str(q)}
                 for g, q in zip(greens, used, strict=True)])  # fmt: skip
    return {
        "coop": coop, "exporter": exporter, "plots": plots, "cherries": cherry_lots,
        "greens": greens, "used": used, "export": export_lot, "producer": producer,
        "owner": exporter_token, "cherry_product": cherries,
    }  # fmt: skip


def package(client, coffee, headers=None):
    return client.get(
        f"/api/v1/batches/{coffee['export'].id}/eudr",
        headers=coffee["owner"] if headers is None else headers,
    )


def test_thirty_farms_three_green_lots_one_export_lot(client, coffee) -> None:
    response = package(client, coffee)
    assert response.status_code == 200, response.json
    body = response.json
    geojson, summary = body["geojson"], body["summary"]
    jsonschema.Draft202012Validator(SCHEMA).validate(geojson)
    assert len(geojson["features"]) == FARMS
    by_place = {f["properties"]["ProductionPlace"]: f for f in geojson["features"]}
    for i in range(FARMS):
        feature = by_place[f"Rẫy cà phê {i + 1:02d}"]
        reread = shape(feature["geometry"])
        assert reread.is_valid
        assert reread.equals(shape(square(i)))
        assert feature["properties"]["ProducerCountry"] == "VN"
        assert feature["properties"]["ProducerName"] == f"Nông hộ Y Nguyễn {i + 1}"
        assert 1.18 < feature["properties"]["Area"] < 1.22
    assert summary["plot_count"] == FARMS
    assert summary["upstream_batches"] == 1 + 3 + FARMS
    assert summary["provinces"] == ["66"] and summary["countries"] == ["VN"]
    assert summary["harvest_from"] == "2025-11-09T23:30:00+00:00"  # 06:30 in Vietnam
    assert summary["harvest_to"] == "2025-11-28T23:30:00+00:00"

    # Mass balance: export lot -> green lot j in proportion to what went in, green lot ->
    # farm i in proportion to its cherries.
    used, total_used = coffee["used"], sum(coffee["used"])
    shares = {p["facility_id"]: p for p in summary["plots"]}
    for i, plot in enumerate(coffee["plots"]):
        j = i // 10
        green_total = sum(harvest_kg(k) for k in range(10 * j, 10 * j + 10))
        expected = used[j] / total_used * harvest_kg(i) / green_total
        got = shares[plot.id]
        assert got["share"] == pytest.approx(expected, rel=1e-6)
        assert Decimal(got["allocated_quantity"]) == pytest.approx(
            Decimal(total_used) * Decimal(expected), abs=Decimal("0.01")
        )
        assert Decimal(got["harvested_quantity"]) == harvest_kg(i)
        assert got["harvest_unit"] == "KGM"
        assert got["problem"] is None
    assert sum(p["share"] for p in summary["plots"]) == pytest.approx(1.0)
    # The second green lot gave half as much, so its farms weigh less than the first lot's.
    assert shares[coffee["plots"][10].id]["share"] < shares[coffee["plots"][0].id]["share"]


def test_who_reads_the_package(client, coffee, token, build) -> None:
    neighbour = build.organization(province_code="66")
    allowed = {
        "owner": coffee["owner"],
        "inspector": token("inspector"),
        "admin": token("admin"),
        "centre of the province": token("centre", province="66"),
    }
    refused = {
        "the cooperative (grew it, does not own the export lot)": coffee["producer"],
        "another producer": token("producer", neighbour),
        "centre of another province": token("centre", province="24"),
    }
    for who, headers in allowed.items():
        assert package(client, coffee, headers).status_code == 200, who
    for who, headers in refused.items():
        response = package(client, coffee, headers)
        assert response.status_code == 403, who
        assert "plots" not in response.get_data(as_text=True) or "geojson" not in response.json
    assert package(client, coffee, {}).status_code == 401
    missing = client.get("/api/v1/batches/999999/eudr", headers=coffee["owner"])
    assert missing.status_code == 404


def test_the_owner_reads_upstream_at_any_depth_only_through_the_package(
    client, coffee, build
) -> None:
    """Cherries dried before hulling sit two steps above the green lot the exporter received:
    beyond its one-step read, yet in its package; a plot's geolocation stays unreadable to it
    directly."""
    producer, owner = coffee["producer"], coffee["owner"]
    cherry = build.batch(coffee["cherry_product"], lot_code="CH-D", quantity="800")
    post(client, producer, cherry, stage="harvesting", plot_id=coffee["plots"][0].id,
         quantity="800", time="2025-11-25T06:00:00")  # fmt: skip
    dried = build.batch(coffee["cherry_product"], lot_code="DRY-D", quantity="400")
    post(client, producer, dried, stage="drying", time="2025-12-01T08:00:00",
         inputs=[{"batch_id": cherry.id, "quantity": "800"}])  # fmt: skip
    green = build.batch(coffee["greens"][0].product, lot_code="GB-D", quantity="160")
    post(client, producer, green, stage="processing", time="2025-12-15T08:00:00",
         inputs=[{"batch_id": dried.id, "quantity": "400"}])  # fmt: skip
    post(client, producer, green, stage="shipping", time="2025-12-20T08:00:00",
         to_organization_id=coffee["exporter"].id)  # fmt: skip
    post(client, owner, green, stage="receiving", time="2025-12-20T16:00:00")
    post(client, owner, coffee["export"], stage="processing", time="2026-01-06T09:00:00",
         inputs=[{"batch_id": green.id, "quantity": "160"}])  # fmt: skip

    assert client.get(f"/api/v1/batches/{cherry.id}/events", headers=owner).status_code == 403
    summary = package(client, coffee).json["summary"]
    first = next(p for p in summary["plots"] if p["facility_id"] == coffee["plots"][0].id)
    assert Decimal(first["harvested_quantity"]) == harvest_kg(0) + 800
    assert len(first["harvest_events"]) == 2
    assert summary["upstream_batches"] == 1 + 3 + FARMS + 3
    plot = client.get(f"/api/v1/facilities/{coffee['plots'][0].id}/plot", headers=coffee["owner"])
    assert plot.status_code == 403
    own = client.get(f"/api/v1/facilities/{coffee['plots'][0].id}/plot", headers=coffee["producer"])
    assert own.status_code == 200
    assert own.json["land_documents"][0]["number"] == "CS 00001"


def test_a_plot_without_geolocation_blocks_the_export(client, coffee, build) -> None:
    bare = build.facility(coffee["coop"], kind="plot", name="Rẫy chưa đo đạc")
    lot = build.batch(coffee["cherry_product"], lot_code="CH-31", quantity="900")
    post(client, coffee["producer"], lot, stage="harvesting", plot_id=bare.id, quantity="900",
         time="2025-11-21T06:00:00")  # fmt: skip
    green = coffee["greens"][0]
    # A second processing into the first green lot adds the unsurveyed farm upstream.
    post(client, coffee["producer"], green, stage="processing", time="2025-12-16T08:00:00",
         inputs=[{"batch_id": lot.id, "quantity": "900"}])  # fmt: skip
    response = package(client, coffee)
    assert response.status_code == 409
    problem = response.json
    assert "blocked" in problem["detail"]
    assert problem["errors"] == [
        {"pointer": f"/plots/{bare.id}",
         "detail": f"plot {bare.id} (Rẫy chưa đo đạc): no geolocation: the plot has no point "
                   "or polygon recorded"}
    ]  # fmt: skip


def test_an_invalid_stored_geolocation_blocks_the_export(client, coffee, session) -> None:
    """A geolocation stored before a rule changed (here: written behind the service's back) is
    checked again at export."""
    from trace.models import Plot

    session.rollback()
    plot = session.get(Plot, coffee["plots"][3].id)
    ring = plot.geometry["coordinates"][0]
    plot.geometry = {"type": "Polygon", "coordinates": [[ring[0], ring[2], ring[1], ring[3],
                                                         ring[0]]]}  # fmt: skip
    session.commit()
    response = package(client, coffee)
    assert response.status_code == 409
    assert response.json["errors"][0]["pointer"] == f"/plots/{coffee['plots'][3].id}"
    assert "Self-intersection" in response.json["errors"][0]["detail"]


def test_a_lot_whose_origin_is_unknown_blocks_the_export(client, coffee, build) -> None:
    lot = build.batch(coffee["cherry_product"], lot_code="CH-X", quantity="500")
    post(client, coffee["producer"], lot, stage="harvesting", quantity="500",
         time="2025-11-21T06:00:00")  # fmt: skip
    post(client, coffee["producer"], coffee["greens"][2], stage="processing",
         time="2025-12-16T08:00:00", inputs=[{"batch_id": lot.id, "quantity": "500"}])  # fmt: skip
    response = package(client, coffee)
    assert response.status_code == 409
    assert response.json["errors"][0]["pointer"] == f"/batches/{lot.id}"
    assert "where it was grown is unknown" in response.json["errors"][0]["detail"]


def test_a_declared_area_far_off_is_a_warning_not_a_block(client, coffee) -> None:
    plot = coffee["plots"][0]
    answer = client.put(
        f"/api/v1/facilities/{plot.id}/plot",
        json={"geometry": square(0), "producer_name": "Nông hộ Y Nguyễn 1",
              "declared_area_ha": "2.5"},
        headers=coffee["producer"],
    )  # fmt: skip
    assert answer.status_code == 200
    assert "off the area computed" in answer.json["warnings"][0]
    body = package(client, coffee).json
    assert len(body["summary"]["warnings"]) == 1
    assert body["summary"]["warnings"][0].startswith(f"plot {plot.id} (Rẫy cà phê 01)")


def test_the_shipment_carries_the_dds_numbers(client, coffee, token) -> None:
    buyer = coffee["exporter"]
    post(client, coffee["owner"], coffee["export"], stage="shipping", time="2026-01-10T08:00:00",
         to_organization_id=buyer.id,
         dds={"reference_number": "26VNXK4F8D2Q", "verification_number": "K7PQ2M9A"})  # fmt: skip
    summary = package(client, coffee).json["summary"]
    assert [(d["reference_number"], d["verification_number"]) for d in summary["dds"]] == [
        ("26VNXK4F8D2Q", "K7PQ2M9A")
    ]
    history = client.get(
        f"/api/v1/batches/{coffee['export'].id}/events", headers=token("inspector")
    ).json["events"]
    assert history[-1]["dds"] == {"reference_number": "26VNXK4F8D2Q",
                                  "verification_number": "K7PQ2M9A"}  # fmt: skip
    doc = client.get(
        f"/api/v1/batches/{coffee['export'].id}/epcis", headers=token("inspector")
    ).json
    shipped = doc["epcisBody"]["eventList"][-1]
    assert shipped["trace:ddsReferenceNumber"] == "26VNXK4F8D2Q"
    assert shipped["trace:ddsVerificationNumber"] == "K7PQ2M9A"


def test_the_stage_form_checks_plot_and_dds(client, coffee, build, token) -> None:
    lot = coffee["cherries"][0]
    orchard = build.facility(coffee["coop"], kind="farm")
    other = build.organization(province_code="66")
    foreign_plot = build.facility(other, kind="plot")
    cases = [
        ({"stage": "harvesting", "plot_id": orchard.id}, 422, "/plot_id"),
        ({"stage": "storing", "plot_id": coffee["plots"][0].id}, 422, "/plot_id"),
        ({"stage": "harvesting", "plot_id": foreign_plot.id}, 403, None),
        ({"stage": "storing", "dds": {"reference_number": "X1"}}, 422, "/dds"),
        ({"stage": "shipping", "dds": {"reference_number": "bad number!"}}, 422,
         "/dds/reference_number"),
    ]  # fmt: skip
    for form, status, pointer in cases:
        response = client.post(
            f"/api/v1/batches/{lot.id}/events", json=form, headers=coffee["producer"]
        )
        assert response.status_code == status, (form, response.json)
        if pointer:
            assert [e["pointer"] for e in response.json["errors"]] == [pointer]


def test_a_plot_harvested_into_another_organisations_lot_does_not_count(
    client, coffee, build, token
) -> None:
    """Naming someone else's plot in a raw EPCIS harvest does not give a lot that origin."""
    other = build.organization(province_code="66")
    stranger = build.facility(other, kind="plot", name="Rẫy của người khác")
    lot = build.batch(coffee["cherry_product"], lot_code="CH-Y", quantity="700")
    public = "http://localhost:5000"
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2025-11-22T00:00:00Z",
        "epcisBody": {"eventList": [{
            "type": "ObjectEvent", "action": "ADD",
            "eventTime": "2025-11-21T06:00:00+07:00", "eventTimeZoneOffset": "+07:00",
            "bizStep": "https://id.trace.vn/voc/BizStep-harvesting",
            "bizLocation": {"id": f"{public}/facility/{stranger.id}"},
            "quantityList": [{"epcClass": f"{public}/lot/{lot.product_id}/CH-Y",
                              "quantity": 700, "uom": "KGM"}],
        }]},
    }  # fmt: skip
    captured = client.post("/api/v1/capture", json=doc, headers=coffee["producer"])
    assert captured.status_code == 201, captured.json
    post(client, coffee["producer"], coffee["greens"][0], stage="processing",
         time="2025-12-16T08:00:00", inputs=[{"batch_id": lot.id, "quantity": "700"}])  # fmt: skip
    response = package(client, coffee)
    assert response.status_code == 409
    assert response.json["errors"][0]["pointer"] == f"/batches/{lot.id}"


def test_plot_writes_are_authorised_and_audited(client, coffee, token, build, session) -> None:
    plot = coffee["plots"][0]
    body = {"geometry": square(0), "producer_name": "Nông hộ khác"}
    neighbour = build.organization(province_code="66")
    strangers = (token("producer", neighbour), token("inspector"), token("centre", province="24"))
    for headers in strangers:
        answer = client.put(f"/api/v1/facilities/{plot.id}/plot", json=body, headers=headers)
        assert answer.status_code == 403
    reader = client.get(f"/api/v1/facilities/{plot.id}/plot", headers=token("producer", neighbour))
    assert reader.status_code == 403
    centre = client.put(
        f"/api/v1/facilities/{plot.id}/plot", json=body, headers=token("centre", province="66")
    )
    assert centre.status_code == 200
    session.rollback()
    entries = session.query(AuditEntry).filter_by(entity_type="plot", entity_id=str(plot.id)).all()
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[-1].after["producer_name"] == "Nông hộ khác"


def test_bad_plots_are_refused_with_nothing_written(client, coffee, build) -> None:
    farm = build.facility(coffee["coop"], kind="farm")
    plot = build.facility(coffee["coop"], kind="plot")
    headers = coffee["producer"]
    six_ha_point = {"geometry": {"type": "Point", "coordinates": [108.051234, 12.712345]},
                    "declared_area_ha": "6", "producer_name": "Nông hộ A"}  # fmt: skip
    cases = [
        (farm.id, {"geometry": square(1), "producer_name": "A"}, 422, "/facility_id"),
        (plot.id, six_ha_point, 422, "/geometry/type"),
        (plot.id, {"geometry": square(1), "producer_name": "A", "producer_country": "Viet"},
         422, "/producer_country"),
        (plot.id, {"geometry": square(1)}, 422, "/producer_name"),
    ]  # fmt: skip
    for facility_id, body, status, pointer in cases:
        answer = client.put(f"/api/v1/facilities/{facility_id}/plot", json=body, headers=headers)
        assert answer.status_code == status, answer.json
        assert pointer in [e["pointer"] for e in answer.json["errors"]]
    assert client.get(f"/api/v1/facilities/{plot.id}/plot", headers=headers).status_code == 404
    four_ha_point = six_ha_point | {"declared_area_ha": "3.5"}
    answer = client.put(f"/api/v1/facilities/{plot.id}/plot", json=four_ha_point, headers=headers)
    assert answer.status_code == 200
    assert answer.json["area_ha"] == "3.5000"
    assert client.get("/api/v1/facilities/999999/plot", headers=headers).status_code == 404


def test_a_harvest_weighed_elsewhere_names_its_plot_as_source(client, coffee, build) -> None:
    """Cherries weighed at the cooperative's collection point: the business location is the
    collection point, the plot is the event's source of type location."""
    collection = build.facility(coffee["coop"], kind="packing_house", name="Điểm thu mua")
    lot = build.batch(coffee["cherry_product"], lot_code="CH-S", quantity="600")
    post(client, coffee["producer"], lot, stage="harvesting", plot_id=coffee["plots"][5].id,
         facility_id=collection.id, quantity="600", time="2025-11-26T06:00:00")  # fmt: skip
    post(client, coffee["producer"], coffee["greens"][0], stage="processing",
         time="2025-12-16T08:00:00", inputs=[{"batch_id": lot.id, "quantity": "600"}])  # fmt: skip
    response = package(client, coffee)
    assert response.status_code == 200, response.json
    plot = next(
        p for p in response.json["summary"]["plots"] if p["facility_id"] == coffee["plots"][5].id
    )
    assert Decimal(plot["harvested_quantity"]) == harvest_kg(5) + 600
