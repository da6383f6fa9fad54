"""The digital product passport on the public resolver (``linkType=gs1:dpp``) and the
certificates on the lookup page: validity around today, never an expired one shown as valid."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient

from tests.public.conftest import Chain
from trace.models import CodeStatus
from trace.services import lookup
from trace.services.passport import content, validity

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "passport.schema.json").read_text(encoding="utf-8")
)
JSON = {"Accept": "application/json"}
EN = {"Accept-Language": "en"}
LOT_URL = "/01/08936010510012/10/LN2606-A01"


def valid_passport(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/json"
    document: dict[str, Any] = response.get_json()
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    return document


def add_certificate(client: FlaskClient, token: Callable[..., Any], **body: Any) -> dict:
    body = {"kind": "vietgap", "number": "VG-24-0153", **body}
    response = client.post("/api/v1/certificates", json=body, headers=token("admin"))
    assert response.status_code == 201, response.json
    return dict(response.json)


def test_passport_at_the_digital_link(client: FlaskClient, chain: Chain, token) -> None:
    add_certificate(client, token, product_id=chain.product.id, kind="ocop", number="OCOP-1",
                    valid_from="2025-08-01", valid_to="2099-07-31", scope="4 sao")  # fmt: skip
    document = valid_passport(client.get(f"{LOT_URL}?linkType=gs1:dpp", headers=JSON))
    assert document["url"] == f"https://trace.example.vn{LOT_URL}?linkType=gs1:dpp"
    assert document["product"]["gtin"] == "08936010510012"
    assert document["product"]["origin"] == {
        "country": "VN", "province_code": "24", "province": "Bắc Ninh",
    }  # fmt: skip
    assert document["producer"]["identifier"] == {"scheme": "gln", "value": "8936010500013"}
    assert document["batch"]["lot"] == "LN2606-A01"
    assert document["batch"]["expiry_date"] == "2026-07-06"
    assert [s["name"]["en"] for s in document["traceability"]["stages"]] == [
        "Harvesting", "Storing", "Processing",  # the last one made juice of it
    ]  # fmt: skip
    kinds = {(c["holder"], c["kind"], c["status"]) for c in document["certificates"]}
    # the batch's free-text "VietGAP VG-24-0153" (no dates stated) and the product's OCOP
    assert kinds == {("batch", "vietgap", "not_stated"), ("product", "ocop", "valid")}
    missing = {m["field"] for m in document["completeness"]["missing"]}
    assert missing == {"/safety_warnings/vi"}  # the builder's product states none
    assert document["completeness"]["complete"] is False


def test_passport_of_a_product_without_gtin_at_its_short_code(
    client: FlaskClient, chain: Chain
) -> None:
    document = valid_passport(client.get(f"/q/{chain.juice_code}?linkType=gs1:dpp", headers=JSON))
    assert document["url"] == f"https://trace.example.vn/q/{chain.juice_code}?linkType=gs1:dpp"
    assert document["product"]["gtin"] is None
    assert document["batch"]["lot"] == "NV-01"
    missing = {m["field"] for m in document["completeness"]["missing"]}
    assert missing == {"/product/gtin", "/certificates", "/safety_warnings/vi"}


def test_a_browser_asking_for_the_passport_gets_the_page(client: FlaskClient, chain: Chain) -> None:
    response = client.get(f"{LOT_URL}?linkType=gs1:dpp", headers={"Accept": "text/html,*/*"})
    assert response.status_code == 200 and response.mimetype == "text/html"


def test_the_linkset_announces_the_passport(client: FlaskClient, chain: Chain) -> None:
    linkset = client.get(f"{LOT_URL}?linkType=linkset").get_json()["linkset"]
    lot_level = linkset[0]
    assert lot_level["https://ref.gs1.org/voc/dpp"][0]["href"].endswith(
        f"{LOT_URL}?linkType=gs1:dpp"
    )
    assert "https://ref.gs1.org/voc/dpp" not in linkset[-1]  # the GTIN level has no passport
    described = client.get("/.well-known/gs1resolver").get_json()
    assert "gs1:dpp" in described["linkTypes"]


def test_a_voided_code_has_no_passport(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str]
) -> None:
    voided = unit_code(chain.batch, CodeStatus.VOIDED)
    response = client.get(f"/q/{voided}?linkType=gs1:dpp", headers=JSON)
    assert response.status_code == 410
    assert response.get_json()["passport"] is None


def _certificate_items(html: bytes) -> dict[str, str]:
    """The page's certificate list: number -> the item's class and visible text."""
    section = html.decode().split('id="certificates"', 1)[1].split("</section>", 1)[0]
    items = {}
    for cls, body in re.findall(r'<li class="([^"]+)">(.*?)</li>', section, flags=re.S):
        number = re.search(r'<span class="code">([^<]+)</span>', body)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
        items[number.group(1) if number else text] = f"{cls} | {text}"
    return items


def test_validity_around_today(client: FlaskClient, chain: Chain, token) -> None:
    today = validity.today()
    one = dt.timedelta(days=1)
    product = chain.product.id
    add_certificate(client, token, product_id=product, number="LAST-DAY",
                    valid_from=str(today - 30 * one), valid_to=str(today))  # fmt: skip
    add_certificate(client, token, product_id=product, number="LAPSED",
                    valid_from=str(today - 30 * one), valid_to=str(today - one))  # fmt: skip
    add_certificate(client, token, product_id=product, number="FUTURE",
                    valid_from=str(today + one), valid_to=str(today + 30 * one))  # fmt: skip

    document = valid_passport(client.get(f"{LOT_URL}?linkType=gs1:dpp", headers=JSON))
    statuses = {c["number"]: c["status"] for c in document["certificates"]}
    assert statuses == {
        "VG-24-0153": "not_stated", "LAST-DAY": "valid", "LAPSED": "expired",
        "FUTURE": "not_yet_valid",
    }  # fmt: skip
    page_json = client.get(LOT_URL, headers=JSON).get_json()
    assert {c["number"]: c["status"] for c in page_json["certificates"]} == statuses

    items = _certificate_items(client.get(LOT_URL, headers=EN).data)
    assert items["LAST-DAY"].startswith("cert-valid |") and "Valid until" in items["LAST-DAY"]
    assert items["LAPSED"].startswith("cert-expired |")
    assert "Expired on" in items["LAPSED"] and "Valid" not in items["LAPSED"]
    assert items["FUTURE"].startswith("cert-not_yet_valid |") and "Not yet valid" in items["FUTURE"]
    assert "Validity not stated" in items["VG-24-0153"]
    vietnamese = _certificate_items(client.get(LOT_URL).data)
    assert "Đã hết hiệu lực" in vietnamese["LAPSED"] and "Còn hiệu lực" not in vietnamese["LAPSED"]


def test_a_certificate_lapsing_overnight_is_not_served_from_yesterdays_copy(
    client: FlaskClient, chain: Chain, token, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page and its ETag are keyed by the day: the copy rendered on a certificate's last day
    (and a client's conditional request with its ETag) never outlives that day."""
    today = validity.today()
    yesterday = today - dt.timedelta(days=1)
    start = today - dt.timedelta(days=30)
    add_certificate(client, token, product_id=chain.product.id, number="ENDS-YESTERDAY",
                    valid_from=str(start), valid_to=str(yesterday))  # fmt: skip
    with monkeypatch.context() as patched:
        for module in (lookup, content):
            patched.setattr(module, "today", lambda: yesterday)
        then = client.get(LOT_URL, headers=EN)
        assert "cert-valid" in _certificate_items(then.data)["ENDS-YESTERDAY"]
        passport_then = client.get(f"{LOT_URL}?linkType=gs1:dpp", headers=JSON).get_json()
        assert passport_then["certificates"][-1]["status"] == "valid"
    now = client.get(LOT_URL, headers={**EN, "If-None-Match": then.headers["ETag"]})
    assert now.status_code == 200  # not 304: the day changed what the page says
    assert _certificate_items(now.data)["ENDS-YESTERDAY"].startswith("cert-expired |")
    passport_now = client.get(f"{LOT_URL}?linkType=gs1:dpp", headers=JSON).get_json()
    assert passport_now["certificates"][-1]["status"] == "expired"


def test_a_new_certificate_shows_at_once(client: FlaskClient, chain: Chain, token) -> None:
    first = client.get(LOT_URL, headers=EN)
    assert "FRESH-1" not in first.data.decode()
    add_certificate(client, token, organization_id=chain.product.organization_id,
                    number="FRESH-1", valid_from="2026-01-01", valid_to="2099-01-01")  # fmt: skip
    again = client.get(LOT_URL, headers={**EN, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and "FRESH-1" in again.data.decode()


def test_certificate_text_is_escaped(client: FlaskClient, chain: Chain, token) -> None:
    add_certificate(client, token, product_id=chain.product.id, number="XSS-1",
                    scope='<script>alert("x")</script>', issuer="<b>Cục</b>",
                    document_url="https://example.vn/a?b=1&c=<2>")  # fmt: skip
    html = client.get(LOT_URL).data.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<b>Cục</b>" not in html and "&lt;b&gt;Cục&lt;/b&gt;" in html


def test_safety_warning_and_origin_on_the_page(client: FlaskClient, chain: Chain, token) -> None:
    changed = client.patch(
        f"/api/v1/products/{chain.product.id}",
        json={"safety_warning_vi": "Rửa sạch trước khi ăn.", "safety_warning_en": "Wash first.",
              "origin_province_code": "19"},
        headers=token("admin"),
    )  # fmt: skip
    assert changed.status_code == 200, changed.json
    assert "Rửa sạch trước khi ăn." in client.get(LOT_URL).data.decode()
    english = client.get(LOT_URL, headers=EN).data.decode()
    assert "Wash first." in english and "Thái Nguyên, VN" in english
    document = valid_passport(client.get(f"{LOT_URL}?linkType=gs1:dpp", headers=JSON))
    assert document["safety_warnings"] == {"vi": "Rửa sạch trước khi ăn.", "en": "Wash first."}
    assert document["product"]["origin"]["province"] == "Thái Nguyên"
