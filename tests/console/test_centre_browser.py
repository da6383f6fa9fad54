"""Issue 13's centre scenario in Debian's chromium, driven by Playwright, at 390×844 and
1280×800, against the app as served (``scripts/run.sh``: gunicorn with two workers and the job
worker, the demo data).

The demo centre officer signs in, registers a producer organisation (a GLN a digit short is
shown as an error by its field first), its orchard with coordinates and a product with a
photo, and invites a person of the new organisation from its page; the invited person opens
the link in a browser of their own, sets a password, is signed in, signs out and signs in
again with their phone number. The officer finds the organisation by typing its name without
diacritics. The product's public image URL serves the uploaded photo
(the JPEG is decoded: its size and colours). JavaScript is off: every step works without it,
and no page scrolls sideways. Screenshots of each step are kept in
``$TRACE_TEST_ARTIFACTS/console-centre`` (else a folder under pytest's tmp).
"""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.console.browser import VIEWPORTS, artifacts_folder, fits, served_chromium
from tests.served import Served
from trace.gs1.keys import check_digit

GREEN, ORANGE = (20, 160, 60), (240, 140, 20)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return artifacts_folder(tmp_path, "console-centre")


def _photo(path: Path) -> Path:
    """A 1200×900 photo: green on the left, orange on the right."""
    image = Image.new("RGB", (1200, 900), GREEN)
    image.paste(ORANGE, (600, 0, 1200, 900))
    image.save(path, format="JPEG", quality=90)
    return path


def _journey(app: Served, browser: Any, name: str, size: tuple[int, int], folder: Path) -> None:
    width, height = size
    options = {"viewport": {"width": width, "height": height}, "locale": "vi-VN",
               "java_script_enabled": False, "is_mobile": width < 500}  # fmt: skip
    context = browser.new_context(**options)
    page = context.new_page()
    step = iter(range(1, 100))

    def shot(label: str, on: Any = page) -> None:
        fits(on, width)
        on.screenshot(path=str(folder / f"{name}-{next(step):02d}-{label}.png"), full_page=True)

    tag = secrets.token_hex(3).upper()
    try:
        account = app.accounts["centre"]
        page.goto(app.base + "/console/sign-in")
        page.fill("#f-login", account["login"])
        page.fill("#f-password", account["password"])
        page.click("form:has(#f-password) button")
        assert urlsplit(page.url).path == "/console/", page.url
        shot("signed-in")

        page.click("nav.main a[href='/console/organisations']")
        page.click("a.button[href='/console/organisations/new']")
        org_name = f"HTX Vải thiều {name} {tag}"
        page.select_option("#f-kind", "producer")
        page.fill("#f-name", org_name)
        page.fill("#f-tax_code", f"{secrets.randbelow(10**9) + 10**9}")
        page.fill("#f-gln", "893000000001")  # a digit short: the error is shown by the field
        page.fill("#f-address", "Thôn Bến Cầu, xã Lục Ngạn")
        page.click("form[action='/console/organisations/new'] button")
        assert "GLN gồm 13 chữ số." in page.inner_text("#e-gln")
        assert page.input_value("#f-name") == org_name  # what was typed is kept
        shot("organisation-error")
        page.fill("#f-gln", "")
        shot("organisation-form")
        page.click("form[action='/console/organisations/new'] button")
        found = re.fullmatch(r"/console/organisations/(\d+)", urlsplit(page.url).path)
        assert found, page.url
        org_path = found.group(0)
        assert "Đã lưu." in page.inner_text("[role=status]")
        assert org_name in page.inner_text("h1")
        shot("organisation")

        page.click(f"a.button[href='{org_path}/facilities/new']")
        page.select_option("#f-kind", "orchard")
        page.fill("#f-name", f"Vườn vải {tag}")
        page.fill("#f-address", "Đồi Cấm, xã Lục Ngạn")
        page.fill("#f-latitude", "21.387412")
        page.fill("#f-longitude", "106.521299")
        shot("facility-form")
        page.click(f"form[action='{org_path}/facilities/new'] button")
        assert urlsplit(page.url).path == org_path, page.url
        assert f"Vườn vải {tag}" in page.inner_text("#facilities")
        shot("facility-registered")

        page.click(f"a.button[href='{org_path}/products/new']")
        page.fill("#f-name_vi", f"Vải thiều Lục Ngạn {tag}")
        page.fill("#f-name_en", f"Luc Ngan lychee {tag}")
        page.select_option("#f-category", "fruit")
        body = f"893{secrets.randbelow(10**9):09d}"
        page.fill("#f-gtin", body + check_digit(body))
        page.select_option("#f-ocop_stars", "4")
        page.fill("#f-geographical_indication", "Vải thiều Lục Ngạn")
        page.fill("#f-standards-0", "VietGAP")
        page.fill("#f-description_vi", "Vải thiều chín cây, hái sáng sớm.")
        page.fill("#f-description_en", "Tree-ripened lychee, picked at dawn.")
        page.set_input_files("#f-image", str(_photo(folder / f"{name}-photo.jpg")))
        shot("product-form")
        page.click(f"form[action='{org_path}/products/new'] button")
        assert urlsplit(page.url).path == org_path, page.url
        products = page.inner_text("#products")
        assert f"Vải thiều Lục Ngạn {tag}" in products and "Có ảnh" in products
        edit = page.get_attribute("#products a[href$='/edit']", "href")
        product_id = int(re.fullmatch(r"/console/products/(\d+)/edit", str(edit)).group(1))
        shot("product-registered")

        phone = f"09{secrets.randbelow(10**8):08d}"
        page.fill("#people #f-name", f"Chị Lan {tag}")
        page.fill("#people #f-phone", phone)
        shot("invite-form")
        page.click("#people form[action='/console/people/invite'] button")
        link = page.input_value("[role=status] input[readonly]")
        assert "/console/welcome/" in link, link
        shot("invitation-link")

        _invited_person(app, browser, options, link, phone, shot)

        for width_px in (640, 320):
            image = page.request.get(f"{app.base}/img/product/{product_id}/{width_px}.jpg")
            assert image.ok and image.headers["content-type"] == "image/jpeg", image.status
            with Image.open(io.BytesIO(image.body())) as served_image:
                assert served_image.format == "JPEG"
                assert served_image.size == (width_px, width_px * 3 // 4)
                left = served_image.convert("RGB").getpixel((width_px // 4, width_px // 4))
                right = served_image.convert("RGB").getpixel((width_px * 3 // 4, width_px // 4))
            assert all(abs(a - b) < 30 for a, b in zip(left, GREEN, strict=True)), left
            assert all(abs(a - b) < 30 for a, b in zip(right, ORANGE, strict=True)), right
        page.goto(f"{app.base}/console/organisations?q=vai+thieu+{name}+{tag.lower()}")
        listed = page.inner_text("main ul.rows")  # found without diacritics
        assert org_name in listed and "Nhà sản xuất" in listed, listed
        shot("organisations-found")
        page.goto(f"{app.base}/console/products/{product_id}/edit")
        assert page.locator("img.current-image").evaluate("img => img.naturalWidth") == 320
        shot("product-edit")
    finally:
        context.close()


def _invited_person(
    app: Served, browser: Any, options: dict[str, Any], link: str, phone: str, shot: Any
) -> None:
    """The invited person, in a browser of their own: the link (its path on this server),
    a password, signed in; signed out and in again with the phone number."""
    context = browser.new_context(**options)
    page = context.new_page()
    password = "vải thiều ngon 2026"
    try:
        page.goto(app.base + urlsplit(link).path)
        page.fill("#f-password", password)
        page.fill("#f-password_confirm", password)
        shot("welcome", page)
        page.click("form[action*='/console/welcome/'] button")
        assert urlsplit(page.url).path == "/console/", page.url
        shot("invited-signed-in", page)
        page.click("form[action='/console/sign-out'] button")
        assert urlsplit(page.url).path == "/console/sign-in", page.url
        page.fill("#f-login", phone)
        page.fill("#f-password", password)
        page.click("form:has(#f-password) button")
        assert urlsplit(page.url).path == "/console/", page.url
        assert "Demo" not in page.inner_text("header")
        shot("invited-signed-in-again", page)
    finally:
        context.close()


def test_a_centre_officers_day_in_a_browser(tmp_path: Path, artifacts: Path) -> None:
    with served_chromium(tmp_path) as (app, browser):
        for name, size in VIEWPORTS.items():
            _journey(app, browser, name, size, artifacts)
    shots = sorted(p.name for p in artifacts.glob("*.png"))
    assert len(shots) == 2 * 15, shots
