"""Migration 0010_passport: batches' free-text certifications become certificate records (kind
``other`` where the text names no known scheme) and come back on downgrade; products get their
origin province from their brand owner. Run on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from trace import migrate
from trace.db import JSONType, db

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
TAX_CODE = "9900000010"
TEXTS = {
    "MIG-1": ["VietGAP VG-24-0153", "OCOP 4 sao", "Giấy chứng nhận ATTP số 12/2025"],
    "MIG-2": ["4C C4-0912", "4C C4-0912"],
    "MIG-3": [],
}

organization = sa.table(
    "organization", *(sa.column(c) for c in ("id", "kind", "name", "tax_code", "province_code",
                                             "address", "search_text", "created_at", "updated_at")),
)  # fmt: skip
product = sa.table(
    "product", *(sa.column(c) for c in ("id", "organization_id", "name_vi", "category", "unit",
                                        "search_text", "created_at", "updated_at",
                                        "origin_province_code")),
    sa.column("standards", JSONType),
)  # fmt: skip
batch = sa.table(
    "batch", *(sa.column(c) for c in ("id", "product_id", "producer_id", "lot_code", "quantity",
                                      "unit", "production_date", "status", "search_text",
                                      "created_at", "updated_at")),
    sa.column("certifications", JSONType),
)  # fmt: skip
certificate = sa.table(
    "certificate", *(sa.column(c) for c in ("batch_id", "kind", "number", "scope", "source_text",
                                            "valid_from", "valid_to", "id")),
)  # fmt: skip


def _before_passport(engine: sa.Engine) -> str:
    script = ScriptDirectory.from_config(migrate.alembic_config(engine))
    down = script.get_revision("0010_passport").down_revision
    assert isinstance(down, str)
    return down


@pytest.fixture
def engine(app: Any) -> Iterator[sa.Engine]:
    engine = db.engine_for(app)
    yield engine
    migrate.upgrade(engine)
    with engine.begin() as conn:  # the rows this test committed
        org_ids = sa.select(organization.c.id).where(organization.c.tax_code == TAX_CODE)
        batch_ids = sa.select(batch.c.id).where(batch.c.producer_id.in_(org_ids))
        conn.execute(sa.delete(certificate).where(certificate.c.batch_id.in_(batch_ids)))
        conn.execute(sa.delete(batch).where(batch.c.producer_id.in_(org_ids)))
        conn.execute(sa.delete(product).where(product.c.organization_id.in_(org_ids)))
        conn.execute(sa.delete(organization).where(organization.c.tax_code == TAX_CODE))


def test_certifications_to_records_and_back(engine: sa.Engine) -> None:
    migrate.downgrade(engine, _before_passport(engine))
    stamps = {"search_text": "", "created_at": NOW, "updated_at": NOW}
    with engine.begin() as conn:
        org_id = conn.execute(
            sa.insert(organization).values(kind="cooperative", name="HTX di trú", tax_code=TAX_CODE,
                                           province_code="24", address="Bắc Ninh", **stamps)
            .returning(organization.c.id)
        ).scalar_one()  # fmt: skip
        product_id = conn.execute(
            sa.insert(product).values(organization_id=org_id, name_vi="Vải", category="fruit",
                                            unit="KGM", standards=["VietGAP"], **stamps)
            .returning(product.c.id)
        ).scalar_one()  # fmt: skip
        for lot, texts in TEXTS.items():
            conn.execute(
                sa.insert(batch).values(product_id=product_id, producer_id=org_id, lot_code=lot,
                                        quantity=10, unit="KGM",
                                        production_date=dt.date(2026, 6, 8), status="active",
                                        certifications=texts, **stamps)
            )  # fmt: skip

    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(batch.c.lot_code, certificate.c.kind, certificate.c.number,
                      certificate.c.scope, certificate.c.source_text, certificate.c.valid_to)
            .join(batch, batch.c.id == certificate.c.batch_id)
            .where(batch.c.producer_id == org_id)
            .order_by(certificate.c.id)
        ).all()  # fmt: skip
        origin = conn.scalar(
            sa.select(product.c.origin_province_code).where(product.c.id == product_id)
        )
    assert [tuple(r) for r in rows] == [
        ("MIG-1", "vietgap", "VG-24-0153", None, "VietGAP VG-24-0153", None),
        ("MIG-1", "ocop", "", "4 sao", "OCOP 4 sao", None),
        ("MIG-1", "other", "", "Giấy chứng nhận ATTP số 12/2025",
         "Giấy chứng nhận ATTP số 12/2025", None),
        ("MIG-2", "4c", "C4-0912", None, "4C C4-0912", None),  # the repeat is one record
    ]  # fmt: skip
    assert origin == "24"

    migrate.downgrade(engine, _before_passport(engine))
    with engine.connect() as conn:
        back = dict(
            conn.execute(
                sa.select(batch.c.lot_code, batch.c.certifications).where(
                    batch.c.producer_id == org_id
                )
            ).all()
        )
    assert back == {
        "MIG-1": TEXTS["MIG-1"],
        "MIG-2": ["4C C4-0912"],
        "MIG-3": [],
    }
