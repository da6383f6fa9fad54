"""The printable reports (audit, recall impact) write dates as people in Vietnam do:
dd/mm/yyyy and HH:MM, with the UTC offset; never an ISO date or Babel's "8 thg 6, 2026"."""

from __future__ import annotations

import re

from tests.api.inspection_support import build_chain
from tests.public.test_page import visible

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
WORDED_VI = re.compile(r"\d{1,2} thg \d{1,2}")
NUMERIC_MOMENT = r"\d{2}/\d{2}/\d{4} \d{2}:\d{2} \(UTC\+07:00\)"


def _visible(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = visible(response.data)
    return re.sub(r"ni:///\S+", " ", page)  # event IDs are hashes, not dates


def test_audit_report_dates(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    inspector = token("inspector")
    recall = client.post("/api/v1/recalls", headers=inspector, json={
        "batches": [chain["a"].id], "reason": "Kiểm tra", "include_downstream": False})  # fmt: skip
    assert recall.status_code == 201, recall.json
    page = _visible(
        client.get(f"/api/v1/batches/{chain['a'].id}/audit?format=html", headers=inspector)
    )
    assert "12/06/2026" in page  # production date (the builder's default)
    assert "08/06/2026 05:30 (UTC+07:00)" in page  # harvest, in the event's own offset
    assert "09/06/2026 15:00 (UTC+07:00)" in page  # receipt
    recorded = re.findall(NUMERIC_MOMENT, page)
    assert len(recorded) >= 2 * 5 + 1, recorded  # event and record times, the report's own
    assert re.search(r"Thu hồi / Recall #\d+ \(\d{2}/\d{2}/\d{4}\)", page), page
    assert not ISO_DATE.search(page), ISO_DATE.search(page)
    assert not WORDED_VI.search(page)


def test_impact_report_dates(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    inspector = token("inspector")
    made = client.post("/api/v1/recalls", headers=inspector, json={
        "batches": [chain["a"].id], "reason": "Kiểm tra", "include_downstream": True})  # fmt: skip
    assert made.status_code == 201, made.json
    client.post(f"/api/v1/recalls/{made.json['id']}/close", headers=inspector,
                json={"note": "Đã xử lý"})  # fmt: skip
    page = _visible(
        client.get(f"/api/v1/recalls/{made.json['id']}/impact?format=html", headers=inspector)
    )
    assert "15/06/2026" in page and "20/06/2026" in page  # production dates of B and C
    assert "09/06/2026 – 09/06/2026" in page  # A shipped to and received at Long Biên
    assert re.search("Ban hành / issued " + NUMERIC_MOMENT, page), page
    assert re.search(r"đóng / closed \d{2}/\d{2}/\d{4}", page), page
    assert not ISO_DATE.search(page), ISO_DATE.search(page)
    assert not WORDED_VI.search(page)
