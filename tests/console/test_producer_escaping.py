"""Names, lot codes, notes and explanations typed by someone else render inert on every page of
the producer's console: the batch forms, the stage forms (partners, input batches), the batch's
page (journey and record) and the correction form."""

from __future__ import annotations

from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.console.producer_world import post_form, text
from trace.models import Event

ATTACKS = [
    ('<script>alert("x")</script>', "<script>x</script>"),
    ('"><img src=x onerror=alert(1)>', '"><img/onerror=x>'),
]


@pytest.mark.parametrize(("attack", "lot"), ATTACKS)
def test_every_producer_page_renders_them_inert(
    make_user: Any, signed_in: Any, build: Any, session: Session, attack: str, lot: str
) -> None:
    org = build.organization(name=f"HTX {attack}", kind="producer")
    partner = build.organization(name=f"Đại lý {attack}", kind="distributor", province_code="01")
    product = build.product(org, name_vi=f"Vải {attack}", name_en=attack)
    farm = build.facility(org, name=f"Vườn {attack}", address=attack)
    batch = build.batch(product, lot_code=lot, origin_facility_id=farm.id)
    build.batch(product, lot_code="INPUT-1")
    client = signed_in(make_user("producer", org, name=attack))
    url = f"/console/batches/{batch.id}/stage"
    stage = {"stage": "packing", "time": "2026-06-21T10:00", "facility_id": farm.id, "note": attack}
    response = post_form(client, f"{url}?stage=packing", url, stage)
    assert response.status_code == 303
    session.rollback()
    event = session.scalars(select(Event)).one()
    correct = f"/console/batches/{batch.id}/events/{event.id}/correct"
    declared = post_form(
        client, correct, correct, {"reason": "incorrect_data", "explanation": attack}
    )
    assert declared.status_code == 303
    failed = post_form(client, f"{url}?stage=packing", url, {
        "stage": "packing", "quantity": attack, "note": attack})  # fmt: skip
    assert failed.status_code == 422
    pages = {
        "new": text(client.get("/console/batches/new")),
        "new product": text(client.get(f"/console/batches/new?product_id={product.id}")),
        "batch": text(client.get(f"/console/batches/{batch.id}")),
        "recorded": text(client.get(f"/console/batches/{batch.id}?recorded={attack}")),
        "stages": text(client.get(url)),
        "shipping": text(client.get(f"{url}?stage=shipping")),
        "processing": text(client.get(f"{url}?stage=processing")),
        "correct": text(client.get(correct)),
        "failed form": text(failed),
        "list": text(client.get("/console/batches")),
    }
    assert str(escape(partner.name)) in pages["shipping"]  # listed, escaped
    for name, page in pages.items():
        assert attack not in page and lot not in page, name
        assert "<script>alert" not in page and "<script>x" not in page, name
        assert "<img src=x" not in page and "<img/onerror" not in page, name
    assert str(escape(lot)) in pages["batch"] and str(escape(attack)) in pages["batch"]
    assert "&lt;script&gt;" in pages["failed form"] or "&#34;&gt;&lt;img" in pages["failed form"]
