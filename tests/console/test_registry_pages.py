"""The centre's registry pages: organisations, facilities and products registered, edited,
archived and taken out of the archive through the API's schemas and services; GS1 keys
checked as the API checks them; lists scoped to the province and searched without
diacritics; everything typed shown escaped; archived things keep their history and pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.console.registry_world import post
from trace.models import AuditEntry, Code, Facility, Organization, Product, User

ORG = {
    "kind": "producer",
    "name": "HTX Phượng Sơn",
    "tax_code": "2400123456",
    "province_code": "24",
    "address": "xã Phượng Sơn, tỉnh Bắc Ninh",
}


@pytest.fixture
def centre(build: Any, make_user: Any, signed_in: Any) -> Any:
    officer = make_user("centre", build.organization(kind="centre", name="Trung tâm 24"))
    return signed_in(officer)


def _id(response: Any) -> int:
    found = re.search(r"/console/organisations/(\d+)", response.location)
    assert found, response.location
    return int(found.group(1))


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _count(session: Any, model: Any) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(model)))


def test_a_centre_registers_edits_and_archives_an_organisation(centre: Any, session: Any) -> None:
    created = post(centre, "/console/organisations/new", ORG)
    assert created.status_code == 303
    org_id = _id(created)
    page = centre.get(created.location)
    assert "HTX Phượng Sơn" in _text(page) and "Đã lưu." in _text(page)

    edited = post(
        centre,
        f"/console/organisations/{org_id}/edit",
        {**ORG, "name": "HTX Phượng Sơn mới", "gln": "8930000000019", "phone": ""},
    )
    assert edited.status_code == 303
    session.rollback()
    org = session.get(Organization, org_id)
    assert (org.name, org.gln, org.phone) == ("HTX Phượng Sơn mới", "8930000000019", None)

    assert post(centre, f"/console/organisations/{org_id}/archive", {}).status_code == 303
    assert "Phượng Sơn" not in _text(centre.get("/console/organisations"))
    archived = _text(centre.get("/console/organisations?archived=1"))
    assert "HTX Phượng Sơn mới" in archived
    assert centre.get(f"/console/organisations/{org_id}").status_code == 200  # still readable
    assert post(centre, f"/console/organisations/{org_id}/unarchive", {}).status_code == 303
    assert "HTX Phượng Sơn mới" in _text(centre.get("/console/organisations"))
    session.rollback()
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "organization", AuditEntry.entity_id == str(org_id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "update", "archive", "unarchive"]


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("tax_code", "24001234", "Mã số thuế gồm 10 chữ số"),
        ("gln", "8930000000018", "Số kiểm tra sai: chữ số cuối phải là 9."),
        ("gln", "893000000001", "GLN gồm 13 chữ số."),
        ("province_code", "99", "Chọn một tỉnh, thành phố."),
        ("name", "", "Trường này là bắt buộc."),
    ],
)
def test_bad_keys_are_shown_next_to_their_field_and_nothing_is_written(
    centre: Any, session: Any, field: str, value: str, message: str
) -> None:
    before = _count(session, Organization)
    response = post(centre, "/console/organisations/new", {**ORG, field: value})
    assert response.status_code == 422
    body = _text(response)
    error = re.search(rf'<p class="error" id="e-{field}">([^<]+)</p>', body)
    assert error and message in error.group(1), body[-3000:]
    assert f'value="{ORG["address"]}"' in body  # what was typed is kept
    assert _count(session, Organization) == before


def test_a_gtin_is_checked_as_the_api_checks_it(centre: Any, build: Any, session: Any) -> None:
    org = build.organization(province_code="24")
    form = {"name_vi": "Vải thiều", "category": "fruit", "unit": "KGM"}
    wrong = post(
        centre, f"/console/organisations/{org.id}/products/new", {**form, "gtin": "8935000000012"}
    )
    assert wrong.status_code == 422
    assert "Số kiểm tra sai: chữ số cuối phải là 4." in _text(wrong)
    right = post(
        centre, f"/console/organisations/{org.id}/products/new", {**form, "gtin": "8935000000014"}
    )
    assert right.status_code == 303
    session.rollback()
    stored = session.scalar(select(Product.gtin).where(Product.organization_id == org.id))
    assert stored == "08935000000014"  # stored as GTIN-14, as through the API
    again = post(
        centre, f"/console/organisations/{org.id}/products/new", {**form, "gtin": "08935000000014"}
    )
    assert again.status_code == 422 and "Đã đăng ký" in _text(again)


def test_a_product_keeps_every_field_the_form_posts(centre: Any, build: Any, session: Any) -> None:
    org = build.organization(province_code="24")
    form = {
        "name_vi": "Nước mắm Phú Quốc",
        "name_en": "Phu Quoc fish sauce",
        "category": "condiment",
        "unit": "LTR",
        "ocop_stars": "4",
        "geographical_indication": "Phú Quốc",
        "standards-0": "TCVN 5107:2018",
        "standards-1": "HACCP",
        "standards-2": "",
        "shelf_life_days": "730",
        "description_vi": "Cá cơm và muối",
        "description_en": "Anchovy and salt",
        "origin_province_code": "91",
        "safety_warning_vi": "Chứa cá",
        "safety_warning_en": "Contains fish",
    }
    assert post(centre, f"/console/organisations/{org.id}/products/new", form).status_code == 303
    session.rollback()
    product = session.scalars(select(Product).where(Product.organization_id == org.id)).one()
    assert product.standards == ["TCVN 5107:2018", "HACCP"]
    assert (product.ocop_stars, product.shelf_life_days, product.origin_province_code) == (
        4,
        730,
        "91",
    )
    assert product.safety_warning_en == "Contains fish"
    # the edit form shows the values; clearing a field clears it
    page = _text(centre.get(f"/console/products/{product.id}/edit"))
    assert 'value="HACCP"' in page and '<option value="4" selected>' in page
    cleared = {**form, "ocop_stars": "", "standards-0": "", "standards-1": "", "name_en": ""}
    assert post(centre, f"/console/products/{product.id}/edit", cleared).status_code == 303
    session.rollback()
    product = session.get(Product, product.id)
    assert (product.ocop_stars, product.standards, product.name_en) == (None, [], None)


def test_a_facility_with_coordinates_and_a_plot(centre: Any, build: Any, session: Any) -> None:
    org = build.organization(province_code="24")
    form = {
        "kind": "plot",
        "name": "Lô 7",
        "address": "xã Lục Ngạn",
        "province_code": "24",
        "latitude": "21.387412",
        "longitude": "106.521299",
        "gln": "8930000000026",
    }
    response = post(centre, f"/console/organisations/{org.id}/facilities/new", form)
    assert response.status_code == 303, _text(response)[-2000:]
    session.rollback()
    facility = session.scalars(select(Facility).where(Facility.organization_id == org.id)).one()
    assert (facility.kind.value, str(facility.latitude)) == ("plot", "21.387412")
    bad = post(centre, f"/console/facilities/{facility.id}/edit", {**form, "latitude": "95"})
    assert bad.status_code == 422 and 'id="e-latitude"' in _text(bad)
    session.rollback()
    assert str(session.get(Facility, facility.id).latitude) == "21.387412"


def test_a_producer_manages_its_own_facilities_but_not_its_products(
    build: Any, make_user: Any, signed_in: Any
) -> None:
    org = build.organization(province_code="24")
    product = build.product(org)
    producer = signed_in(make_user("producer", org))
    page = _text(producer.get(f"/console/organisations/{org.id}"))
    assert f"/console/organisations/{org.id}/facilities/new" in page
    assert f"/console/products/{product.id}/edit" not in page
    assert f"/console/organisations/{org.id}/edit" not in page
    assert producer.get(f"/console/products/{product.id}/edit").status_code == 403


def test_lists_are_scoped_searched_without_diacritics_and_filtered_by_kind(
    centre: Any, build: Any, make_user: Any, signed_in: Any
) -> None:
    build.organization(kind="cooperative", name="HTX Phượng Sơn", province_code="24")
    build.organization(kind="distributor", name="Công ty Phân phối Bắc Giang", province_code="24")
    build.organization(kind="cooperative", name="HTX Phượng Hoàng Hà Nội", province_code="01")
    found = _text(centre.get("/console/organisations?q=phuong+son"))
    assert "HTX Phượng Sơn" in found and "Bắc Giang" not in found
    phuong = _text(centre.get("/console/organisations?q=PHUONG"))
    assert "HTX Phượng Sơn" in phuong and "Hà Nội" not in phuong  # another province's
    kinds = _text(centre.get("/console/organisations?kind=distributor"))
    assert "Bắc Giang" in kinds and "HTX Phượng Sơn" not in kinds
    inspector = signed_in(make_user("inspector"))
    assert "HTX Phượng Hoàng Hà Nội" in _text(inspector.get("/console/organisations?q=phuong"))
    # the dashboard's figures link to a province's list: it narrows, never widens
    hanoi = _text(inspector.get("/console/organisations?q=phuong&province=01"))
    assert "HTX Phượng Hoàng Hà Nội" in hanoi and "HTX Phượng Sơn" not in hanoi
    assert "Hà Nội" not in _text(centre.get("/console/organisations?province=01"))


def test_the_list_pages(centre: Any, build: Any) -> None:
    for n in range(27):
        build.organization(name=f"HTX số {n:02d}", province_code="24")
    first = _text(centre.get("/console/organisations"))
    assert "HTX số 00" in first and "HTX số 26" not in first
    after = re.search(r'href="(/console/organisations\?after=[^"]+)"', first)
    assert after, "no next page"
    second = _text(centre.get(after.group(1).replace("&amp;", "&")))
    assert "HTX số 26" in second and "HTX số 00" not in second


def test_what_people_typed_is_shown_escaped(centre: Any, build: Any, session: Any) -> None:
    evil = '<script>alert("x")</script>'
    org = build.organization(name=f"HTX {evil}", address=f"Thôn {evil}", province_code="24")
    build.facility(org, name=f"Vườn {evil}")
    build.product(org, name_vi=f"Vải {evil}", geographical_indication=evil, standards=[evil])
    product_id = session.scalar(select(Product.id).where(Product.organization_id == org.id))
    for path in (
        "/console/organisations",
        f"/console/organisations/{org.id}",
        f"/console/organisations/{org.id}/edit",
        f"/console/products/{product_id}/edit",
    ):
        body = _text(centre.get(path))
        assert "<script>alert" not in body, path
        assert "&lt;script&gt;" in body, path


@pytest.mark.committed  # the public page reads on connections of its own (PostgreSQL)
def test_an_archived_product_keeps_its_public_page_and_leaves_the_forms(
    centre: Any, build: Any, client: Any, session: Any, make_user: Any, signed_in: Any
) -> None:
    """Decided: an archived product or organisation is no longer offered (lists, the batch
    form) and takes no new batches, but labels already printed keep working: the public page
    of its batches shows it as before (its history is what consumers scan for)."""
    org = build.organization(province_code="24")
    product = build.product(org, name_vi="Vải thiều Lục Ngạn lưu trữ")
    batch = build.batch(product)
    code = session.scalar(select(Code.code).where(Code.batch_id == batch.id))
    assert post(centre, f"/console/products/{product.id}/archive", {}).status_code == 303
    assert post(centre, f"/console/organisations/{org.id}/archive", {}).status_code == 303
    public = client.get(f"/q/{code}")
    assert public.status_code == 200 and "Vải thiều Lục Ngạn lưu trữ" in _text(public)
    producer = signed_in(make_user("producer", org))
    assert "Vải thiều Lục Ngạn lưu trữ" not in _text(producer.get("/console/products"))
    detail = _text(centre.get(f"/console/organisations/{org.id}"))
    assert "Vải thiều Lục Ngạn lưu trữ" in detail and "Lấy ra khỏi lưu trữ" in detail
    assert f"/console/organisations/{org.id}/products/new" not in detail


def test_accounts_are_managed_from_the_organisation_page(
    centre: Any, build: Any, make_user: Any, session: Any
) -> None:
    org = build.organization(province_code="24")
    person = make_user("producer", org, name="Chị Lan")
    elsewhere = make_user("producer", build.organization(province_code="24"), name="Anh Nam")
    page = _text(centre.get(f"/console/organisations/{org.id}"))
    assert "Chị Lan" in page and "Anh Nam" not in page
    invited = post(
        centre,
        "/console/people/invite",
        {
            "email": "moi@example.com",
            "role": "producer",
            "organization_id": str(org.id),
            "name": "Người mới",
        },
        f"/console/organisations/{org.id}",
    )
    assert invited.status_code == 201 and "/console/welcome/" in _text(invited)
    session.rollback()
    new = session.scalars(select(User).where(User.email == "moi@example.com")).one()
    assert new.organization_id == org.id
    back = post(
        centre,
        f"/console/people/{person.id}/active",
        {"active": "0", "next": f"/console/organisations/{org.id}"},
    )
    assert back.status_code == 303 and back.location.endswith(f"/console/organisations/{org.id}")
    outside = post(
        centre,
        f"/console/people/{elsewhere.id}/active",
        {"active": "0", "next": "https://evil.example/"},
    )
    assert outside.status_code == 303 and outside.location.endswith("/console/people")
    session.rollback()
    assert session.get(User, person.id).active is False


def test_an_inspector_reads_every_province_and_changes_nothing(
    build: Any, make_user: Any, signed_in: Any
) -> None:
    org = build.organization(name="HTX Hà Nội", province_code="01")
    product = build.product(org)
    facility = build.facility(org)
    make_user("producer", org, name="Chị Hoa")
    inspector = signed_in(make_user("inspector"))
    page = _text(inspector.get(f"/console/organisations/{org.id}"))
    assert "HTX Hà Nội" in page and product.name_vi in page and facility.name in page
    assert "/edit" not in page and "/archive" not in page and "/new" not in page
    assert "Chị Hoa" not in page  # people are for those who manage them
    assert "/console/organisations/new" not in _text(inspector.get("/console/organisations"))
