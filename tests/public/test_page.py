"""The lookup page: Circular 02 content, languages, codes, errors, caching."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests import seeds
from tests.public.conftest import Chain, record
from trace.models import CodeStatus, Scan

VI = {"Accept-Language": "vi-VN,vi;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def visible(html: bytes) -> str:
    body = html.decode()
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_page_shows_what_circular_02_asks_for(client: FlaskClient, chain: Chain) -> None:
    response = client.get(f"/q/{chain.code}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = visible(response.data)
    assert '<html lang="vi">' in response.data.decode()
    for expected in [
        chain.product.name_vi,  # product name
        "Hợp tác xã thử nghiệm",  # producer
        "Thôn Bến Cầu",  # its address
        "Bắc Ninh",  # province name, not code
        chain.code,  # the trace code
        "LN2606-A01",  # lot
        "Ngày sản xuất / thu hoạch",
        "06/07/2026",  # expiry as written in Vietnam
        "VietGAP",
        "OCOP 4 sao",
        "Chỉ dẫn địa lý Lục Ngạn",
        "Thu hoạch",  # Vietnamese stage names
        "Lưu kho",
        "Vườn vải Phượng Sơn",  # place of the stage
        "05:30",  # local time
        "UTC+07:00",
        "(01)08936010510012(10)LN2606-A01",  # the stage's product trace code
        "(414)8936010500112",  # and location code
        "2,9–4,8 °C",  # temperatures, Vietnamese decimals
        "Lịch sử đã được xác thực",
        "Báo cáo vấn đề",
    ]:
        assert expected in page, expected
    assert "<svg" in response.data.decode()  # image placeholder: no external asset
    assert "http://" not in re.sub(r'href="[^"]*"', "", response.data.decode()).replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert len(response.data) < 60_000


def test_english_by_query_or_accept_language(client: FlaskClient, chain: Chain) -> None:
    by_query = client.get(f"/q/{chain.code}?lang=en", headers=VI)
    by_header = client.get(f"/q/{chain.code}", headers=EN)
    for response in (by_query, by_header):
        page = visible(response.data)
        assert '<html lang="en">' in response.data.decode()
        assert "Harvesting" in page and "History verified" in page
        assert "Jul 6, 2026" in page
        assert "Luc Ngan lychee" in page
    assert "Vary" in by_header.headers and "Accept-Language" in by_header.headers["Vary"]


def test_code_is_tolerant_of_case_and_look_alikes(client: FlaskClient, chain: Chain) -> None:
    messy = chain.code.lower().replace("0", "o").replace("1", "l")
    messy = messy[:4] + "-" + messy[4:]
    assert client.get(f"/q/{messy}").status_code == 200


def test_one_step_back_to_the_origin_farm(client: FlaskClient, chain: Chain) -> None:
    page = visible(client.get(f"/q/{chain.juice_code}", headers=VI).data)
    assert "Nguyên liệu từ" in page
    assert "LN2606-A01" in page and "Vườn vải Phượng Sơn" in page


def test_unknown_and_invalid_codes_are_friendly_404s(
    client: FlaskClient, chain: Chain, rng: random.Random
) -> None:
    unknown = client.get(f"/q/{seeds.unit_code(rng)}")
    assert unknown.status_code == 404
    assert "Mã chưa được đăng ký" in visible(unknown.data)
    assert 'name="token"' in unknown.data.decode()  # and how to report it
    invalid = client.get("/q/ABC!", headers=EN)
    assert invalid.status_code == 404
    assert "not a valid code" in visible(invalid.data)
    typo = chain.code[:-2] + ("A" if chain.code[-2] != "A" else "B") + chain.code[-1]
    assert client.get(f"/q/{typo}").status_code == 404
    assert client.get("/nowhere", headers=EN).status_code == 404
    assert "Page not found" in visible(client.get("/nowhere", headers=EN).data)


def test_json_form(client: FlaskClient, chain: Chain) -> None:
    body = client.get(f"/q/{chain.code}", headers={"Accept": "application/json"}).get_json()
    assert body["code"] == chain.code
    assert body["batch"]["lot_code"] == "LN2606-A01"
    assert [s["name"]["vi"] for s in body["stages"]] == ["Thu hoạch", "Lưu kho", "Chế biến"]
    assert body["history_verified"] == {"ok": True, "checked": 3, "problem": None}
    assert body["recall"] is None


def test_recall_banner_shows_at_once(
    client: FlaskClient, chain: Chain, recall: Callable[..., Any]
) -> None:
    first = client.get(f"/q/{chain.code}")
    assert "Sản phẩm bị thu hồi" not in visible(first.data)
    recall(chain.batch, "Phát hiện dư lượng thuốc bảo vệ thực vật vượt ngưỡng")
    again = client.get(f"/q/{chain.code}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    page = visible(again.data)
    assert "Sản phẩm bị thu hồi: không sử dụng" in page
    assert "Phát hiện dư lượng thuốc bảo vệ thực vật vượt ngưỡng" in page
    assert page.index("Sản phẩm bị thu hồi") < page.index("Thông tin sản phẩm")
    status = client.get(f"/q/{chain.code}?linkType=gs1:recallStatus").get_json()
    assert status["recalled"] is True and "thuốc bảo vệ" in status["reason"]


def test_etag_304_and_new_event_shows_at_once(
    client: FlaskClient, chain: Chain, session: Session, count: Callable[[type], int]
) -> None:
    first = client.get(f"/q/{chain.code}")
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = client.get(f"/q/{chain.code}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert count(Scan) == 2  # a revalidation is still a person scanning
    record(session, chain.batch.id, stage="shipping", time="2026-06-09T05:00:00+07:00",
           facility_id=chain.cold_store.id)  # fmt: skip
    fresh = client.get(f"/q/{chain.code}", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert "Vận chuyển" in visible(fresh.data)


def test_tampered_event_is_not_verified(
    app: Any, client: FlaskClient, chain: Chain, session: Session
) -> None:
    session.execute(
        text("UPDATE event SET document = :doc WHERE seq = 1"),
        {"doc": '{"type": "ObjectEvent", "eventTime": "2026-06-08T05:30:00+07:00"}'},
    )
    session.commit()
    app.config["PUBLIC_CACHE_SECONDS"] = 0
    try:
        page = visible(client.get(f"/q/{chain.code}", headers=EN).data)
    finally:
        app.config["PUBLIC_CACHE_SECONDS"] = 60
    assert "History could not be verified" in page


def test_voided_code_says_so(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str]
) -> None:
    code = unit_code(chain.batch, CodeStatus.VOIDED)
    response = client.get(f"/q/{code}")
    assert response.status_code == 410
    assert "Mã này đã bị thu hồi" in visible(response.data)


def test_never_a_bare_500(app: Any, client: FlaskClient, chain: Chain, monkeypatch: Any) -> None:
    from trace.codeview import pageview

    def boom(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(pageview, "view_code", boom)
    response = client.get(f"/q/{chain.code}", headers=EN)
    assert response.status_code == 500
    assert "Something went wrong" in visible(response.data)
    assert "database on fire" not in response.data.decode()


def test_product_image_placeholder_and_resized(
    app: Any, client: FlaskClient, build: Any, tmp_path: Any
) -> None:
    from PIL import Image

    app.config["PRODUCT_IMAGE_DIR"] = str(tmp_path)
    try:
        Image.new("RGB", (2000, 1500), (200, 30, 30)).save(tmp_path / "vai.png")
        org = build.organization()
        product = build.product(org, image="vai.png")
        response = client.get(f"/img/product/{product.id}/320.jpg")
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        import io

        assert Image.open(io.BytesIO(response.data)).size[0] == 320
        other = build.product(org, image="https://example.com/x.jpg")
        assert client.get(f"/img/product/{other.id}/320.jpg").mimetype == "image/svg+xml"
        assert client.get(f"/img/product/{product.id}/999.jpg").status_code == 404
    finally:
        app.config["PRODUCT_IMAGE_DIR"] = None
