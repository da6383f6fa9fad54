"""The public recall banner over a recall's life, with recalls issued and closed through the
recall API (and so the recall service), never written into the tables by the test.

These catch a lookup that forgets ``Recall.closed_at IS NULL`` (the banner outlives the recall)
or that only looks at batches recalled directly (a downstream batch shows no banner).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.http import http_date

from tests.public.conftest import Chain, record
from tests.public.test_page import visible
from trace.models import Batch, BatchStatus, Event, EventEpc, Organization, Product, Recall

BANNER_VI = "Sản phẩm bị thu hồi: không sử dụng"
BANNER_EN = "Recalled: do not use this product"
JSON = {"Accept": "application/json"}
#: The lychee lot's GS1 Digital Link: the same page, found by GTIN and lot instead of by code.
DIGITAL_LINK = "/01/08936010510012/10/LN2606-A01"


def issue(client: FlaskClient, headers: dict[str, str], batch_ids: list[int], reason: str,
          downstream: bool) -> dict[str, Any]:  # fmt: skip
    response = client.post(
        "/api/v1/recalls",
        headers=headers,
        json={"batches": batch_ids, "reason": reason, "include_downstream": downstream},
    )
    assert response.status_code == 201, response.json
    return response.json


def close(client: FlaskClient, headers: dict[str, str], recall_id: int) -> None:
    response = client.post(
        f"/api/v1/recalls/{recall_id}/close", headers=headers, json={"note": "Kiểm nghiệm lại đạt"}
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "closed"


def public(client: FlaskClient, code: str) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """The Vietnamese page, the English page, the JSON form and the recall status of a code
    (or of a Digital Link path)."""
    path = code if code.startswith("/") else f"/q/{code}"
    vi = client.get(path)
    en = client.get(f"{path}?lang=en")
    body = client.get(path, headers=JSON)
    status = client.get(f"{path}?linkType=gs1:recallStatus")
    for response in (vi, en, body, status):
        assert response.status_code == 200
    return visible(vi.data), visible(en.data), body.get_json(), status.get_json()


def assert_no_banner(client: FlaskClient, code: str) -> None:
    vi, en, body, status = public(client, code)
    assert BANNER_VI not in vi and BANNER_EN not in en
    assert body["recall"] is None
    assert status["recalled"] is False and status["reason"] is None and status["since"] is None


def assert_banner(client: FlaskClient, code: str, reason: str, direct: bool) -> None:
    vi, en, body, status = public(client, code)
    assert BANNER_VI in vi and reason in vi
    assert BANNER_EN in en and reason in en
    assert vi.index(BANNER_VI) < vi.index("Thông tin sản phẩm")
    assert body["recall"]["reason"] == reason and body["recall"]["direct"] is direct
    assert body["recall"]["since"]
    assert body["batch"]["status"] == "recalled"
    assert status["recalled"] is True and status["reason"] == reason and status["since"]


def test_closing_a_recall_removes_the_banner(client: FlaskClient, chain: Chain, token) -> None:
    inspector = token("inspector")
    assert_no_banner(client, chain.code)
    reason = "Phát hiện dư lượng thuốc bảo vệ thực vật vượt ngưỡng"
    recall = issue(client, inspector, [chain.batch.id], reason, downstream=False)
    assert_banner(client, chain.code, reason, direct=True)
    assert_no_banner(client, chain.juice_code)  # not downstream: the juice is not recalled
    close(client, inspector, recall["id"])
    assert_no_banner(client, chain.code)
    vi, _, body, _ = public(client, chain.code)
    assert body["batch"]["status"] == "active"
    assert "Thu hoạch" in vi  # the page itself is still there


def test_downstream_batch_shows_the_banner_until_closed(
    client: FlaskClient, chain: Chain, token
) -> None:
    """The juice was made from the lychee lot: a recall with downstream covers it indirectly."""
    inspector = token("inspector")
    reason = "Nghi nhiễm vi sinh vật trong quá trình sơ chế"
    recall = issue(client, inspector, [chain.batch.id], reason, downstream=True)
    assert {(b["lot_code"], b["direct"]) for b in recall["batches"]} == {
        ("LN2606-A01", True),
        ("NV-01", False),
    }
    assert_banner(client, chain.code, reason, direct=True)
    assert_banner(client, chain.juice_code, reason, direct=False)
    close(client, inspector, recall["id"])
    assert_no_banner(client, chain.juice_code)
    assert_no_banner(client, chain.code)


def test_banner_follows_the_recalls_still_open(client: FlaskClient, chain: Chain, token) -> None:
    """Two recalls of one lot: the banner names the latest open one; closing it shows the older
    one again; closing both removes the banner."""
    inspector = token("centre", province="24")
    older, newer = "Bao bì bị rách trong vận chuyển", "Dư lượng thuốc bảo vệ thực vật"
    first = issue(client, inspector, [chain.batch.id], older, downstream=True)
    for code in (chain.code, DIGITAL_LINK):  # pages seen (and kept) before the second recall
        assert_banner(client, code, older, direct=True)
    second = issue(client, inspector, [chain.batch.id], newer, downstream=False)
    assert_banner(client, DIGITAL_LINK, newer, direct=True)
    assert_banner(client, chain.code, newer, direct=True)
    assert_banner(client, chain.juice_code, older, direct=False)
    close(client, inspector, second["id"])
    assert_banner(client, DIGITAL_LINK, older, direct=True)
    assert_banner(client, chain.code, older, direct=True)
    assert_banner(client, chain.juice_code, older, direct=False)
    close(client, inspector, first["id"])
    assert_no_banner(client, chain.code)
    assert_no_banner(client, chain.juice_code)


def test_only_a_centre_of_the_lots_province_may_close_its_recall(
    client: FlaskClient, chain: Chain, token
) -> None:
    """Closing takes the banner down: a centre of another province may not, nor a producer."""
    reason = "Dư lượng thuốc bảo vệ thực vật"
    recall = issue(client, token("centre", province="24"), [chain.batch.id], reason, False)
    for outsider in (
        token("centre", province="01"),
        token("producer", chain.product.organization_id),
    ):
        refused = client.post(
            f"/api/v1/recalls/{recall['id']}/close", headers=outsider, json={"note": "Đóng"}
        )
        assert refused.status_code == 403, refused.json
    assert_banner(client, chain.code, reason, direct=True)
    close(client, token("centre", province="24"), recall["id"])
    assert_no_banner(client, chain.code)


def test_digital_link_etag_moves_with_its_own_batch_alone(
    client: FlaskClient, chain: Chain, build: Any, session: Session, token
) -> None:
    """The page's freshness (its ETag) counts the batch's own events and recalls only: another
    lot's events and recalls leave a client's copy valid (304); the lot's own event does not,
    and its time is the page's Last-Modified."""
    inspector = token("inspector")
    close(client, inspector, issue(client, inspector, [chain.batch.id], "Nhầm lô", False)["id"])
    first = client.get(DIGITAL_LINK, headers=JSON)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    other = build.batch(chain.product, lot_code="LN2606-B02", origin_facility_id=chain.orchard.id)
    record(session, other.id, stage="harvesting", time="2026-06-09T05:30:00+07:00",
           facility_id=chain.orchard.id, quantity="120")  # fmt: skip
    elsewhere = issue(client, inspector, [other.id], "Bao bì bị rách", downstream=False)
    assert client.get(DIGITAL_LINK, headers={**JSON, "If-None-Match": etag}).status_code == 304
    close(client, inspector, elsewhere["id"])
    assert client.get(DIGITAL_LINK, headers={**JSON, "If-None-Match": etag}).status_code == 304
    # The batch, product and producer last edited long ago: the lot's new event dates the page.
    session.rollback()
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    for model, row_id in ((Batch, chain.batch.id), (Product, chain.product.id),
                          (Organization, chain.product.organization_id)):  # fmt: skip
        session.execute(update(model).where(model.id == row_id).values(updated_at=long_ago))
    session.commit()
    record(session, chain.batch.id, stage="storing", time="2026-06-09T08:00:00+07:00",
           facility_id=chain.cold_store.id, quantity="1790")  # fmt: skip
    moved = client.get(DIGITAL_LINK, headers={**JSON, "If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    recorded = session.scalar(
        select(func.max(Event.record_time))
        .join(EventEpc, EventEpc.event_pk == Event.id)
        .where(EventEpc.batch_id == chain.batch.id)
    )
    assert recorded is not None
    assert moved.headers["Last-Modified"] == http_date(recorded)


def test_banner_names_the_latest_issued_recall(client: FlaskClient, chain: Chain, session: Session,
                                               token) -> None:  # fmt: skip
    """Latest by issue time, not by id: a recall whose row was numbered later (a slower
    transaction) but issued earlier does not hide the newer one."""
    inspector = token("inspector")
    newer = issue(client, inspector, [chain.batch.id], "Dư lượng thuốc", downstream=False)
    older = issue(client, inspector, [chain.batch.id], "Bao bì rách", downstream=False)
    session.rollback()
    issued = dt.datetime.fromisoformat(newer["created_at"]) - dt.timedelta(hours=1)
    session.execute(update(Recall).where(Recall.id == older["id"]).values(created_at=issued))
    session.commit()
    _, _, body, status = public(client, chain.code)
    assert body["recall"]["reason"] == "Dư lượng thuốc" and status["reason"] == "Dư lượng thuốc"
    # Issued at the same moment: the later numbered one (the recall status is read uncached).
    session.execute(update(Recall).where(Recall.id == newer["id"]).values(created_at=issued))
    session.commit()
    tied = client.get(f"/q/{chain.code}?linkType=gs1:recallStatus").get_json()
    assert tied["reason"] == "Bao bì rách"


def test_recall_status_of_a_batch_recalled_without_an_open_recall(
    client: FlaskClient, chain: Chain, session: Session
) -> None:
    """A batch whose status alone says recalled (no open recall names it) still answers
    recalled, with no reason to give."""
    session.rollback()
    session.execute(
        update(Batch).where(Batch.id == chain.batch.id).values(status=BatchStatus.RECALLED)
    )
    session.commit()
    _, _, body, status = public(client, chain.code)
    assert status["recalled"] is True and status["reason"] is None and status["since"] is None
    assert body["recall"] is not None and body["recall"]["reason"] is None
    assert body["recall"]["direct"] is True and body["recall"]["since"] is None
