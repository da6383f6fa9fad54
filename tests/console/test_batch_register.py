"""Registering a batch in the console: the API's field names and schema, the same service;
expiry proposed from the shelf life; errors next to their fields with what was typed kept;
another organisation's product or facility refused; nothing half-written."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.console.producer_world import Side, post_form, side, text
from trace.models import AuditEntry, Batch, Code
from trace.services.registry import certificates

NEW = "/console/batches/new"


@pytest.fixture
def own(build: Any) -> Side:
    return side(build, "HTX Phượng Sơn", "24", "OWN-1")


@pytest.fixture
def foreign(build: Any) -> Side:
    return side(build, "HTX Hàng Xóm", "01", "FOREIGN-1")


@pytest.fixture
def client(make_user: Any, signed_in: Any, own: Side) -> Any:
    return signed_in(make_user("producer", own.org))


def _batches(session: Session, lot: str) -> list[Batch]:
    session.rollback()
    return list(session.scalars(select(Batch).where(Batch.lot_code == lot)))


def test_the_form_offers_own_products_and_proposes_the_expiry(
    client: Any, own: Side, foreign: Side
) -> None:
    chooser = text(client.get(NEW))
    assert own.product.name_vi in chooser and foreign.product.name_vi not in chooser
    page = text(client.get(f"{NEW}?product_id={own.product.id}"))
    assert 'name="lot_code"' in page and 'name="production_date"' in page
    assert 'name="certifications-0"' in page and 'name="origin_facility_id"' in page
    assert own.farm.name in page and foreign.farm.name not in page
    theirs = text(client.get(f"{NEW}?product_id={foreign.product.id}"))
    assert foreign.product.name_vi not in theirs
    assert f'<option value="{foreign.product.id}" selected>' not in theirs
    proposed = (dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()
                + dt.timedelta(days=10)).isoformat()  # fmt: skip
    assert proposed in page  # today + the product's 10 days of shelf life


def test_registering_a_batch(client: Any, own: Side, session: Session) -> None:
    response = post_form(client, NEW, NEW, {
        "product_id": own.product.id, "lot_code": "LN-2026-07", "production_date": "2026-06-20",
        "quantity": "850.5", "unit": "KGM", "origin_facility_id": own.farm.id,
        "certifications-0": "VietGAP", "certifications-1": "", "certifications-2": "OCOP 4 sao",
    })  # fmt: skip
    assert response.status_code == 303, text(response).split("<main>")[1][:3000]
    [batch] = _batches(session, "LN-2026-07")
    assert response.location == f"/console/batches/{batch.id}?registered=1"
    assert batch.producer_id == own.org.id and batch.origin_facility_id == own.farm.id
    assert batch.expiry_date == dt.date(2026, 6, 30)  # worked out from the shelf life
    held = certificates.certificates_for(session, batch_ids=[batch.id])
    assert [certificates.label(c) for c in held] == ["VietGAP", "OCOP 4 sao"]  # as records
    assert str(batch.quantity) in {"850.5", "850.500"}
    assert session.scalar(select(Code.id).where(Code.batch_id == batch.id)) is not None
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "batch",
                                 AuditEntry.entity_id == str(batch.id))
    ).one()  # fmt: skip
    assert audit.user_id is not None and audit.actor_organization_id == own.org.id
    page = text(client.get(response.location))
    assert "LN-2026-07" in page and "VietGAP" in page


def test_a_validation_error_keeps_what_was_typed_and_writes_nothing(
    client: Any, own: Side, session: Session
) -> None:
    response = post_form(client, NEW, NEW, {
        "product_id": own.product.id, "lot_code": "KEEP-ME", "production_date": "2026-06-20",
        "expiry_date": "2026-06-01", "quantity": "-3", "certifications-0": "VietGAP",
    })  # fmt: skip
    assert response.status_code == 422
    page = text(response)
    assert 'value="KEEP-ME"' in page and 'value="VietGAP"' in page and 'value="-3"' in page
    assert 'id="e-quantity"' in page and "Nhập số lượng lớn hơn 0." in page
    assert _batches(session, "KEEP-ME") == []


def test_service_errors_show_next_to_their_field(client: Any, own: Side, session: Session) -> None:
    response = post_form(client, NEW, NEW, {
        "product_id": own.product.id, "lot_code": "LATE", "production_date": "2026-06-20",
        "expiry_date": "2026-06-01", "quantity": "3",
    })  # fmt: skip
    assert response.status_code == 422
    assert 'id="e-expiry_date"' in text(response)
    assert _batches(session, "LATE") == []
    again = post_form(client, NEW, NEW, {
        "product_id": own.product.id, "lot_code": own.batch.lot_code,
        "production_date": "2026-06-20", "quantity": "3",
    })  # fmt: skip
    assert again.status_code == 409, text(again).split("<main>")[1][:1500]
    assert 'id="e-lot_code"' in text(again)
    assert "Mã lô này đã được dùng cho sản phẩm này." in text(again)


@pytest.mark.parametrize("field", ["product_id", "origin_facility_id"])
def test_another_organisations_product_or_facility_is_refused(
    client: Any, own: Side, foreign: Side, session: Session, field: str
) -> None:
    data = {"product_id": own.product.id, "lot_code": "STOLEN", "production_date": "2026-06-20",
            "quantity": "3", "origin_facility_id": own.farm.id}  # fmt: skip
    data[field] = foreign.product.id if field == "product_id" else foreign.farm.id
    response = post_form(client, NEW, NEW, data)
    assert response.status_code in (403, 422)
    assert _batches(session, "STOLEN") == []
    assert foreign.product.name_vi not in text(response)


def test_csrf_missing_writes_nothing(client: Any, own: Side, session: Session) -> None:
    data = {"product_id": own.product.id, "lot_code": "NOCSRF", "production_date": "2026-06-20",
            "quantity": "3"}  # fmt: skip
    response = client.post(NEW, data=data)
    assert response.status_code == 400
    assert _batches(session, "NOCSRF") == []
