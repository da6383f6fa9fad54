"""Recording a stage in the console: the API's stage form fields, the same EPCIS event as
``POST /api/v1/batches/{id}/events`` (same hash ID), its hash ID shown; defaults (now in
+07:00, the last facility used); a processing step with three inputs; more rows without
JavaScript; another organisation's batch, facility or input out of reach; nothing half-written."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.console.producer_world import Side, post_form, side, text
from trace.epcis import cbv
from trace.models import BatchLink, Event

STAGE_KEYS = ["harvesting", "packing", "storing", "shipping", "receiving", "processing",
              "retail_selling"]  # fmt: skip


@pytest.fixture
def own(build: Any) -> Side:
    return side(build, "HTX Phượng Sơn", "24", "OWN-1")


@pytest.fixture
def foreign(build: Any) -> Side:
    return side(build, "HTX Hàng Xóm", "01", "FOREIGN-1")


@pytest.fixture
def client(make_user: Any, signed_in: Any, own: Side) -> Any:
    return signed_in(make_user("producer", own.org))


def stage_url(batch_id: int, stage: str | None = None) -> str:
    return f"/console/batches/{batch_id}/stage" + (f"?stage={stage}" if stage else "")


def record(client: Any, batch_id: int, stage: str, **fields: Any) -> Any:
    return post_form(client, stage_url(batch_id, stage), stage_url(batch_id),
                     {"stage": stage, **fields})  # fmt: skip


def events(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def test_the_stage_choice_offers_the_producers_stages(client: Any, own: Side) -> None:
    page = text(client.get(stage_url(own.batch.id)))
    for key in STAGE_KEYS:
        assert f"stage={key}" in page
    assert "Thu hoạch" in page and "Đóng gói" in page


def test_the_form_defaults_to_now_in_vietnam_and_the_last_facility(client: Any, own: Side) -> None:
    page = text(client.get(stage_url(own.batch.id, "packing")))
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=7)))
    assert f'value="{now:%Y-%m-%dT}' in page  # today's date, Vietnam time
    # nothing recorded yet: the place the batch comes from
    assert re.findall(r'<option value="(\d+)" selected>', page) == [str(own.farm.id)]
    assert record(client, own.batch.id, "packing", facility_id=own.packing.id).status_code == 303
    page = text(client.get(stage_url(own.batch.id, "storing")))
    assert f'<option value="{own.packing.id}" selected>' in page


def test_a_stage_is_the_same_event_the_api_makes_and_its_hash_is_shown(
    client: Any, own: Side, token: Any, session: Session
) -> None:
    fields = {"time": "2026-06-21T06:30", "facility_id": own.farm.id, "quantity": "1250",
              "unit": "KGM", "note": "Hái sáng sớm", "temperatures-0-time": "2026-06-21T06:00",
              "temperatures-0-celsius": "24.5", "documents-0-type": "po",
              "documents-0-number": "PO-7"}  # fmt: skip
    response = record(client, own.batch.id, "harvesting", **fields)
    assert response.status_code == 303, text(response).split("<main>")[1][:2000]
    session.rollback()
    event = session.scalars(select(Event)).one()
    assert event.biz_step == cbv.EXTENSION_NS + "harvesting"
    assert event.document["eventTime"] == "2026-06-21T06:30:00+07:00"
    assert event.document["trace:note"] == "Hái sáng sớm"
    assert event.captured_by_organization_id == own.org.id
    assert parse_qs(urlsplit(response.location).query)["recorded"] == [event.hash_id]
    page = text(client.get(response.location))
    assert event.hash_id in page and "Đã ghi: Thu hoạch" in page
    api = {"stage": "harvesting", "time": "2026-06-21T06:30:00+07:00",
           "facility_id": own.farm.id, "quantity": "1250", "unit": "KGM",
           "note": "Hái sáng sớm",
           "temperatures": [{"time": "2026-06-21T06:00:00", "celsius": 24.5}],
           "documents": [{"type": "po", "number": "PO-7"}]}  # fmt: skip
    same = client.post(f"/api/v1/batches/{own.batch.id}/events", json=api,
                       headers=token("producer", own.org))  # fmt: skip
    assert same.status_code == 200, same.json  # nothing new: the very same event
    assert same.json["events"][0]["hashID"] == event.hash_id


def test_shipping_to_a_partner_from_the_list(
    client: Any, own: Side, foreign: Side, session: Session
) -> None:
    page = text(client.get(stage_url(own.batch.id, "shipping")))
    partners = page[page.index('name="to_organization_id"') :].split("</select>")[0]
    assert f'<option value="{foreign.org.id}">' in partners and foreign.org.name in partners
    assert f'<option value="{own.org.id}">' not in partners
    response = record(client, own.batch.id, "shipping", to_organization_id=foreign.org.id,
                      time="2026-06-22T08:00")  # fmt: skip
    assert response.status_code == 303
    session.rollback()
    event = session.scalars(select(Event)).one()
    assert event.document["destinationList"][0]["destination"].endswith(f"/org/{foreign.org.id}")


def test_processing_takes_three_inputs(
    client: Any, own: Side, build: Any, session: Session
) -> None:
    inputs = [build.batch(own.product, lot_code=f"IN-{n}") for n in range(3)]
    output = build.batch(build.product(own.org, name_vi="Vải sấy"), lot_code="DRIED-1")
    fields: dict[str, Any] = {"time": "2026-06-23T09:00", "quantity": "300"}
    for n, batch in enumerate(inputs):
        fields[f"inputs-{n}-batch_id"] = batch.id
        fields[f"inputs-{n}-quantity"] = str(100 * (n + 1))
    page = text(client.get(stage_url(output.id, "processing")))
    assert all(f'<option value="{b.id}">' in page for b in inputs)
    response = record(client, output.id, "processing", **fields)
    assert response.status_code == 303, text(response).split("<main>")[1][:2000]
    session.rollback()
    event = session.scalars(select(Event)).one()
    assert event.event_type == "TransformationEvent"
    assert [i["quantity"] for i in event.document["inputQuantityList"]] == [100, 200, 300]
    links = session.execute(select(BatchLink.input_batch_id, BatchLink.output_batch_id)).all()
    assert sorted(links) == sorted((b.id, output.id) for b in inputs)


def test_more_input_rows_without_javascript_keep_what_was_typed(
    client: Any, own: Side, build: Any, session: Session
) -> None:
    url = stage_url(own.batch.id, "processing")
    assert text(client.get(url)).count('name="inputs-') == 6  # three rows of two fields
    other = build.batch(own.product, lot_code="IN-X")
    response = post_form(client, url, stage_url(own.batch.id), {
        "stage": "processing", "inputs-0-batch_id": other.id, "inputs-0-quantity": "12",
        "note": "giữ lại", "more": "inputs"})  # fmt: skip
    assert response.status_code == 200
    page = text(response)
    assert page.count('name="inputs-') == 12
    assert f'<option value="{other.id}" selected>' in page and 'value="12"' in page
    assert "giữ lại" in page
    assert events(session) == 0


def test_a_validation_error_keeps_the_typed_values_and_writes_nothing(
    client: Any, own: Side, session: Session
) -> None:
    response = record(client, own.batch.id, "packing", quantity="nhiều", note="ghi chú của tôi",
                      facility_id=own.packing.id, **{"temperatures-0-celsius": "4"})  # fmt: skip
    assert response.status_code == 422
    page = text(response)
    assert 'value="nhiều"' in page and "ghi chú của tôi" in page
    assert 'id="e-quantity"' in page and 'id="e-temperatures-0-time"' in page
    assert f'<option value="{own.packing.id}" selected>' in page
    assert events(session) == 0


def test_processing_without_inputs_says_so(client: Any, own: Side, session: Session) -> None:
    response = record(client, own.batch.id, "processing", quantity="5")
    assert response.status_code == 422
    assert 'id="e-inputs"' in text(response)
    assert events(session) == 0


def test_another_organisations_batch_is_out_of_reach(
    client: Any, own: Side, foreign: Side, session: Session
) -> None:
    assert client.get(stage_url(foreign.batch.id)).status_code == 403
    assert client.get(stage_url(foreign.batch.id, "packing")).status_code == 403
    response = post_form(client, stage_url(own.batch.id, "packing"), stage_url(foreign.batch.id),
                         {"stage": "packing"})  # fmt: skip
    assert response.status_code == 403
    assert foreign.batch.lot_code not in text(response)
    assert events(session) == 0


def test_another_organisations_facility_or_input_is_refused(
    client: Any, own: Side, foreign: Side, session: Session
) -> None:
    response = record(client, own.batch.id, "packing", facility_id=foreign.packing.id)
    assert response.status_code == 422
    assert 'id="e-facility_id"' in text(response) and foreign.packing.name not in text(response)
    response = record(client, own.batch.id, "processing", **{
        "inputs-0-batch_id": foreign.batch.id, "inputs-0-quantity": "1"})  # fmt: skip
    assert response.status_code == 403
    assert foreign.batch.lot_code not in text(response)
    assert events(session) == 0


def test_csrf_missing_writes_nothing(client: Any, own: Side, session: Session) -> None:
    response = client.post(stage_url(own.batch.id), data={"stage": "packing"})
    assert response.status_code == 400
    assert events(session) == 0


def test_a_time_in_the_future_is_refused_on_the_page(
    client: Any, own: Side, session: Session
) -> None:
    """The console's stage page goes through the capture service's clock-skew rule."""
    later = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))) + dt.timedelta(days=2)
    response = record(client, own.batch.id, "harvesting", quantity="5",
                      time=later.strftime("%Y-%m-%dT%H:%M"), facility_id=own.farm.id)  # fmt: skip
    assert response.status_code == 422
    assert later.strftime("%Y-%m-%dT%H:%M") in text(response)
    assert "Thời điểm này ở tương lai" in text(response)
    assert events(session) == 0
