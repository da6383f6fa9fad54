"""What the console's browser tests share: Debian's chromium driven by Playwright against the
app as served (gunicorn and the job worker on a throw-away database with the demo data), the
phone and desktop viewports, a folder for screenshots, and the check that nothing on a page is
wider than the screen."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.served import Served, served, throwaway_database

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}


def artifacts_folder(tmp_path: Path, name: str) -> Path:
    """``$TRACE_TEST_ARTIFACTS/<name>`` (else a folder under pytest's tmp), made empty-safe."""
    folder = Path(os.environ.get("TRACE_TEST_ARTIFACTS") or tmp_path / "artifacts") / name
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {folder}")
    return folder


def fits(page: Any, width: int) -> None:
    """Nothing wider than the viewport (a page that refreshes itself may be reloading: wait)."""
    for _attempt in range(5):
        page.wait_for_load_state("load")
        try:
            scroll = page.evaluate("document.documentElement.scrollWidth")
        except Exception:  # the page was navigating (its meta refresh)
            time.sleep(0.3)
            continue
        assert scroll <= width, page.url
        return
    raise AssertionError(f"{page.url} never settled")


@contextmanager
def served_chromium(tmp_path: Path) -> Iterator[tuple[Served, Any]]:
    """The app as the quick start serves it, and a headless chromium to drive it."""
    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    database = throwaway_database(os.environ.get("TRACE_TEST_DATABASE_URL"), tmp_path)
    with database as url, served(tmp_path, url) as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield app, browser
        finally:
            browser.close()
