"""Certificates through HTTP: the holder's write rule, validation, the audit trail, and batch
free-text certifications read into records."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from trace.models import AuditEntry, Certificate, Product

ACTORS = [
    "admin", "centre-own", "centre-foreign", "producer-own", "producer-foreign", "inspector",
    "anonymous",
]  # fmt: skip
#: who may write certificates of each kind of holder (the holder's own write rule)
ALLOWED = {
    "organization": {"admin", "centre-own"},
    "product": {"admin", "centre-own"},
    "batch": {"admin", "centre-own", "producer-own"},
}
BODY = {
    "kind": "vietgap",
    "number": "VG-24-0153",
    "issuer": "Chi cục Trồng trọt và Bảo vệ thực vật tỉnh Bắc Ninh",
    "valid_from": "2026-04-15",
    "valid_to": "2028-04-14",
    "scope": "Vải thiều, 45 ha",
    "document_url": "https://example.vn/vietgap/VG-24-0153.pdf",
}


@pytest.fixture
def world(build, actor_headers) -> dict:
    org = build.organization(province_code="24")
    neighbour = build.organization(province_code="24")
    product = build.product(org)
    batch = build.batch(product)
    return {
        "holders": {"organization": org.id, "product": product.id, "batch": batch.id},
        "headers": actor_headers(org, neighbour),
    }


def _expected(actor: str, allowed: set[str], success: int) -> int:
    if actor == "anonymous":
        return 401
    return success if actor in allowed else 403


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("holder", sorted(ALLOWED))
def test_write_rule_is_the_holders(client, world, session, holder, actor) -> None:
    headers = world["headers"]
    holder_id = world["holders"][holder]
    body = {**BODY, f"{holder}_id": holder_id}
    created = client.post("/api/v1/certificates", json=body, headers=headers[actor])
    assert created.status_code == _expected(actor, ALLOWED[holder], 201), created.json
    if created.status_code != 201:
        assert session.scalar(select(func.count()).select_from(Certificate)) == 0
        return
    # a certificate the actor may not touch: written by admin, then changed by the actor
    other = client.post("/api/v1/certificates", json=body, headers=headers["admin"]).json
    url = f"/api/v1/certificates/{other['id']}"
    for actor_, allowed in (("producer-foreign", False), ("centre-foreign", False)):
        patched = client.patch(url, json={"scope": "x"}, headers=headers[actor_])
        assert patched.status_code == (200 if allowed else 403)
        archived = client.post(f"{url}/archive", headers=headers[actor_])
        assert archived.status_code == 403
    patched = client.patch(url, json={"scope": "45 ha"}, headers=headers[actor])
    assert patched.status_code == 200 and patched.json["scope"] == "45 ha"
    archived = client.post(f"{url}/archive", headers=headers[actor])
    assert archived.status_code == 200 and archived.json["archived_at"]


def test_lifecycle_audit_and_freshness(client, token, build, session) -> None:
    org = build.organization(province_code="24")
    product = build.product(org)
    before = product.updated_at
    centre = token("centre", province="24")
    created = client.post(
        "/api/v1/certificates", json={**BODY, "product_id": product.id}, headers=centre
    )
    assert created.status_code == 201, created.json
    cert = created.json
    assert cert["product_id"] == product.id and cert["organization_id"] is None
    assert cert["valid_to"] == "2028-04-14" and cert["source_text"] is None
    assert client.get(f"/api/v1/certificates/{cert['id']}", headers=centre).json == cert
    listed = client.get(f"/api/v1/certificates?product={product.id}", headers=centre).json
    assert [c["id"] for c in listed["items"]] == [cert["id"]]

    session.expire_all()
    touched = session.get(Product, product.id)
    assert touched is not None and touched.updated_at > before  # public pages re-render

    archived = client.post(f"/api/v1/certificates/{cert['id']}/archive", headers=centre)
    assert archived.status_code == 200
    listed = client.get(f"/api/v1/certificates?product={product.id}", headers=centre).json
    assert listed["items"] == []
    with_archived = client.get(
        f"/api/v1/certificates?product={product.id}&include_archived=true", headers=centre
    ).json
    assert [c["id"] for c in with_archived["items"]] == [cert["id"]]
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "certificate", AuditEntry.entity_id == str(cert["id"]))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "archive"]


@pytest.mark.parametrize(
    ("change", "pointers"),
    [
        ({}, {"/organization_id", "/product_id", "/batch_id"}),  # no holder
        ({"organization_id": "ORG", "product_id": "PRODUCT"},
         {"/organization_id", "/product_id", "/batch_id"}),  # two holders
        ({"product_id": "PRODUCT", "valid_from": "2028-01-01", "valid_to": "2027-12-31"},
         {"/valid_to"}),
        ({"product_id": "PRODUCT", "document_url": "javascript:alert(1)"}, {"/document_url"}),
        ({"product_id": "PRODUCT", "kind": "gold_star"}, {"/kind"}),
        ({"product_id": 2_000_000_000}, {"/product_id"}),  # no such product
        ({"batch_id": "PRODUCT", "number": "x" * 101}, {"/number"}),
    ],
)  # fmt: skip
def test_bad_certificates_are_422_naming_the_field(client, token, build, session, change,
                                                   pointers) -> None:  # fmt: skip
    org = build.organization(province_code="24")
    product = build.product(org)
    ids = {"ORG": org.id, "PRODUCT": product.id}
    body = {k: v for k, v in BODY.items() if k not in ("valid_from", "valid_to")}
    body |= {k: ids.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    response = client.post("/api/v1/certificates", json=body, headers=token("admin"))
    assert response.status_code == 422, response.json
    assert {e["pointer"] for e in response.json["errors"]} == pointers
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_the_holder_never_changes(client, token, build) -> None:
    org = build.organization(province_code="24")
    admin = token("admin")
    cert = client.post(
        "/api/v1/certificates", json={**BODY, "organization_id": org.id}, headers=admin
    ).json
    other = build.organization(province_code="24")
    moved = client.patch(
        f"/api/v1/certificates/{cert['id']}", json={"organization_id": other.id}, headers=admin
    )
    assert moved.status_code == 422
    ends_first = client.patch(
        f"/api/v1/certificates/{cert['id']}", json={"valid_to": "2026-01-01"}, headers=admin
    )
    assert ends_first.status_code == 422
    assert ends_first.json["errors"][0]["pointer"] == "/valid_to"


def test_an_archived_holder_takes_no_new_certificate(client, token, build) -> None:
    org = build.organization(province_code="24")
    product = build.product(org)
    admin = token("admin")
    assert client.post(f"/api/v1/products/{product.id}/archive", headers=admin).status_code == 200
    response = client.post(
        "/api/v1/certificates", json={**BODY, "product_id": product.id}, headers=admin
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/product_id"


def test_batch_free_text_certifications_become_records(client, token, build, session) -> None:
    org = build.organization(province_code="24")
    product = build.product(org)
    producer = token("producer", org)
    created = client.post(
        "/api/v1/batches",
        json={
            "product_id": product.id, "lot_code": "LN-CERT-1", "quantity": "10",
            "production_date": "2026-06-08",
            "certifications": ["VietGAP VG-24-0153", "Giấy chứng nhận ATTP", "VietGAP VG-24-0153"],
        },
        headers=producer,
    )  # fmt: skip
    assert created.status_code == 201, created.json
    batch_id = created.json["id"]
    assert "certifications" not in created.json  # records now: /certificates?batch=

    def records() -> list[tuple[str, str, str | None, str | None]]:
        listed = client.get(f"/api/v1/certificates?batch={batch_id}", headers=producer).json
        return [(c["kind"], c["number"], c["scope"], c["source_text"]) for c in listed["items"]]

    assert records() == [
        ("vietgap", "VG-24-0153", None, "VietGAP VG-24-0153"),
        ("other", "", "Giấy chứng nhận ATTP", "Giấy chứng nhận ATTP"),
    ]
    patched = client.patch(
        f"/api/v1/batches/{batch_id}",
        json={"certifications": ["VietGAP VG-24-0153", "OCOP 4 sao"]},
        headers=producer,
    )
    assert patched.status_code == 200, patched.json
    assert [r[0] for r in records()] == ["vietgap", "other", "ocop"]  # nothing twice
