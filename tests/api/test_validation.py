"""Bad input: each is a 422 problem naming the field by JSON pointer, and nothing is written."""

from __future__ import annotations

import pytest

from trace.models import AuditEntry, Batch, Facility, Organization, Product

ORG = {
    "kind": "cooperative",
    "name": "Hợp tác xã Chè Tân Cương",
    "tax_code": "4600123456",
    "province_code": "19",
    "address": "xã Tân Cương, tỉnh Thái Nguyên",
}

# (resource, body changes, pointer expected in the errors)
ORG_CASES = [
    ({"gln": "8935049500011"}, "/gln"),  # wrong check digit
    ({"gln": "89350495"}, "/gln"),  # too short
    ({"province_code": "30"}, "/province_code"),  # Hải Dương: merged in 2025
    ({"province_code": 24}, "/province_code"),  # wrong type
    ({"tax_code": "12345"}, "/tax_code"),
    ({"kind": "farmer"}, "/kind"),
    ({"email": "not-an-email"}, "/email"),
    ({"website": "ftp://x.vn"}, "/website"),
    ({"name": ""}, "/name"),
    ({"name": "x" * 201}, "/name"),
    ({"colour": "green"}, "/colour"),  # unknown field
    ({"address": None}, "/address"),
]


@pytest.mark.parametrize(("change", "pointer"), ORG_CASES)
def test_bad_organization(client, token, count, change, pointer) -> None:
    response = client.post("/api/v1/organizations", json=ORG | change, headers=token("admin"))
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert all(e["detail"] for e in response.json["errors"])
    assert count(Organization) == 0
    assert count(AuditEntry) == 1  # the token's own creation only


@pytest.mark.parametrize("missing", ["kind", "name", "tax_code", "province_code", "address"])
def test_missing_organization_field(client, token, missing) -> None:
    body = {k: v for k, v in ORG.items() if k != missing}
    response = client.post("/api/v1/organizations", json=body, headers=token("admin"))
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"pointer": f"/{missing}", "detail": "Missing data for required field."}
    ]


def _product_body(org_id: int) -> dict:
    return {
        "organization_id": org_id,
        "name_vi": "Chè Tân Cương",
        "category": "tea",
        "unit": "KGM",
    }


PRODUCT_CASES = [
    ({"gtin": "8935049510011"}, "/gtin"),  # wrong check digit
    ({"gtin": "89350495100"}, "/gtin"),  # 11 digits
    ({"gtin": "893504951001X"}, "/gtin"),
    ({"unit": "KG"}, "/unit"),  # not a Rec. 20 code
    ({"ocop_stars": 6}, "/ocop_stars"),
    ({"ocop_stars": "4"}, "/ocop_stars"),  # strings are not numbers
    ({"category": "drink"}, "/category"),
    ({"standards": "VietGAP"}, "/standards"),
    ({"shelf_life_days": -3}, "/shelf_life_days"),
    ({"organization_id": 987654}, "/organization_id"),  # does not exist
]


@pytest.mark.parametrize(("change", "pointer"), PRODUCT_CASES)
def test_bad_product(client, token, build, count, change, pointer) -> None:
    org = build.organization(province_code="19")
    response = client.post(
        "/api/v1/products", json=_product_body(org.id) | change, headers=token("admin")
    )
    assert response.status_code == 422, response.json
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert count(Product) == 0


BATCH_CASES = [
    ({"lot_code": "L" * 21}, "/lot_code"),  # AI 10 is at most 20 characters
    ({"lot_code": "LÔ-01"}, "/lot_code"),  # outside GS1 character set 82
    ({"lot_code": ""}, "/lot_code"),
    ({"quantity": "-5"}, "/quantity"),
    ({"quantity": "0"}, "/quantity"),
    ({"quantity": "many"}, "/quantity"),
    ({"quantity": "NaN"}, "/quantity"),
    ({"production_date": "12/06/2026"}, "/production_date"),
    ({"production_date": "2026-02-30"}, "/production_date"),
    ({"expiry_date": "2026-01-01"}, "/expiry_date"),  # before production
    ({"unit": "BOTTLE"}, "/unit"),
    ({"product_id": "1"}, "/product_id"),
    ({"status": "recalled"}, "/status"),  # read-only on create
    ({"origin_facility_id": 424242}, "/origin_facility_id"),
]


@pytest.mark.parametrize(("change", "pointer"), BATCH_CASES)
def test_bad_batch(client, token, build, count, change, pointer) -> None:
    org = build.organization()
    product = build.product(org)
    body = {
        "product_id": product.id,
        "lot_code": "TC2606-01",
        "quantity": "120",
        "production_date": "2026-06-12",
    }
    response = client.post("/api/v1/batches", json=body | change, headers=token("producer", org))
    assert response.status_code == 422, response.json
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert count(Batch) == 0


def test_facility_of_another_producer_is_rejected(client, token, build, count) -> None:
    org, other = build.organization(), build.organization()
    product = build.product(org)
    foreign = build.facility(other)
    body = {
        "product_id": product.id,
        "lot_code": "X1",
        "quantity": "1",
        "production_date": "2026-06-12",
        "origin_facility_id": foreign.id,
    }
    response = client.post("/api/v1/batches", json=body, headers=token("producer", org))
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/origin_facility_id"
    assert "does not belong" in response.json["errors"][0]["detail"]


def test_several_bad_fields_are_all_named(client, token, count) -> None:
    body = ORG | {"gln": "123", "province_code": "99", "extra": 1}
    response = client.post("/api/v1/organizations", json=body, headers=token("admin"))
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json["errors"]}
    assert pointers == {"/gln", "/province_code", "/extra"}


def test_body_must_be_a_json_object(client, token, count) -> None:
    headers = token("admin")
    not_json = client.post(
        "/api/v1/organizations",
        data="kind=centre",
        headers=headers | {"Content-Type": "text/plain"},
    )
    assert not_json.status_code == 422
    broken = client.post(
        "/api/v1/organizations",
        data="{not json",
        headers=headers | {"Content-Type": "application/json"},
    )
    assert broken.status_code in (400, 422)
    assert broken.mimetype == "application/problem+json"
    a_list = client.post("/api/v1/organizations", json=[ORG], headers=headers)
    assert a_list.status_code == 422
    assert count(Organization) == 0


def test_unknown_query_parameter_is_rejected(client, token) -> None:
    response = client.get("/api/v1/batches?colour=red", headers=token("admin"))
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/colour"


def test_patch_of_immutable_field_is_rejected(client, token, build, count) -> None:
    org = build.organization()
    batch = build.batch(build.product(org))
    response = client.patch(
        f"/api/v1/batches/{batch.id}", json={"lot_code": "NEW"}, headers=token("producer", org)
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/lot_code"
    facility_patch = client.patch(
        f"/api/v1/facilities/{build.facility(org).id}",
        json={"latitude": "95"},
        headers=token("producer", org),
    )
    assert facility_patch.status_code == 422
    assert facility_patch.json["errors"][0]["pointer"] == "/latitude"
    assert count(Facility) == 1
