"""Dates as people in Vietnam write them: 08/06/2026 and 05:30 on the Vietnamese page; the
English page keeps the month's name (Jun 8, 2026), which no reader can take the wrong way."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.public.conftest import Chain
from tests.public.test_page import EN, VI, visible

WORDED_VI = re.compile(r"\d{1,2} thg \d{1,2}")  # Babel's medium style: "8 thg 6, 2026"


def test_vietnamese_page_writes_dates_day_month_year(client: FlaskClient, chain: Chain) -> None:
    page = visible(client.get(f"/q/{chain.code}", headers=VI).data)
    assert "06/07/2026" in page  # expiry
    assert "12/06/2026" in page  # production date (the builder's default)
    assert "08/06/2026 05:30 (UTC+07:00)" in page  # the harvest, in its own offset
    assert "08/06/2026 11:30 (UTC+07:00)" in page
    assert not WORDED_VI.search(page), WORDED_VI.search(page)


def test_english_page_keeps_the_month_name(client: FlaskClient, chain: Chain) -> None:
    page = visible(client.get(f"/q/{chain.code}", headers=EN).data)
    assert "Jul 6, 2026" in page and "Jun 12, 2026" in page
    assert "Jun 8, 2026" in page and "5:30" in page and "UTC+07:00" in page
    assert not re.search(r"\b\d{2}/\d{2}/\d{4}\b", page)


def test_first_scan_and_recall_dates_are_numeric_in_vietnamese(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str], recall: Callable[..., object]
) -> None:
    code = unit_code(chain.batch)
    client.get(f"/q/{code}", headers=VI)
    recall(chain.batch, "Nghi nhiễm khuẩn")
    page = visible(client.get(f"/q/{code}", headers=VI).data)
    numeric = r"\d{2}/\d{2}/\d{4} \d{2}:\d{2} \(UTC\+07:00\)"
    assert re.search("Lần quét đầu tiên: " + numeric, page), page
    assert re.search("Thu hồi từ " + numeric, page), page
    assert not WORDED_VI.search(page)


def test_product_page_lists_lots_with_numeric_dates(client: FlaskClient, chain: Chain) -> None:
    page = visible(client.get(f"/01/{chain.product.gtin}", headers=VI).data)
    assert "LN2606-A01" in page and "12/06/2026" in page
    assert not WORDED_VI.search(page)
