"""A small supply chain for the public pages: a lychee lot with stages, a juice lot made from it,
and helpers for unit codes and recalls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.api.event_schemas import StageForm
from trace.labels.codes import new_unit_code
from trace.models import (
    Batch,
    BatchStatus,
    Code,
    CodeKind,
    CodeStatus,
    Facility,
    Product,
    Recall,
    RecallBatch,
)
from trace.services import stages
from trace.services.actors import SYSTEM

PUBLIC_URL = "https://trace.example.vn"


@dataclass
class Chain:
    product: Product
    batch: Batch
    code: str  # the lot's batch-level code
    juice: Batch
    juice_code: str
    orchard: Facility
    cold_store: Facility


def _batch_code(session: Session, batch_id: int) -> str:
    return session.scalars(
        select(Code.code).where(Code.batch_id == batch_id, Code.kind == CodeKind.BATCH)
    ).one()


def record(session: Session, batch_id: int, **form: Any) -> None:
    session.rollback()
    stages.record_stage(session, SYSTEM, batch_id, StageForm().load(form), PUBLIC_URL)
    session.commit()


@pytest.fixture
def chain(app: Flask, build: Any, session: Session) -> Chain:
    coop = build.organization(gln="8936010500013", phone="0204 3882 123")
    orchard = build.facility(coop, gln="8936010500112", name="Vườn vải Phượng Sơn")
    store = build.facility(coop, gln="8936010500334", name="Kho lạnh Phượng Sơn", kind="cold_store")
    product = build.product(
        coop, gtin="8936010510012", ocop_stars=4, standards=["VietGAP"],
        geographical_indication="Chỉ dẫn địa lý Lục Ngạn",
    )  # fmt: skip
    batch = build.batch(
        product, lot_code="LN2606-A01", origin_facility_id=orchard.id, expiry_date="2026-07-06",
        certifications=["VietGAP VG-24-0153"],
    )  # fmt: skip
    juice_product = build.product(coop, name_vi="Nước vải", name_en="Lychee juice", unit="LTR")
    juice = build.batch(juice_product, lot_code="NV-01")
    record(session, batch.id, stage="harvesting", time="2026-06-08T05:30:00+07:00",
           facility_id=orchard.id, quantity="1850", note="Thu hái sáng sớm")  # fmt: skip
    record(session, batch.id, stage="storing", time="2026-06-08T11:30:00+07:00",
           facility_id=store.id, quantity="1795",
           temperatures=[{"time": "2026-06-08T12:00:00+07:00", "celsius": 4.8},
                         {"time": "2026-06-08T16:00:00+07:00", "celsius": 2.9}])  # fmt: skip
    record(session, juice.id, stage="processing", time="2026-06-10T08:00:00+07:00",
           facility_id=store.id, quantity="500", inputs=[{"batch_id": batch.id}])  # fmt: skip
    return Chain(
        product, batch, _batch_code(session, batch.id), juice, _batch_code(session, juice.id),
        orchard, store,
    )  # fmt: skip


@pytest.fixture
def unit_code(session: Session) -> Callable[..., str]:
    """``unit_code(batch, status="printed")``: a serialised unit code of the batch."""

    def make(batch: Batch, status: CodeStatus = CodeStatus.PRINTED) -> str:
        session.rollback()
        text = new_unit_code()
        session.add(
            Code(code=text, kind=CodeKind.UNIT, batch_id=batch.id, status=status,
                 void_reason="misprint" if status is CodeStatus.VOIDED else None,
                 voided_at=dt.datetime.now(dt.UTC) if status is CodeStatus.VOIDED else None)
        )  # fmt: skip
        session.commit()
        return text

    return make


@pytest.fixture
def recall(session: Session) -> Callable[..., Recall]:
    """``recall(batch, reason)``: what issue 6's recall service writes, written directly."""

    def make(batch: Batch, reason: str) -> Recall:
        session.rollback()
        row = Recall(reason=reason, include_downstream=False)
        session.add(row)
        session.flush()
        session.add(RecallBatch(recall_id=row.id, batch_id=batch.id, direct=True))
        fresh = session.get(Batch, batch.id)
        assert fresh is not None
        fresh.status = BatchStatus.RECALLED
        session.commit()
        return row

    return make
