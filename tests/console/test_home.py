"""The producer's home and lists: their organisation's products, batches (status and counts of
events, codes, scans) and facilities; searchable without diacritics, paginated; another
organisation's rows stay out; names render inert."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from trace.api.event_schemas import StageForm
from trace.models import Scan, User
from trace.services.actors import SYSTEM
from trace.services.events import stages


@pytest.fixture
def own(build: Any) -> dict[str, Any]:
    org = build.organization(name="Hợp tác xã Phượng Sơn")
    product = build.product(org, name_vi="Vải thiều Lục Ngạn", name_en="Luc Ngan lychee")
    return {
        "org": org,
        "product": product,
        "facility": build.facility(org, name="Vườn vải Đồi Thông"),
        "batch": build.batch(product, lot_code="LN-OWN-1"),
    }


@pytest.fixture
def foreign(build: Any) -> dict[str, Any]:
    org = build.organization(name="Hợp tác xã Hàng Xóm", province_code="01")
    product = build.product(org, name_vi="Cam Cao Phong")
    return {
        "org": org,
        "product": product,
        "facility": build.facility(org, name="Vườn cam Hàng Xóm"),
        "batch": build.batch(product, lot_code="CP-FOREIGN-1"),
    }


@pytest.fixture
def producer(make_user: Any, own: dict[str, Any]) -> User:
    return make_user("producer", own["org"])


def _text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


def test_the_home_shows_the_organisations_rows_and_nothing_of_another(
    producer: User, signed_in: Any, own: dict[str, Any], foreign: dict[str, Any]
) -> None:
    page = _text(signed_in(producer).get("/console/"))
    assert "Hợp tác xã Phượng Sơn" in page
    assert "LN-OWN-1" in page and "Vải thiều Lục Ngạn" in page and "Vườn vải Đồi Thông" in page
    assert "CP-FOREIGN-1" not in page and "Cam Cao Phong" not in page
    assert "Vườn cam Hàng Xóm" not in page


@pytest.mark.parametrize(
    "path,own_text,foreign_text",
    [
        ("/console/batches", "LN-OWN-1", "CP-FOREIGN-1"),
        ("/console/products", "Vải thiều Lục Ngạn", "Cam Cao Phong"),
        ("/console/facilities", "Vườn vải Đồi Thông", "Vườn cam Hàng Xóm"),
    ],
)
def test_each_list_keeps_to_the_producers_organisation(
    producer: User,
    signed_in: Any,
    own: Any,
    foreign: Any,
    path: str,
    own_text: str,
    foreign_text: str,
) -> None:
    page = _text(signed_in(producer).get(path))
    assert own_text in page
    assert foreign_text not in page


def test_a_batch_shows_its_status_and_counts(
    producer: User, signed_in: Any, own: dict[str, Any], session: Session
) -> None:
    batch = own["batch"]
    session.rollback()
    for stage in ("harvesting", "packing"):
        form = StageForm().load({"stage": stage, "time": "2026-06-12T08:00:00+07:00"})
        stages.record_stage(session, SYSTEM, batch.id, form, "https://trace.example.vn")
    session.add_all(Scan(batch_id=batch.id, client_hash=f"{i:064d}") for i in range(3))
    session.commit()
    page = _text(signed_in(producer).get("/console/batches"))
    row = page[page.index("LN-OWN-1") :][:1500]
    assert "Đang lưu hành" in row  # active
    assert "2 sự kiện" in row
    assert "1 mã" in row  # the batch-level code issued with it
    assert "3 lượt quét" in row


def test_search_ignores_diacritics(
    producer: User, signed_in: Any, own: dict[str, Any], build: Any
) -> None:
    other = build.product(own["org"], name_vi="Nước mắm Phú Quốc")
    build.batch(other, lot_code="NM-1")
    client = signed_in(producer)
    found = _text(client.get("/console/batches?q=vai thieu"))
    assert "LN-OWN-1" in found and "NM-1" not in found
    assert "Nước mắm" in _text(client.get("/console/products?q=nuoc mam"))
    assert "Vải thiều" not in _text(client.get("/console/products?q=nuoc mam"))
    assert "Đồi Thông" in _text(client.get("/console/facilities?q=doi thong"))


def test_lists_are_paginated(
    producer: User, signed_in: Any, own: dict[str, Any], build: Any
) -> None:
    for n in range(30):
        build.batch(own["product"], lot_code=f"PG{n:03d}")
    client = signed_in(producer)
    first = _text(client.get("/console/batches"))
    following = re.search(r'href="(/console/batches\?after=[^"]+)"', first)
    assert following, "no link to the next page"
    second = _text(client.get(following.group(1).replace("&amp;", "&")))
    first_lots = set(re.findall(r"PG\d{3}|LN-OWN-1", first))
    second_lots = set(re.findall(r"PG\d{3}|LN-OWN-1", second))
    assert len(first_lots) == 25 and first_lots.isdisjoint(second_lots)
    assert len(first_lots | second_lots) == 31


def test_a_bad_page_cursor_gets_a_friendly_page(producer: User, signed_in: Any, own: Any) -> None:
    response = signed_in(producer).get("/console/batches?after=%%%")
    assert response.status_code == 422
    assert "<html" in response.get_data(as_text=True)


ATTACKS = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>']


@pytest.mark.parametrize("attack", ATTACKS)
def test_names_render_inert_on_every_console_page(
    make_user: Any, signed_in: Any, build: Any, attack: str
) -> None:
    org = build.organization(name=f"HTX {attack}")
    product = build.product(org, name_vi=f"Vải {attack}", geographical_indication=attack)
    build.facility(org, name=f"Vườn {attack}", address=attack)
    build.batch(product, lot_code="XSS1")
    client = signed_in(make_user("producer", org, name=attack))
    for path in ("/console/", "/console/batches", "/console/products", "/console/facilities"):
        page = _text(client.get(path))
        assert attack not in page, path
        assert "<script>alert" not in page and "<img src=x" not in page, path
    assert "&lt;script&gt;" in page or "&#34;&gt;&lt;img" in page


@pytest.mark.parametrize("attack", ATTACKS)
def test_people_tokens_and_links_render_inert(
    app: Any, make_user: Any, signed_in: Any, build: Any, attack: str
) -> None:
    from tests.console.conftest import csrf_of

    centre_org = build.organization(kind="centre", name=f"TT {attack}")
    officer = make_user("centre", centre_org, name=attack)
    client = signed_in(officer)
    token = csrf_of(client.get("/console/account").get_data(as_text=True))
    created = client.post("/console/account/tokens", data={"csrf_token": token, "name": attack})
    invited = client.post(
        "/console/people/invite",
        data={"csrf_token": token, "name": attack, "email": "new@example.com", "role": "producer",
              "organization_id": str(centre_org.id)},
    )  # fmt: skip
    link = re.search(r"/console/welcome/[\w-]+", invited.get_data(as_text=True))
    assert link
    pages = [created, invited, client.get("/console/account"), client.get("/console/people"),
             app.test_client().get(link.group(0))]  # fmt: skip
    for response in pages:
        page = response.get_data(as_text=True)
        assert response.status_code in (200, 201), response.status_code
        assert attack not in page
        assert "<script>alert" not in page and "<img src=x" not in page
