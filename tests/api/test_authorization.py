"""Every registry write × every role × own/foreign organisation or province -> expected status."""

from __future__ import annotations

import pytest

ACTORS = ["admin", "centre-own", "centre-foreign", "producer-own", "producer-foreign",
          "inspector", "anonymous"]  # fmt: skip

# Who may write, per endpoint (everyone else gets 403; no token gets 401).
ALLOWED = {
    "create_organization": {"admin", "centre-own"},
    "update_organization": {"admin", "centre-own"},
    "archive_organization": {"admin", "centre-own"},
    "create_facility": {"admin", "centre-own", "producer-own"},
    "update_facility": {"admin", "centre-own", "producer-own"},
    "archive_facility": {"admin", "centre-own", "producer-own"},
    "create_product": {"admin", "centre-own"},
    "update_product": {"admin", "centre-own"},
    "archive_product": {"admin", "centre-own"},
    "create_batch": {"admin", "centre-own", "producer-own"},
    "update_batch": {"admin", "centre-own", "producer-own"},
}


def _request(endpoint: str, world: dict) -> tuple[str, str, dict | None]:
    org, facility, product, batch = (
        world["org"],
        world["facility"],
        world["product"],
        world["batch"],
    )
    return {
        "create_organization": ("POST", "/api/v1/organizations", {
            "kind": "producer", "name": "Công ty Nông sản Lục Ngạn", "tax_code": "2400999999",
            "province_code": "24", "address": "xã Lục Ngạn, tỉnh Bắc Ninh"}),
        "update_organization": ("PATCH", f"/api/v1/organizations/{org.id}", {
            "phone": "0204 123 456"}),
        "archive_organization": ("POST", f"/api/v1/organizations/{org.id}/archive", None),
        "create_facility": ("POST", "/api/v1/facilities", {
            "organization_id": org.id, "kind": "cold_store", "name": "Kho lạnh Phượng Sơn",
            "address": "xã Phượng Sơn, tỉnh Bắc Ninh", "province_code": "24"}),
        "update_facility": ("PATCH", f"/api/v1/facilities/{facility.id}", {"name": "Vườn vải 2"}),
        "archive_facility": ("POST", f"/api/v1/facilities/{facility.id}/archive", None),
        "create_product": ("POST", "/api/v1/products", {
            "organization_id": org.id, "name_vi": "Vải sấy khô", "category": "processed",
            "unit": "KGM"}),
        "update_product": ("PATCH", f"/api/v1/products/{product.id}", {"ocop_stars": 4}),
        "archive_product": ("POST", f"/api/v1/products/{product.id}/archive", None),
        "create_batch": ("POST", "/api/v1/batches", {
            "product_id": product.id, "producer_id": org.id, "lot_code": "LN-NEW-1",
            "quantity": "10", "production_date": "2026-06-20"}),
        "update_batch": ("PATCH", f"/api/v1/batches/{batch.id}", {"quantity": "11"}),
    }[endpoint]  # fmt: skip


@pytest.fixture
def world(build, actor_headers) -> dict:
    org = build.organization(province_code="24")
    neighbour = build.organization(province_code="24")
    product = build.product(org)
    return {
        "org": org,
        "facility": build.facility(org),
        "product": product,
        "batch": build.batch(product),
        "headers": actor_headers(org, neighbour),
    }


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", sorted(ALLOWED))
def test_write_authorisation(client, world, endpoint, actor) -> None:
    method, url, body = _request(endpoint, world)
    response = client.open(url, method=method, json=body, headers=world["headers"][actor])
    if actor == "anonymous":
        expected = 401
    elif actor in ALLOWED[endpoint]:
        expected = 201 if endpoint.startswith("create") else 200
    else:
        expected = 403
    assert response.status_code == expected, (endpoint, actor, response.json)
    if expected >= 400:
        assert response.mimetype == "application/problem+json"
    if expected == 401:
        assert "bearer" in response.json["detail"].lower()


def test_unknown_token_is_401(client) -> None:
    response = client.get("/api/v1/products", headers={"Authorization": "Bearer trc_nope"})
    assert response.status_code == 401
    assert "unknown" in response.json["detail"]


def test_forbidden_write_changes_nothing(client, world, session) -> None:
    from trace.models import Batch

    response = client.patch(
        f"/api/v1/batches/{world['batch'].id}",
        json={"quantity": "1"},
        headers=world["headers"]["producer-foreign"],
    )
    assert response.status_code == 403
    session.rollback()
    assert str(session.get(Batch, world["batch"].id).quantity) in {"1200.5", "1200.500"}


def test_reads_are_open_to_every_role(client, world) -> None:
    for actor in ACTORS[:-1]:
        response = client.get(
            f"/api/v1/batches/{world['batch'].id}", headers=world["headers"][actor]
        )
        assert response.status_code == 200
