"""The province dashboard in Debian's chromium (Playwright, JavaScript off) against the app as
served (gunicorn and the job worker, the demo data): the worker's recurring job counts the
figures, the demo centre officer's dashboard then shows their time and both charts, and no page
of the centre's (dashboard, reports, flagged codes, the week's events) scrolls sideways at
390 px. Screenshots are kept in ``TRACE_TEST_ARTIFACTS`` (else under pytest's tmp)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.console.browser import VIEWPORTS, artifacts_folder, fits, served_chromium
from tests.served import Served

PAGES = ("/console/reports", "/console/flags", "/console/dashboard/events")


def _sign_in(page: Any, app: Served, role: str) -> None:
    account = app.accounts[role]
    page.goto(app.base + "/console/sign-in")
    page.fill("#f-login", account["login"])
    page.fill("#f-password", account["password"])
    page.click("form:has(#f-password) button")


def _dashboard(page: Any, app: Served) -> None:
    """Open the dashboard, reloading until the worker's first count has landed."""
    deadline = time.monotonic() + 120
    while True:
        page.goto(app.base + "/console/dashboard")
        if page.locator("p#as-of").count():
            return
        assert time.monotonic() < deadline, "the rollup job never ran"
        time.sleep(1)


def _visit(app: Served, browser: Any, name: str, size: tuple[int, int], folder: Path) -> None:
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                                  java_script_enabled=False, is_mobile=width < 500)  # fmt: skip
    page = context.new_page()
    try:
        _sign_in(page, app, "centre")
        _dashboard(page, app)
        assert "Số liệu lúc" in page.inner_text("#as-of")
        assert page.locator("#chart-days rect.bar").count() == 30
        assert page.locator("#chart-places g[data-province]").count() == 34
        assert page.locator("#chart-places").bounding_box()["width"] <= width
        fits(page, width)
        page.screenshot(path=str(folder / f"{name}-dashboard.png"), full_page=True)
        for path in PAGES:
            page.goto(app.base + path)
            fits(page, width)
            page.screenshot(path=str(folder / f"{name}{path.replace('/', '-')}.png"),
                            full_page=True)  # fmt: skip
    finally:
        context.close()


def test_the_dashboard_fits_a_phone_and_a_desktop(tmp_path: Path) -> None:
    folder = artifacts_folder(tmp_path, "dashboard-browser")
    with served_chromium(tmp_path) as (app, browser):
        for name, size in VIEWPORTS.items():
            _visit(app, browser, name, size, folder)
    assert len(list(folder.glob("*.png"))) == 2 * (1 + len(PAGES))
