"""The administrator's browser scenario (issue 13) and the import upload (issue 14), with
Debian's chromium driven by Playwright at 390×844 and 1280×800, against the app as served
(``scripts/run.sh``: gunicorn and the job worker, the demo data), JavaScript off.

An admin ends the demo producer's sessions and the producer's next click lands on sign-in. The
producer signs in again and uploads a CSV with Vietnamese headers and dd/mm/yyyy dates holding
one wrong GTIN: the preview (run by the worker) shows the row error; the fixed file previews
clean, is imported (a job, its page refreshing itself) and its batch shows in the batch list.
The admin's audit log and system status pages are shown too. No page scrolls sideways.
Screenshots go to ``$TRACE_TEST_ARTIFACTS/console-admin``.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.console.browser import VIEWPORTS, artifacts_folder, fits, served_chromium
from tests.served import Served


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return artifacts_folder(tmp_path, "console-admin")


def _sign_in(page: Any, app: Served, role: str) -> None:
    account = app.accounts[role]
    page.goto(app.base + "/console/sign-in")
    page.fill("#f-login", account["login"])
    page.fill("#f-password", account["password"])
    page.click("form:has(#f-password) button")
    assert urlsplit(page.url).path == "/console/", page.url


def _wrong(gtin: str) -> str:
    return gtin[:-1] + str((int(gtin[-1]) + 1) % 10)


def _journey(app: Served, browser: Any, name: str, size: tuple[int, int], folder: Path,
             gtin: str, tmp: Path) -> None:  # fmt: skip
    width, height = size
    options = {"viewport": {"width": width, "height": height}, "locale": "vi-VN",
               "java_script_enabled": False, "is_mobile": width < 500}  # fmt: skip
    producer_context = browser.new_context(**options)
    admin_context = browser.new_context(**options)
    producer, admin = producer_context.new_page(), admin_context.new_page()
    step = iter(range(1, 100))

    def shot(page: Any, label: str) -> None:
        fits(page, width)
        page.screenshot(path=str(folder / f"{name}-{next(step):02d}-{label}.png"), full_page=True)

    try:
        _sign_in(producer, app, "producer")
        shot(producer, "producer-home")
        _sign_in(admin, app, "admin")
        login = app.accounts["producer"]["login"]
        admin.click("nav.main a[href='/console/admin/users']")
        admin.fill("#f-q", login)
        admin.select_option("#f-role", "producer")
        admin.click("form.filters button")
        shot(admin, "admin-people")
        admin.click(f"ul.rows a:has-text('{login}'), ul.rows a[href^='/console/admin/users/']")
        found = re.search(r"Phiên đang mở: (\d+)", admin.inner_text("main"))
        assert found and int(found.group(1)) >= 1, admin.inner_text("main")
        shot(admin, "admin-person")
        admin.click("form[action$='/sessions/end'] button")
        assert f"Đã kết thúc {found.group(1)} phiên" in admin.inner_text("[role=status]")
        assert "Phiên đang mở: 0" in admin.inner_text("main")
        shot(admin, "admin-sessions-ended")

        producer.click("nav.main a[href='/console/batches']")
        assert urlsplit(producer.url).path == "/console/sign-in", producer.url
        shot(producer, "producer-signed-out")

        _sign_in(producer, app, "producer")
        producer.click("nav.main a[href='/console/imports']")
        shot(producer, "imports")
        lot = f"IMP-{name.upper()}-{secrets.token_hex(3).upper()}"
        head = "Mã GTIN;Số lô;Số lượng;Ngày sản xuất\n"
        wrong = tmp / f"lo-hang-{name}.csv"
        wrong.write_text(head + f"{_wrong(gtin)};{lot};1250,5;12/06/2026\n", encoding="utf-8")
        producer.select_option("#f-kind", "batches")
        producer.set_input_files("#f-file", str(wrong))
        producer.click("form[enctype] button")
        # the worker checks the file; the page refreshes itself until the preview is there
        producer.locator("table.errors").wait_for(timeout=120_000)
        row = producer.inner_text("table.errors tbody tr")
        assert "2" in row and "Mã GTIN" in row and "Số kiểm tra không đúng" in row, row
        assert producer.locator("form[action$='/commit']").count() == 0
        shot(producer, "preview-error")

        fixed = tmp / f"lo-hang-{name}-da-sua.csv"
        fixed.write_text(head + f"{gtin};{lot};1250,5;12/06/2026\n", encoding="utf-8")
        producer.click("a[href^='/console/imports?kind=batches']")
        producer.set_input_files("#f-file", str(fixed))
        producer.click("form[enctype] button")
        producer.locator("form[action$='/commit']").wait_for(timeout=120_000)
        assert producer.inner_text("#count-created").strip() == "1"
        shot(producer, "preview-clean")
        producer.click("form[action$='/commit'] button")
        producer.locator("#import-counts").wait_for(timeout=120_000)
        assert "1 tạo mới" in producer.inner_text("#import-counts")
        shot(producer, "imported")
        producer.click("a[href='/console/batches']:has-text('Xem các lô hàng')")
        assert lot in producer.inner_text("main")
        shot(producer, "batches")

        admin.click("nav.main a[href='/console/admin/audit']")
        assert "end_sessions" in admin.inner_text("main")
        shot(admin, "admin-audit")
        admin.click("nav.main a[href='/console/admin/status']")
        assert "Cơ sở dữ liệu" in admin.inner_text("main")
        shot(admin, "admin-status")
    finally:
        producer_context.close()
        admin_context.close()


def test_an_admin_ends_a_session_and_a_producer_imports_in_a_browser(
    tmp_path: Path, artifacts: Path
) -> None:
    with served_chromium(tmp_path) as (app, browser):
        products = app.json("GET", "/api/v1/products")
        gtin = next(p["gtin"] for p in products["items"] if p.get("gtin"))
        for name, size in VIEWPORTS.items():
            _journey(app, browser, name, size, artifacts, gtin, tmp_path)
    shots = sorted(p.name for p in artifacts.glob("*.png"))
    assert len(shots) == 2 * 12, shots
