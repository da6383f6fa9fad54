"""Issue 10: a 2,000-label PDF from the app served as the quick start serves it.

``scripts/run.sh`` runs gunicorn (2 workers) and the job worker over a database of its own
(SQLite, or PostgreSQL when ``TRACE_TEST_DATABASE_URL`` names a server); the test creates a
serialised print run over HTTP with the demo producer's token, polls ``labels.pdf`` until it is
there, decodes the QR codes of a sample of pages, and checks that stopping the server leaves no
process of it behind.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pypdfium2 as pdfium

from tests.qr import read_qr
from tests.served import (
    download_labels,
    printable_batch,
    served,
    session_processes,
    throwaway_database,
)
from trace.labels.sheets import TEMPLATES

COUNT = 2000
TEMPLATE = TEMPLATES["a4-3x8-70x37"]
DPI = 300
SAMPLE_PAGES = (0, 41, 83)  # first, middle, last (2,000 labels are 84 pages of 24)


def _decode_page(pdf: pdfium.PdfDocument, index: int) -> list[str | None]:
    image = pdf[index].render(scale=DPI / 72, grayscale=True).to_pil()
    px = DPI / 25.4
    found: list[str | None] = []
    for slot in range(TEMPLATE.per_page):
        left, top, w, h = TEMPLATE.label_box_mm(slot)
        box = (round(left * px), round(top * px), round((left + w) * px), round((top + h) * px))
        texts = read_qr(image.crop(box))
        found.append(texts[0] if texts else None)
    return found


def test_a_2000_label_pdf_from_the_served_app(tmp_path: Path) -> None:
    with throwaway_database(os.environ.get("TRACE_TEST_DATABASE_URL"), tmp_path) as url:
        with served(tmp_path, url) as app:
            run = printable_batch(app, COUNT)
            started = time.monotonic()
            data, pending = download_labels(app, run["id"], timeout=300)
            seconds = time.monotonic() - started
            print(f"{COUNT} labels served in {seconds:.1f} s ({COUNT / seconds:.0f} labels/s)")
            assert pending and pending[0]["status"] in ("queued", "running")
            assert all(p["links"]["result"] == run["links"]["labels_pdf"] for p in pending)

            uris: list[str] = []
            cursor = ""
            while True:
                page = app.json("GET", f"/api/v1/print-runs/{run['id']}/codes?limit=500{cursor}")
                uris += [c["uri"] for c in page["items"]]
                if not page["next_cursor"]:
                    break
                cursor = f"&cursor={page['next_cursor']}"
            assert len(uris) == COUNT

            pdf = pdfium.PdfDocument(data)
            assert len(pdf) == 84
            for index in SAMPLE_PAGES:
                expected = uris[index * 24 : (index + 1) * 24]
                found = _decode_page(pdf, index)
                assert found[: len(expected)] == expected, index
                assert found[len(expected) :] == [None] * (24 - len(expected))
            after = app.json("GET", f"/api/v1/print-runs/{run['id']}")
            assert after["codes"]["printed"] == COUNT
            sid = app.process.pid
            assert len(session_processes(sid)) >= 4  # run.sh, worker, gunicorn and 2 workers
        assert app.process.returncode is not None
        deadline = time.monotonic() + 10
        while session_processes(sid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_processes(sid) == [], app.log.read_text()[-2000:]
        log = app.log.read_text()
        assert "WORKER TIMEOUT" not in log and "Traceback" not in log, log[-3000:]


def test_when_the_worker_dies_the_web_server_stops_too(tmp_path: Path) -> None:
    """Neither outlives the other: a worker killed hard takes gunicorn down with it."""
    with throwaway_database(os.environ.get("TRACE_TEST_DATABASE_URL"), tmp_path) as url:
        with served(tmp_path, url) as app:
            sid = app.process.pid
            workers = [
                pid
                for pid in session_processes(sid)
                if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            ]
            assert len(workers) == 1
            os.kill(workers[0], signal.SIGKILL)
            app.process.wait(timeout=60)
        deadline = time.monotonic() + 10
        while session_processes(sid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_processes(sid) == []
