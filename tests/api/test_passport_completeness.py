"""Passport completeness through HTTP: per product, per batch, and which producers of a province
are not ready, under each role's read rule."""

from __future__ import annotations

import datetime as dt

from trace.services.passport.validity import today

READY = {
    "gtin": "8936010510029",
    "safety_warning_vi": "Rửa sạch trước khi ăn.",
    "origin_province_code": "24",
}


def _certificate(client, headers, **holder) -> None:
    body = {"kind": "vietgap", "number": "VG-1", "valid_from": "2025-01-01", **holder}
    body.setdefault("valid_to", str(today() + dt.timedelta(days=365)))
    response = client.post("/api/v1/certificates", json=body, headers=headers)
    assert response.status_code == 201, response.json


def _missing(response) -> set[str]:
    assert response.status_code == 200, response.json
    return {m["field"] for m in response.json["missing"]}


def test_product_completeness(client, token, build) -> None:
    org = build.organization(province_code="24")
    product = build.product(org)
    admin = token("admin")
    url = f"/api/v1/products/{product.id}/passport-completeness"
    assert _missing(client.get(url, headers=admin)) == {
        "/product/gtin", "/certificates", "/safety_warnings/vi",
    }  # fmt: skip
    assert (
        client.patch(f"/api/v1/products/{product.id}", json=READY, headers=admin).status_code == 200
    )
    _certificate(
        client, admin, organization_id=org.id, valid_to=str(today() - dt.timedelta(days=1))
    )
    assert _missing(client.get(url, headers=admin)) == {"/certificates"}  # only an expired one
    _certificate(client, admin, product_id=product.id)
    answer = client.get(url, headers=token("inspector"))
    assert _missing(answer) == set() and answer.json["complete"] is True
    assert client.get("/api/v1/products/2000000000/passport-completeness",
                      headers=admin).status_code == 404  # fmt: skip
    assert client.get(url).status_code == 401


def test_batch_completeness(client, token, build) -> None:
    org = build.organization(province_code="24")
    product = build.product(org, shelf_life_days=None, **READY)
    _certificate(client, token("admin"), product_id=product.id)
    batch = build.batch(product)
    url = f"/api/v1/batches/{batch.id}/passport-completeness"
    answer = client.get(url, headers=token("producer", org))
    assert _missing(answer) == {"/batch/expiry_date", "/traceability/stages"}
    assert answer.json["lot"] == batch.lot_code and answer.json["complete"] is False
    patched = client.patch(f"/api/v1/batches/{batch.id}", json={"expiry_date": "2026-07-06"},
                           headers=token("producer", org))  # fmt: skip
    assert patched.status_code == 200
    assert _missing(client.get(url, headers=token("admin"))) == {"/traceability/stages"}


def test_readiness_over_a_province(client, token, build) -> None:
    admin = token("admin")
    ready_org = build.organization(province_code="24", name="HTX sẵn sàng")
    ready = build.product(ready_org, **READY)
    _certificate(client, admin, product_id=ready.id)
    lagging = build.organization(province_code="24", name="HTX chưa sẵn sàng")
    build.product(lagging)
    empty = build.organization(province_code="24", kind="producer", name="Chưa có sản phẩm")
    build.organization(province_code="24", kind="distributor", name="Nhà phân phối")
    build.organization(province_code="24", kind="centre", name="Trung tâm")
    elsewhere = build.organization(province_code="66", name="HTX Đắk Lắk")
    build.product(elsewhere)

    def listing(headers, query: str = "") -> dict[str, dict]:
        response = client.get(f"/api/v1/passport-readiness?limit=500{query}", headers=headers)
        assert response.status_code == 200, response.json
        return {item["name"]: item for item in response.json["items"]}

    centre = listing(token("centre", province="24"))
    assert set(centre) == {ready_org.name, lagging.name, empty.name}
    assert centre[ready_org.name]["ready"] is True
    assert centre[lagging.name]["ready"] is False
    assert {m["field"] for m in centre[lagging.name]["products"][0]["missing"]} == {
        "/product/gtin", "/certificates", "/safety_warnings/vi",
    }  # fmt: skip
    assert centre[empty.name]["ready"] is False and centre[empty.name]["products"] == []

    foreign = client.get("/api/v1/passport-readiness?province=66",
                         headers=token("centre", province="24"))  # fmt: skip
    assert foreign.status_code == 403
    assert set(listing(token("producer", lagging))) == {lagging.name}
    assert set(listing(token("inspector"), "&province=66")) == {elsewhere.name}
    assert set(listing(admin, f"&organization={ready_org.id}")) == {ready_org.name}
