"""Scans of a producer's codes in the console (issue 12, item 6): per day, per province, first
and latest scans per code, the codes the copy warning flagged; another producer's scans stay
out; names render inert."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.api.inspection_support import add_codes, add_scans
from trace.services.scan_summary import VIETNAM

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def own(build: Any) -> dict[str, Any]:
    org = build.organization(name="Hợp tác xã Phượng Sơn")
    product = build.product(org, name_vi="Vải thiều Lục Ngạn")
    return {"org": org, "batch": build.batch(product, lot_code="LN-SCAN-1")}


@pytest.fixture
def foreign(build: Any) -> dict[str, Any]:
    org = build.organization(name="Hợp tác xã Hàng Xóm", province_code="01")
    product = build.product(org, name_vi="Cam Cao Phong")
    return {"org": org, "batch": build.batch(product, lot_code="CP-SCAN-1")}


@pytest.fixture
def scanned(session: Session, own: dict[str, Any], foreign: dict[str, Any]) -> None:
    mine = own["batch"].id
    calm, crowded = add_codes(session, mine, [("CALM01", "printed"), ("CROWD1", "printed")])
    [theirs] = add_codes(session, foreign["batch"].id, [("THEIR1", "printed")])
    scans: list[dict[str, Any]] = [
        # one shopper in Bắc Ninh, three days ago and today
        {"code_id": calm.id, "batch_id": mine, "at": NOW - dt.timedelta(days=3),
         "client_hash": "1" * 64, "province_code": "24"},
        {"code_id": calm.id, "batch_id": mine, "at": NOW - dt.timedelta(minutes=5),
         "client_hash": "1" * 64, "province_code": "24"},
    ]  # fmt: skip
    for i in range(6):  # six phones in Hà Nội within three hours: a copied label
        scans.append({"code_id": crowded.id, "batch_id": mine,
                      "at": NOW - dt.timedelta(hours=3, minutes=-30 * i),
                      "client_hash": f"{i}" * 64, "province_code": "01"})  # fmt: skip
    for i in range(7):  # another producer's copied label: never on our page
        scans.append({"code_id": theirs.id, "batch_id": foreign["batch"].id,
                      "at": NOW - dt.timedelta(hours=2, minutes=-10 * i),
                      "client_hash": f"{i}" * 64, "province_code": "79"})  # fmt: skip
    add_scans(session, scans)


def _page(client: Any, path: str = "/console/scans") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


def _section(page: str, name: str) -> str:
    start = page.index(f'id="{name}"')
    return page[start : page.index("</section>", start)]


def test_the_producer_sees_its_scans_per_day_province_and_code_and_the_flagged_code(
    make_user: Any, signed_in: Any, own: dict[str, Any], scanned: None
) -> None:
    page = _page(signed_in(make_user("producer", own["org"])), "/console/scans?lang=en")
    assert "8 scans" in page  # 2 + 6 of our own; the other producer's 7 are not counted
    flagged = _section(page, "flagged")
    assert "CROWD1" in flagged and "CALM01" not in flagged and "THEIR1" not in page
    assert "6 distinct clients within 24 h" in flagged
    provinces = _section(page, "per-province")
    assert re.search(r"Hà Nội</td><td class=\"n\">6<", provinces)
    assert re.search(r"Bắc Ninh</td><td class=\"n\">2<", provinces)
    assert "Hồ Chí Minh" not in provinces
    per_day = _section(page, "per-day")
    assert per_day.count("<tr>") == 31  # the header and 30 days
    three_days_ago = (NOW - dt.timedelta(days=3)).astimezone(VIETNAM).date()
    assert three_days_ago.strftime("%-d") in per_day
    codes = _section(page, "codes")
    assert codes.index("CALM01") < codes.index("CROWD1")  # latest scan first
    calm = codes[codes.index("CALM01") :][:600]
    assert "2 scans" in calm and "First scan" in calm and "Latest scan" in calm


def test_a_period_of_seven_days_and_another_producer_sees_none_of_ours(
    make_user: Any, signed_in: Any, foreign: dict[str, Any], scanned: None
) -> None:
    page = _page(signed_in(make_user("producer", foreign["org"])), "/console/scans?days=7&lang=en")
    assert "7 scans" in page and "THEIR1" in _section(page, "flagged")
    assert "CROWD1" not in page and "CALM01" not in page
    assert _section(page, "per-day").count("<tr>") == 8


@pytest.mark.parametrize(
    "role,province,sees_ours,sees_theirs",
    [("centre", "24", True, False), ("centre", "01", False, True), ("inspector", None, True, True),
     ("admin", None, True, True)],
)  # fmt: skip
def test_centres_see_their_province_and_inspectors_everything(
    make_user: Any,
    signed_in: Any,
    build: Any,
    scanned: None,
    role: str,
    province: str | None,
    sees_ours: bool,
    sees_theirs: bool,
) -> None:
    org = (
        None
        if role == "admin"
        else build.organization(kind="centre", province_code=province or "24")
    )
    page = _page(signed_in(make_user(role, org, province=province)))
    assert ("CROWD1" in page) == sees_ours
    assert ("THEIR1" in page) == sees_theirs


@pytest.mark.parametrize(
    "attack", ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>']
)
def test_names_render_inert(
    make_user: Any, signed_in: Any, build: Any, session: Session, attack: str
) -> None:
    org = build.organization(name=f"HTX {attack}")
    batch = build.batch(build.product(org, name_vi=f"Vải {attack}"), lot_code="XSS-2")
    [code] = add_codes(session, batch.id, [("XSSC01", "printed")])
    add_scans(session, [{"code_id": code.id, "batch_id": batch.id, "at": NOW,
                         "province_code": "24"}])  # fmt: skip
    page = _page(signed_in(make_user("producer", org, name=attack)))
    assert "XSSC01" in page
    assert attack not in page and "<script>alert" not in page and "<img src=x" not in page


def test_a_user_with_no_scans_sees_an_empty_page(
    make_user: Any, signed_in: Any, own: dict[str, Any]
) -> None:
    page = _page(signed_in(make_user("producer", own["org"])), "/console/scans?days=nonsense")
    assert "0 lượt quét" in page and _section(page, "per-day").count("<tr>") == 31
