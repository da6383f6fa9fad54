"""A real browser at phone size: Debian's chromium driven by Playwright, the page served by a
real server in a thread over the test database. Fails (does not skip) without chromium."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.public.conftest import Chain

# The browser reads the page from a server thread: its data must be committed.
pytestmark = pytest.mark.committed

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(5)


def test_phone_browser(
    server: str, chain: Chain, recall: Callable[..., Any], unit_code: Callable[..., str]
) -> None:
    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    recall(chain.juice, "Nghi nhiễm vi sinh vật trong quá trình chế biến")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                locale="vi-VN",
                java_script_enabled=False,
                device_scale_factor=2,
                is_mobile=True,
            )
            page = context.new_page()
            page.goto(f"{server}/q/{chain.code}")
            text = page.inner_text("body")
            assert page.get_attribute("html", "lang") == "vi"
            for expected in ("Thu hoạch", "Lưu kho", "Lịch sử đã được xác thực", "LN2606-A01",
                             "Hợp tác xã thử nghiệm", "Báo cáo vấn đề"):  # fmt: skip
                assert expected in text, expected
            # fits a phone: nothing wider than the viewport
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / "public-page-vi.png"), full_page=True)

            page.click("text=English")
            assert page.get_attribute("html", "lang") == "en"
            english = page.inner_text("body")
            assert "Harvesting" in english and "History verified" in english
            page.screenshot(path=str(ARTIFACTS / "public-page-en.png"), full_page=True)

            page.goto(f"{server}/q/{chain.juice_code}")
            banner = page.inner_text("[role=alert]")
            assert "Sản phẩm bị thu hồi" in banner
            assert "Nghi nhiễm vi sinh vật" in banner
            page.screenshot(path=str(ARTIFACTS / "public-page-recalled.png"), full_page=True)

            page.goto(f"{server}/q/{chain.code}")
            page.click("text=Báo cáo vấn đề")  # <details> opens without JavaScript
            page.fill("#message", "Quả bị dập nhiều")
            page.click("button[type=submit]")
            assert "Cảm ơn bạn" in page.inner_text("body")
        finally:
            browser.close()
