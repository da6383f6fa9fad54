"""The inspector's scenario in a browser (issue 13): Debian's chromium driven by Playwright, at
390×844 and 1280×800, against the app as served (gunicorn and the job worker, the demo data).

A demo batch with a batch made from it gets printed labels (through the API); one label's QR
code is decoded with zxing-cpp and its URI pasted into the console's search box by the demo
inspector, which lands on the batch's audit; "Recall this batch" (downstream included), the
impact read before confirming (the downstream batch is listed), confirmed; the public page of the
downstream batch then shows the banner with what consumers must do, in Vietnamese and, with
``?lang=en``, in English. JavaScript is off: every step works without it, no page scrolls
sideways. Screenshots under ``$TRACE_TEST_ARTIFACTS/console-inspector``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.console.browser import VIEWPORTS, artifacts_folder, fits, served_chromium
from tests.console.test_console_browser import _decode_all
from tests.served import Served

INSTRUCTION_VI = "Ngừng sử dụng, mang sản phẩm trả lại nơi mua để được hoàn tiền."
INSTRUCTION_EN = "Stop using it; return it where you bought it for a refund."


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return artifacts_folder(tmp_path, "console-inspector")


def _admin(app: Served, method: str, path: str, body: Any = None) -> Any:
    return app.json(method, path, role="admin", body=body)


def _roots_with_downstream(app: Served) -> list[tuple[int, dict[str, Any]]]:
    """Active demo batches each with one batch made from it (the first such node)."""
    found = []
    for batch in _admin(app, "GET", "/api/v1/batches?limit=100")["items"]:
        if batch["status"] != "active":
            continue
        graph = _admin(app, "GET", f"/api/v1/batches/{batch['id']}/trace?direction=forward&depth=1")
        made = [
            n for n in graph["nodes"] if n["batch_id"] != batch["id"] and n["status"] == "active"
        ]
        if made:
            found.append((batch["id"], made[0]))
    return found


def _printed_uri(app: Served, batch_id: int) -> str:
    run = _admin(app, "POST", f"/api/v1/batches/{batch_id}/print-runs",
                 {"count": 3, "template": "a4-3x8-70x37", "serialised": True})  # fmt: skip
    deadline = time.monotonic() + 300
    while True:
        status, _headers, data = app.request(
            "GET", f"/api/v1/print-runs/{run['id']}/labels.pdf", role="admin"
        )
        if status == 200:
            break
        assert status == 202 and time.monotonic() < deadline, (status, data[:300])
        time.sleep(0.5)
    uris = _decode_all(data)
    assert len(uris) == 3, uris
    return uris[1]


def _public_path(app: Served, node: dict[str, Any]) -> str:
    gtin = (node.get("product") or {}).get("gtin")
    if gtin:
        return f"/01/{gtin}/10/{node['lot_code']}"
    return urlsplit(_printed_uri(app, node["batch_id"])).path


def _journey(app: Served, browser: Any, name: str, size: tuple[int, int], folder: Path,
             root: int, downstream: dict[str, Any]) -> None:  # fmt: skip
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                                  java_script_enabled=False, is_mobile=width < 500)  # fmt: skip
    page = context.new_page()
    step = iter(range(1, 100))

    def shot(label: str) -> None:
        fits(page, width)
        page.screenshot(path=str(folder / f"{name}-{next(step):02d}-{label}.png"), full_page=True)

    try:
        uri = _printed_uri(app, root)
        public = _public_path(app, downstream)
        account = app.accounts["inspector"]
        page.goto(app.base + "/console/sign-in")
        page.fill("#f-login", account["login"])
        page.fill("#f-password", account["password"])
        page.click("form:has(#f-password) button")
        assert urlsplit(page.url).path == "/console/", page.url
        shot("home")

        # the scanned URI pasted into the header's search box
        page.fill("form.headfind input[name=q]", uri)
        shot("search")
        page.click("form.headfind button")
        assert urlsplit(page.url).path == f"/console/batches/{root}/audit", page.url
        assert "Kiểm tra sổ cái" in page.inner_text("main")
        assert page.locator("svg[role=img] rect").count() >= 2  # the genealogy drawn
        shot("audit")

        page.click(f"a.button[href^='/console/recalls?batch={root}']")
        assert page.is_checked("input[name=include_downstream]")
        page.fill("#f-reason", f"Kiểm tra phát hiện vi sinh vượt ngưỡng ({name})")
        page.fill("#f-instruction_vi", INSTRUCTION_VI)
        page.fill("#f-instruction_en", INSTRUCTION_EN)
        shot("recall-form")
        page.click("form[action='/console/recalls/preview'] button")
        impact = page.inner_text("main")
        assert "Chưa có gì bị thu hồi" in impact and downstream["lot_code"] in impact, impact
        shot("impact")
        page.click("form[action='/console/recalls'] button")
        assert "/console/recalls/" in page.url and "Đã ban hành thu hồi" in page.inner_text("main")
        shot("recalled")

        page.goto(app.base + public)
        banner = page.inner_text("#recall")
        assert INSTRUCTION_VI in banner, banner
        shot("public-vi")
        page.goto(app.base + public + "?lang=en")
        banner = page.inner_text("#recall")
        assert INSTRUCTION_EN in banner, banner
        shot("public-en")
    finally:
        context.close()


def test_the_inspectors_recall_in_a_browser(tmp_path: Path, artifacts: Path) -> None:
    with served_chromium(tmp_path) as (app, browser):
        for name, size in VIEWPORTS.items():
            # a batch untouched by the previous journey's recall, with one made from it
            roots = _roots_with_downstream(app)
            assert roots, "no active demo batch with an active batch made from it"
            root, downstream = roots[0]
            _journey(app, browser, name, size, artifacts, root, downstream)
    shots = sorted(p.name for p in artifacts.glob("*.png"))
    assert len(shots) == 2 * 8, shots
