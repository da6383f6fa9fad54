"""A batch resource says where consumers see it: its batch-level code and ``links.public``, the
same URI its label's QR code carries (Digital Link with a GTIN, ``/q/<code>`` without)."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from PIL import Image
from sqlalchemy import event

from tests.conftest import gtin13
from tests.qr import read_qr
from trace.db import db

BASE = "https://trace.example.vn"


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE
    return parts.path


def _printed_uri(client, headers, code: str) -> str:  # type: ignore[no-untyped-def]
    png = client.get(f"/api/v1/codes/{code}/qr.png", headers=headers)
    assert png.status_code == 200
    [text] = read_qr(Image.open(io.BytesIO(png.data)))
    return text


def test_a_gtin_batch_links_to_its_digital_link(client, build, token) -> None:
    org = build.organization()
    batch = build.batch(build.product(org, gtin=gtin13(4242)), lot_code="PQ/26/117")
    headers = token("inspector")
    body = client.get(f"/api/v1/batches/{batch.id}", headers=headers).json
    code = body["code"]
    assert isinstance(code, str) and len(code) >= 10
    public = body["links"]["public"]
    assert public == f"{BASE}/01/0{gtin13(4242)}/10/PQ%2F26%2F117"
    assert public == _printed_uri(client, headers, code)
    assert public == client.get(f"/api/v1/codes/{code}", headers=headers).json["uri"]
    page = client.get(_path(public) + "?lang=en")
    assert page.status_code == 200 and "PQ/26/117" in page.get_data(as_text=True)


def test_a_batch_without_gtin_links_to_its_short_code(client, build, token) -> None:
    batch = build.batch(build.product(build.organization()))
    headers = token("producer", batch.producer_id)
    body = client.get(f"/api/v1/batches/{batch.id}", headers=headers).json
    assert body["links"]["public"] == f"{BASE}/q/{body['code']}"
    assert body["links"]["public"] == _printed_uri(client, headers, body["code"])
    page = client.get(_path(body["links"]["public"]))
    assert page.status_code == 200 and batch.lot_code in page.get_data(as_text=True)


def test_create_list_and_update_answer_with_the_links_too(client, build, token) -> None:
    org = build.organization()
    product = build.product(org)
    headers = token("producer", org)
    created = client.post("/api/v1/batches", headers=headers, json={
        "product_id": product.id, "lot_code": "LN-NEW-1", "quantity": "10",
        "production_date": "2026-06-12"})  # fmt: skip
    assert created.status_code == 201, created.json
    code = created.json["code"]
    assert created.json["links"] == {"public": f"{BASE}/q/{code}"}
    changed = client.patch(f"/api/v1/batches/{created.json['id']}", headers=headers,
                           json={"quantity": "12"})  # fmt: skip
    assert changed.status_code == 200 and changed.json["code"] == code
    assert changed.json["links"]["public"] == f"{BASE}/q/{code}"
    listed = client.get(f"/api/v1/batches?product={product.id}", headers=headers).json["items"]
    assert [(b["code"], b["links"]["public"]) for b in listed] == [(code, f"{BASE}/q/{code}")]


def test_a_voided_batch_code_is_not_linked(client, build, token) -> None:
    batch = build.batch(build.product(build.organization()))
    gtin_batch = build.batch(build.product(build.organization(), gtin=gtin13(4343)))
    admin = token("admin")
    for b in (batch, gtin_batch):
        code = client.get(f"/api/v1/batches/{b.id}", headers=admin).json["code"]
        voided = client.post(f"/api/v1/codes/{code}/void", headers=admin, json={"reason": "test"})
        assert voided.status_code == 200, voided.json
    plain = client.get(f"/api/v1/batches/{batch.id}", headers=admin).json
    assert plain["code"] is None and plain["links"] == {"public": None}
    # The Digital Link names the lot, not the code: it still leads to the batch's page.
    linked = client.get(f"/api/v1/batches/{gtin_batch.id}", headers=admin).json
    assert linked["code"] is None
    assert linked["links"]["public"] == f"{BASE}/01/0{gtin13(4343)}/10/{gtin_batch.lot_code}"
    assert client.get(_path(linked["links"]["public"])).status_code == 200


def test_listing_costs_the_same_queries_for_5_or_40_batches(app, client, build, token) -> None:
    headers = token("inspector")
    counts = []
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    for total in (5, 40):
        org = build.organization()
        # Products in proportion too: a lazy load per product would also grow with the page.
        products = [
            build.product(org, gtin=gtin13(5000 + total + i)) if i % 2 else build.product(org)
            for i in range(total // 2)
        ]
        for i in range(total):
            build.batch(products[i % len(products)])
        statements.clear()
        engine = db.engine_for(app)
        event.listen(engine, "before_cursor_execute", seen)
        try:
            items = client.get(f"/api/v1/batches?producer={org.id}&limit=500", headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert len(items.json["items"]) == total
        assert all(b["code"] and b["links"]["public"] for b in items.json["items"])
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
