"""Genealogy: transformations link batches; tracing walks them both ways, within depth, safely."""

from __future__ import annotations

import pytest

from trace.epcis.export import epcis_document
from trace.services.events.identifiers import batch_uri

PUBLIC = "https://trace.example.vn"


def transform(client, headers, inputs, outputs, n: int) -> None:
    event = {
        "type": "TransformationEvent",
        "eventID": f"urn:uuid:tf-{n}",
        "eventTime": f"2026-06-01T{n % 24:02d}:00:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "bizStep": "commissioning",
        "inputQuantityList": [{"epcClass": batch_uri(PUBLIC, b)} for b in inputs],
        "outputQuantityList": [{"epcClass": batch_uri(PUBLIC, b)} for b in outputs],
    }
    body = epcis_document([event])
    response = client.post("/api/v1/capture", json=body, headers=headers)
    assert response.status_code == 201, response.json


@pytest.fixture
def coffee(build, token, client, session):
    """cherries1 -> green1 \\
                           roasted -> packed
       cherries2 -> green2 /"""
    org = build.organization(province_code="66", kind="processor")
    farm = build.facility(org, kind="farm", name="Vườn cà phê Hòa Phú", province_code="66")
    product = build.product(org, gtin="8934567890120", category="coffee")
    names = ["cherries1", "cherries2", "green1", "green2", "roasted", "packed"]
    batches = {
        n: build.batch(product, lot_code=n.upper(), origin_facility_id=farm.id) for n in names
    }
    for b in batches.values():
        session.refresh(b, ["product"])
    admin = token("admin")
    transform(client, admin, [batches["cherries1"]], [batches["green1"]], 1)
    transform(client, admin, [batches["cherries2"]], [batches["green2"]], 2)
    transform(client, admin, [batches["green1"], batches["green2"]], [batches["roasted"]], 3)
    transform(client, admin, [batches["roasted"]], [batches["packed"]], 4)
    return batches, admin


def trace(client, headers, batch, **params):
    response = client.get(f"/api/v1/batches/{batch.id}/trace", query_string=params, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def lots(graph) -> dict[str, int]:
    return {n["lot_code"]: n["depth"] for n in graph["nodes"]}


def test_backward_to_the_farms(client, coffee) -> None:
    batches, headers = coffee
    graph = trace(client, headers, batches["packed"], direction="backward", depth=10)
    assert lots(graph) == {"PACKED": 0, "ROASTED": 1, "GREEN1": 2, "GREEN2": 2,
                           "CHERRIES1": 3, "CHERRIES2": 3}  # fmt: skip
    assert len(graph["edges"]) == 5
    roasted = next(n for n in graph["nodes"] if n["lot_code"] == "ROASTED")
    assert roasted["facility"]["name"] == "Vườn cà phê Hòa Phú"
    assert roasted["product"]["gtin"] == "08934567890120"


def test_forward_from_one_farm_lot(client, coffee) -> None:
    batches, headers = coffee
    graph = trace(client, headers, batches["cherries2"], direction="forward")
    assert lots(graph) == {"CHERRIES2": 0, "GREEN2": 1, "ROASTED": 2, "PACKED": 3}
    edges = {(e["input_batch_id"], e["output_batch_id"]) for e in graph["edges"]}
    assert (batches["green1"].id, batches["roasted"].id) not in edges


@pytest.mark.parametrize(("depth", "expected"), [(0, 1), (1, 2), (2, 4), (3, 6)])
def test_depth_limits(client, coffee, depth, expected) -> None:
    batches, headers = coffee
    graph = trace(client, headers, batches["packed"], direction="backward", depth=depth)
    assert len(graph["nodes"]) == expected
    assert max(n["depth"] for n in graph["nodes"]) == min(depth, 3)


def test_cycles_do_not_loop(client, coffee) -> None:
    batches, headers = coffee
    transform(client, headers, [batches["packed"]], [batches["cherries1"]], 5)  # a bad record
    graph = trace(client, headers, batches["cherries1"], direction="backward", depth=50)
    assert lots(graph) == {"CHERRIES1": 0, "PACKED": 1, "ROASTED": 2, "GREEN1": 3, "GREEN2": 3,
                           "CHERRIES2": 4}  # fmt: skip
    forward = trace(client, headers, batches["roasted"], direction="forward", depth=50)
    assert lots(forward) == {"ROASTED": 0, "PACKED": 1, "CHERRIES1": 2, "GREEN1": 3}


@pytest.mark.parametrize(
    ("params", "pointer"),
    [({"direction": "sideways"}, "/direction"), ({"depth": "-1"}, "/depth"),
     ({"depth": "51"}, "/depth"), ({"depth": "ten"}, "/depth")],
)  # fmt: skip
def test_bad_trace_parameters(client, coffee, params, pointer) -> None:
    batches, headers = coffee
    response = client.get(
        f"/api/v1/batches/{batches['packed'].id}/trace", query_string=params, headers=headers
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == pointer


def test_unknown_batch_is_404(client, token) -> None:
    response = client.get("/api/v1/batches/999999/trace", headers=token("inspector"))
    assert response.status_code == 404
