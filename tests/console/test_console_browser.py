"""Issue 12's browser test: Debian's chromium, driven by Playwright, at 390×844 and 1280×800,
against the app as served (``scripts/run.sh``: gunicorn and the job worker, the demo data).

The demo producer signs in, registers a batch on the console's pages as a person on a phone
would (the batch list's "Register a batch": its one product already chosen, then lot code,
production date and quantity), records its harvesting and then its packing with "Record a
stage" (the time and the facility left at their defaults; the batch page shows each event's
hash ID), previews, generates and downloads 500 serialised labels, every QR code of the PDF is
decoded, and one is opened: the public page shows the two stages. JavaScript is off: every step
works without it, and no page scrolls sideways. Screenshots of each step are kept in
``TRACE_TEST_ARTIFACTS`` (else a folder under pytest's tmp), with the PDF.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pypdfium2 as pdfium
import pytest

from tests.console.browser import VIEWPORTS, artifacts_folder, fits, served_chromium
from tests.qr import read_qr
from tests.served import Served
from trace.labels.sheets import TEMPLATES
from trace.provinces import VIETNAM

COUNT = 500
TEMPLATE = TEMPLATES["a4-3x8-70x37"]
DPI = 200


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return artifacts_folder(tmp_path, "console-browser")


def _decode_all(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    px = DPI / 25.4
    found: list[str] = []
    for index in range(len(pdf)):
        image = pdf[index].render(scale=DPI / 72, grayscale=True).to_pil()
        for slot in range(TEMPLATE.per_page):
            left, top, w, h = TEMPLATE.label_box_mm(slot)
            box = (round(left * px), round(top * px), round((left + w) * px),
                   round((top + h) * px))  # fmt: skip
            found += read_qr(image.crop(box))
    return found


def _journey(app: Served, browser: Any, name: str, size: tuple[int, int], folder: Path) -> None:
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                                  java_script_enabled=False, accept_downloads=True,
                                  is_mobile=width < 500)  # fmt: skip
    page = context.new_page()
    step = iter(range(1, 100))

    def shot(label: str) -> None:
        fits(page, width)
        page.screenshot(path=str(folder / f"{name}-{next(step):02d}-{label}.png"), full_page=True)

    try:
        account = app.accounts["producer"]
        page.goto(app.base + "/console/sign-in")
        page.fill("#f-login", account["login"])
        page.fill("#f-password", account["password"])
        shot("sign-in")
        page.click("form:has(#f-password) button")
        assert urlsplit(page.url).path == "/console/", page.url
        shot("home")

        page.goto(app.base + "/console/batches")
        page.click("a.button[href='/console/batches/new']")
        # the demo producer has one product: the form opens with it chosen
        assert page.input_value("#f-product_id"), "no product chosen"
        lot = f"PW-{name.upper()}-{secrets.token_hex(3).upper()}"
        page.fill("#f-lot_code", lot)
        produced = (dt.datetime.now(VIETNAM).date() - dt.timedelta(days=1)).isoformat()
        page.fill("#f-production_date", produced)
        page.fill("#f-quantity", "500")
        shot("batch-form")
        page.click("form[action='/console/batches/new'] button")
        found = re.fullmatch(r"/console/batches/(\d+)", urlsplit(page.url).path)
        assert found, page.url
        batch_id = int(found.group(1))
        assert "Đã đăng ký lô hàng." in page.inner_text("main") and lot in page.inner_text("h1")
        shot("batch-registered")

        for stage, shown in (("harvesting", "Thu hoạch"), ("packing", "Đóng gói")):
            page.click(f"a.button[href='/console/batches/{batch_id}/stage']")
            shot(f"{stage}-choice")
            page.click(f"a.choice[href$='stage={stage}']")
            assert page.input_value("#f-time"), "the time has no default"
            shot(f"{stage}-form")
            page.click("form[action$='/stage'] button[name=save]:not(.offscreen)")
            assert urlsplit(page.url).path == f"/console/batches/{batch_id}", page.url
            recorded = parse_qs(urlsplit(page.url).query)["recorded"][0]
            notice = page.inner_text("[role=status]")
            assert f"Đã ghi: {shown}" in notice, notice
            assert page.inner_text("[role=status] .hash") == recorded
            assert re.fullmatch(r"ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0", recorded), recorded
            shot(f"{stage}-recorded")

        page.goto(f"{app.base}/console/batches?q={lot}")
        assert lot in page.inner_text("main") and "2 sự kiện" in page.inner_text("main")
        shot("batch-list")
        page.click(f"a[href='/console/batches/{batch_id}/labels']")
        page.check("input[name=serialised][value=true]")
        page.select_option("#f-template", TEMPLATE.name)
        page.fill("#f-count", str(COUNT))
        shot("print-form")
        page.click("form[method=get] button[type=submit]")
        page.wait_for_load_state("load")
        source = page.get_attribute("img.preview", "src")
        image = page.request.get(app.base + str(source))
        assert image.ok and image.headers["content-type"] == "image/png", image.status
        assert page.locator("img.preview").evaluate("img => img.naturalWidth") > 0
        assert "MẪU · SAMPLE" in page.inner_text("#preview")
        shot("preview")
        page.click("#preview form button")
        assert re.search(r"/console/print-runs/\d+$", page.url), page.url
        shot("generating")
        # no reloading here: the page refreshes itself (meta refresh) until the PDF is ready
        page.locator("#download").wait_for(timeout=300_000)
        shot("ready")
        with page.expect_download() as download_info:
            page.click("#download")
        pdf_path = folder / f"{name}-labels.pdf"
        download_info.value.save_as(str(pdf_path))

        uris = _decode_all(pdf_path.read_bytes())
        assert len(uris) == COUNT and len(set(uris)) == COUNT
        page.reload()
        assert "đã in 500" in page.inner_text("main")
        shot("printed")

        public = urlsplit(uris[COUNT // 2])
        page.goto(app.base + public.path)
        text = page.inner_text("body")
        assert "Thu hoạch" in text and "Đóng gói" in text and lot in text
        shot("public-page")
    finally:
        context.close()


def test_the_producers_day_in_a_browser(tmp_path: Path, artifacts: Path) -> None:
    with served_chromium(tmp_path) as (app, browser):
        for name, size in VIEWPORTS.items():
            _journey(app, browser, name, size, artifacts)
    shots = sorted(p.name for p in artifacts.glob("*.png"))
    assert len(shots) == 2 * 17, shots
