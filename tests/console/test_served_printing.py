"""Issue 12, item 5, as served: the demo producer signs in to the console of the app that
``scripts/run.sh`` serves (gunicorn with 2 workers and the job worker), previews and generates
20,000 serialised labels, follows the run's self-refreshing page until the PDF is there, and
downloads it; no request comes near gunicorn's 30 s worker timeout, and the sheets carry the
run's codes."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import pypdfium2 as pdfium

from tests.qr import read_qr
from tests.served import ConsoleSession, served, throwaway_database
from trace.labels.sheets import TEMPLATES

COUNT = 20_000
TEMPLATE = TEMPLATES["a4-3x8-70x37"]
FORM = {"serialised": "true", "template": TEMPLATE.name, "count": str(COUNT), "ec": "M"}
DPI = 200
GUNICORN_TIMEOUT = 30


def _decode_page(pdf: pdfium.PdfDocument, index: int) -> list[str]:
    image = pdf[index].render(scale=DPI / 72, grayscale=True).to_pil()
    px = DPI / 25.4
    found = []
    for slot in range(TEMPLATE.per_page):
        left, top, w, h = TEMPLATE.label_box_mm(slot)
        box = (round(left * px), round(top * px), round((left + w) * px), round((top + h) * px))
        found += read_qr(image.crop(box))
    return found


def test_20000_serialised_labels_through_the_served_console(tmp_path: Path) -> None:
    slowest = 0.0

    def timed(call, *args):  # type: ignore[no-untyped-def]
        nonlocal slowest
        started = time.monotonic()
        result = call(*args)
        slowest = max(slowest, time.monotonic() - started)
        return result

    database = throwaway_database(os.environ.get("TRACE_TEST_DATABASE_URL"), tmp_path)
    with database as url, served(tmp_path, url) as app:
        browser = ConsoleSession(app.base)
        account = app.accounts["producer"]
        browser.sign_in(account["login"], account["password"])
        _, _, listing, _ = browser.get("/console/batches")
        batch_ids = list(dict.fromkeys(re.findall(r"/console/batches/(\d+)/labels",
                                                  listing.decode())))  # fmt: skip
        assert batch_ids, listing[:2000]
        run_url = ""
        started = time.monotonic()
        for batch_id in batch_ids:
            path = f"/console/batches/{batch_id}/labels"
            status, _, page, _ = timed(browser.get, f"{path}?preview=1&{urlencode(FORM)}")
            assert status == 200, page[:1000]
            preview = re.search(rb'<img class="preview" src="([^"]+)"', page)
            assert preview, page[:3000]
            status, _, _png, headers = timed(
                browser.get, preview.group(1).decode().replace("&amp;", "&")
            )
            assert status == 200 and headers["Content-Type"] == "image/png"
            status, run_url, page, _ = timed(
                browser.post, f"/console/batches/{batch_id}/print-runs", FORM
            )
            if status == 200 and "/console/print-runs/" in run_url:
                break
            assert status == 422, (status, page[:1000])  # e.g. a recalled demo batch
        else:
            raise AssertionError("no demo batch the producer could print for")
        run_id = int(run_url.rsplit("/", 1)[1])
        progress: list[tuple[int, int]] = []
        while True:
            status, _, page, _ = timed(browser.get, f"/console/print-runs/{run_id}")
            assert status == 200
            if b'id="download"' in page:
                break
            assert b'<meta http-equiv="refresh"' in page, page[:3000]
            found = re.search(rb'<progress max="(\d+)" value="(\d+)"', page)
            assert found
            progress.append((int(found.group(2)), int(found.group(1))))
            assert time.monotonic() - started < 900, progress[-3:]
            time.sleep(1)
        status, _, data, headers = timed(browser.get, f"/console/print-runs/{run_id}/labels.pdf")
        seconds = time.monotonic() - started
        print(f"{COUNT} labels through the console in {seconds:.1f} s; slowest request "
              f"{slowest:.2f} s; progress seen {progress[:1]}…{progress[-1:]}")  # fmt: skip
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        assert progress and all(total == COUNT for _, total in progress)
        assert progress[-1][0] > 0  # the page showed the job's progress on the way
        pdf = pdfium.PdfDocument(data)
        assert len(pdf) == -(-COUNT // TEMPLATE.per_page)
        first, last = _decode_page(pdf, 0), _decode_page(pdf, len(pdf) - 1)
        assert len(first) == TEMPLATE.per_page and len(last) == COUNT % TEMPLATE.per_page
        assert len(set(first + last)) == len(first) + len(last)
        _, _, page, _ = browser.get(f"/console/print-runs/{run_id}")
        assert f"{COUNT:,}".replace(",", ".").encode() in page  # "20.000" printed (vi)
        assert slowest < GUNICORN_TIMEOUT, slowest
