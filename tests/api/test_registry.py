"""Create, read, list, update and archive each registry resource through HTTP."""

from __future__ import annotations

from sqlalchemy import func, select

from trace.models import AuditEntry


def test_organization_lifecycle(client, token, session) -> None:
    admin = token("admin")
    body = {
        "kind": "cooperative",
        "name": "Hợp tác xã Vải thiều Phượng Sơn",
        "tax_code": "2400123456",
        "gln": "8935049500018",
        "province_code": "24",
        "address": "Thôn Bến Cầu, xã Lục Ngạn, tỉnh Bắc Ninh",
        "email": "htx@example.vn",
    }
    created = client.post("/api/v1/organizations", json=body, headers=admin)
    assert created.status_code == 201, created.json
    org = created.json
    assert org["name"] == body["name"] and org["gln"] == "8935049500018"
    assert created.headers["Location"].endswith(f"/api/v1/organizations/{org['id']}")

    read = client.get(f"/api/v1/organizations/{org['id']}", headers=admin)
    assert read.status_code == 200 and read.json == org

    patched = client.patch(
        f"/api/v1/organizations/{org['id']}", json={"phone": "0204 3882 123"}, headers=admin
    )
    assert patched.status_code == 200 and patched.json["phone"] == "0204 3882 123"
    assert patched.json["name"] == body["name"]

    archived = client.post(f"/api/v1/organizations/{org['id']}/archive", headers=admin)
    assert archived.status_code == 200 and archived.json["archived_at"]
    listed = client.get("/api/v1/organizations", headers=admin).json["items"]
    assert org["id"] not in [o["id"] for o in listed]
    with_archived = client.get("/api/v1/organizations?include_archived=true", headers=admin)
    assert org["id"] in [o["id"] for o in with_archived.json["items"]]

    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "organization")
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "update", "archive"]
    update = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert update.before["phone"] is None and update.after["phone"] == "0204 3882 123"
    assert update.token_id is not None


def test_facility_product_batch_lifecycle(client, token, build) -> None:
    org = build.organization()
    headers = token("producer", org)
    centre = token("centre", province="24")

    facility = client.post(
        "/api/v1/facilities",
        json={
            "organization_id": org.id,
            "kind": "packing_house",
            "name": "Nhà sơ chế đóng gói vải Phượng Sơn",
            "address": "xã Phượng Sơn, tỉnh Bắc Ninh",
            "province_code": "24",
            "latitude": "21.376543",
            "longitude": "106.612345",
        },
        headers=headers,
    )
    assert facility.status_code == 201, facility.json
    assert facility.json["latitude"] == "21.376543"

    product = client.post(
        "/api/v1/products",
        json={
            "organization_id": org.id,
            "name_vi": "Vải thiều Lục Ngạn",
            "name_en": "Luc Ngan lychee",
            "category": "fruit",
            "gtin": "8935049510017",
            "ocop_stars": 4,
            "geographical_indication": "Chỉ dẫn địa lý Lục Ngạn",
            "standards": ["VietGAP", "GlobalGAP"],
            "unit": "KGM",
            "shelf_life_days": 28,
        },
        headers=centre,
    )
    assert product.status_code == 201, product.json
    assert product.json["gtin"] == "08935049510017"

    batch = client.post(
        "/api/v1/batches",
        json={
            "product_id": product.json["id"],
            "lot_code": "LN2606-A01",
            "quantity": "1250.5",
            "production_date": "2026-06-12",
            "origin_facility_id": facility.json["id"],
            "certifications": ["VietGAP VG-24-0153"],
        },
        headers=headers,
    )
    assert batch.status_code == 201, batch.json
    assert batch.json["producer_id"] == org.id
    assert batch.json["unit"] == "KGM"
    assert batch.json["expiry_date"] == "2026-07-10"
    assert batch.json["status"] == "active"

    closed = client.patch(
        f"/api/v1/batches/{batch.json['id']}", json={"status": "closed"}, headers=headers
    )
    assert closed.status_code == 200 and closed.json["status"] == "closed"

    found = client.get("/api/v1/batches?q=vai thieu", headers=headers).json["items"]
    assert [b["lot_code"] for b in found] == ["LN2606-A01"]
    found = client.get("/api/v1/products?q=luc ngan", headers=headers).json["items"]
    assert [p["id"] for p in found] == [product.json["id"]]


def test_list_filters(client, token, build) -> None:
    bn = build.organization(province_code="24")
    dl = build.organization(province_code="66", kind="producer")
    build.facility(dl, kind="farm", province_code="66")
    lychee = build.product(bn)
    coffee = build.product(dl, category="coffee", name_vi="Cà phê Buôn Ma Thuột")
    build.batch(lychee)
    recalled_candidate = build.batch(coffee)
    headers = token("inspector")

    def ids(url: str) -> list[int]:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids("/api/v1/organizations?province=66") == [dl.id]
    assert ids("/api/v1/organizations?kind=producer") == [dl.id]
    assert ids("/api/v1/facilities?province=66&kind=farm") != []
    assert ids("/api/v1/products?category=coffee") == [coffee.id]
    assert ids("/api/v1/products?province=24") == [lychee.id]
    assert ids("/api/v1/products?q=buon ma thuot") == [coffee.id]
    assert ids(f"/api/v1/batches?product={coffee.id}") == [recalled_candidate.id]
    assert ids(f"/api/v1/batches?producer={bn.id}&status=active") != []
    assert ids("/api/v1/batches?province=66") == [recalled_candidate.id]


def test_pagination_is_stable_under_inserts(client, token, build) -> None:
    headers = token("admin")
    first_orgs = [build.organization() for _ in range(5)]
    page1 = client.get("/api/v1/organizations?limit=2", headers=headers).json
    assert [o["id"] for o in page1["items"]] == [o.id for o in first_orgs[:2]]
    later = [build.organization() for _ in range(3)]
    seen = [o["id"] for o in page1["items"]]
    cursor = page1["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/organizations?limit=2&cursor={cursor}", headers=headers).json
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [o.id for o in first_orgs + later]
    assert len(set(seen)) == len(seen)


def test_bad_cursor_is_422(client, token) -> None:
    response = client.get("/api/v1/organizations?cursor=%%%", headers=token("admin"))
    assert response.status_code == 422
    assert response.json["errors"][0]["pointer"] == "/cursor"


def test_read_missing_is_404_problem(client, token) -> None:
    response = client.get("/api/v1/batches/999999", headers=token("admin"))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert "999999" in response.json["detail"]


def test_duplicate_lot_code_per_product_is_409(client, token, build, session) -> None:
    org = build.organization()
    product = build.product(org)
    build.batch(product, lot_code="LN-DUP-1")
    other_product = build.product(org)
    headers = token("producer", org)
    body = {
        "product_id": product.id,
        "lot_code": "LN-DUP-1",
        "quantity": "5",
        "production_date": "2026-06-01",
    }
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    response = client.post("/api/v1/batches", json=body, headers=headers)
    assert response.status_code == 409
    assert response.json["errors"][0]["pointer"] == "/lot_code"
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
    same_lot_other_product = client.post(
        "/api/v1/batches", json=body | {"product_id": other_product.id}, headers=headers
    )
    assert same_lot_other_product.status_code == 201


def test_tokens_are_stored_hashed(session, token) -> None:
    from trace.models import ApiToken

    header = token("admin")
    secret = header["Authorization"].split()[1]
    stored = session.scalars(select(ApiToken)).one()
    assert secret not in (stored.token_hash, stored.prefix)
    assert len(secret) >= 43  # 32 random bytes, base64url
    assert stored.token_hash == __import__("hashlib").sha256(secret.encode()).hexdigest()
