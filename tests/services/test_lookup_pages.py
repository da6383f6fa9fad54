"""The verifier's bulk page data (:func:`lookup.batch_pages`) is the per-batch page data
(:func:`lookup.batch_page`), field by field, on varied batches: stages with places and
temperatures, a product made from inputs, EUDR plots upstream, a recall (open, and only in the
status), certificates of batch, product and producer, a producer other than the facility's."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.public.conftest import Chain, chain, recall, record  # noqa: F401  (fixtures)
from tests.public.test_eudr_page import farms  # noqa: F401  (a fixture)
from tests.public.test_passport import add_certificate
from trace.models import Batch, BatchStatus, Recall
from trace.services import lookup


def test_bulk_page_data_is_the_page_data_of_each_batch(
    client: FlaskClient,
    chain: Chain,  # noqa: F811
    farms: dict[str, Any],  # noqa: F811
    build: Any,
    session: Session,
    token: Callable[..., Any],
    recall: Callable[..., Recall],  # noqa: F811
) -> None:
    add_certificate(client, token, product_id=chain.product.id, kind="ocop", number="OCOP-1",
                    valid_from="2025-08-01", valid_to="2099-07-31", scope="4 sao")  # fmt: skip
    add_certificate(client, token, batch_id=chain.juice.id, kind="lab_test", number="LT-9")
    add_certificate(client, token, organization_id=farms["coop"].id, kind="organic",
                    number="ORG-3", valid_to="2020-01-01")  # fmt: skip
    recall(chain.juice, "nhiễm khuẩn")
    other = build.organization(name="Hợp tác xã khác")
    elsewhere = build.facility(other, name="Kho thuê", kind="cold_store")
    hired = build.batch(chain.product, lot_code="LN2606-B07")
    record(session, hired.id, stage="storing", time="2026-06-09T09:00:00+07:00",
           facility_id=elsewhere.id)  # fmt: skip
    silent = build.batch(chain.product, lot_code="LN2606-C01")  # no events at all
    session.rollback()
    status_only = session.get(Batch, silent.id)
    assert status_only is not None
    status_only.status = BatchStatus.RECALLED  # recalled without a recall row
    legacy = session.get(Batch, hired.id)
    assert legacy is not None
    legacy.origin_facility_id = elsewhere.id  # another's facility: a row older than the rule
    session.commit()

    ids = list(session.scalars(select(Batch.id).order_by(Batch.id)))
    assert len(ids) >= 8
    bulk = lookup.batch_pages(session, [*ids, 10**6])  # an id no batch has is left out
    assert sorted(bulk) == ids
    for batch_id in ids:
        one = lookup.batch_page(session, batch_id, verify=False)
        for name in (f.name for f in dataclasses.fields(lookup.PageData)):
            assert getattr(bulk[batch_id], name) == getattr(one, name), (batch_id, name)
    # What the varied batches do show, so the comparison is not one of empty pages.
    assert bulk[chain.juice.id].origins and bulk[chain.juice.id].recall is not None
    assert bulk[silent.id].recall == lookup.RecallInfo(None, None, True)
    assert bulk[farms["green"].id].eudr == {"plots": 3, "provinces": ["Đắk Lắk"]}
    assert [c["number"] for c in bulk[chain.juice.id].certificates] == ["LT-9"]
    assert bulk[chain.batch.id].stages[1].temperatures
    assert bulk[hired.id].origin_facility is not None
    assert bulk[hired.id].origin_facility.organization == "Hợp tác xã khác"
    assert lookup.batch_pages(session, []) == {}
